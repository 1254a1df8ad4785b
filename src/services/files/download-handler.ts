import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Logger } from "pino";
import type { RequestContext } from "../../server/index.js";
import { WharfError, type RequestHeader } from "../../wire/index.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { canHash, createContentHash, hashFields, isHashAlgorithm, parseHash, type ContentHash, type HashAlgorithm } from "./hash.js";
import { deltaReplyBody } from "./delta-download.js";
import { inSearchSlot, sendBlockDelta } from "./delta-download-blocks.js";
import { hashFileRange, hashingReader, sendPool } from "./hashing-io.js";
import type { FileMeta } from "./meta.js";
import { userHome, type FilesDeps } from "./home.js";
import { getRequest, parseFields } from "./messages.js";
import { normalizeRemotePath, resolveInHome } from "./remote-path.js";
import { VerifiedReads } from "./verified-reads.js";

/** Stored files this process sent whole and found matching their record: a get of one, unchanged, is not hashed. */
const verifiedReads = new VerifiedReads();

/**
 * The algorithm a get is verified with: the one the file was stored with when the client can compute it, else the
 * first the client offers that this server can; sha256 for a client from before issue 15, which offers none.
 */
function algorithmFor(offered: string[] | undefined, known: FileMeta | null, fallback: HashAlgorithm): HashAlgorithm {
  if (offered === undefined || offered.length === 0) return "sha256";
  const usable = offered.filter((name): name is HashAlgorithm => isHashAlgorithm(name) && canHash(name));
  const stored = known?.algorithm ?? fallback;
  if (usable.includes(stored)) return stored;
  return usable[0] ?? "sha256";
}

/**
 * `files.get {path, offset?, hash?, hashes?}` → reply `{path, fileSize, hash, sha256?, mtime, offset}` whose
 * streamed body is the file's bytes from `offset`. A resuming client names the hash of the content it has a
 * prefix of (`hash`, or `sha256` before issue 15); when the
 * file has changed since (or `offset` is past its end) the server sends it whole (`offset: 0`). The server hashes
 * the whole file as it sends it (reading a skipped prefix only to hash it) and checks it against the hash it
 * recorded at upload: a stored file that no longer matches is logged and the connection dropped after the reply.
 * A file this process already sent and found matching, unchanged since (verified-reads.ts), is sent
 * without that pass: the client's own check of what it received still decides.
 */
export async function sendDownload(deps: FilesDeps, header: RequestHeader, body: Buffer | undefined, ctx: RequestContext) {
  const { realHome, meta } = await userHome(deps, ctx);
  const fields = parseFields(getRequest, header);
  const rel = normalizeRemotePath(fields.path);
  let file: FileHandle | undefined;
  try {
    const target = await resolveInHome(realHome, rel, { followFinal: true });
    if (target.stat === null) throw new WharfError(FileErrorCode.NOT_FOUND, `${rel}: no such file`);
    if (!target.stat.isFile()) throw new WharfError(FileErrorCode.IS_DIR, `${rel}: is a directory (use recursive get)`);
    // The name may be replaced by an upload meanwhile: this open file stays the version described below.
    file = await open(target.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    const info = await file.stat({ bigint: true });
    if (!info.isFile()) throw new WharfError(FileErrorCode.IS_DIR, `${rel}: is not a regular file`);
    const fileSize = Number(info.size);
    const algorithm = algorithmFor(fields.hashes, await meta.read(info), meta.defaultAlgorithm);
    const { hex } = await meta.hashOf(file, info, algorithm, ctx.signal);
    let offset = fields.offset ?? 0;
    const prefixOf = fields.hash !== undefined ? parseHash(fields.hash) : fields.sha256 !== undefined ? { algorithm: "sha256" as const, hex: fields.sha256 } : null;
    const samePrefix = prefixOf !== null && (await meta.hashOf(file, info, prefixOf.algorithm, ctx.signal)).hex === prefixOf.hex;
    if (offset > fileSize || (offset > 0 && !samePrefix)) offset = 0;
    const replyHeader = { path: rel, fileSize, ...hashFields(algorithm, hex), mtime: Number((info.mtimeNs + 500_000n) / 1_000_000n), offset }; // whole ms, rounded (see tree-handlers)
    // A client that has an older version describes it by its blocks (from before block lists, by content-defined
    // chunks): it gets a recipe instead of the bytes.
    const described = body !== undefined && body.length > 0 && offset < fileSize;
    const blocks = described && fields.deltaBlocks !== undefined ? fields.deltaBlocks : null;
    if (blocks !== null && (fields.block === undefined || fields.baseSize === undefined)) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${rel}: a get with deltaBlocks names its block and baseSize`);
    const delta = described && blocks === null && isHashAlgorithm(fields.delta) && canHash(fields.delta) ? fields.delta : null;
    const hash = delta === null && verifiedReads.has(info, algorithm, hex) ? null : createContentHash(algorithm);
    if (hash !== null) await hashFileRange(file, 0, offset, hash, ctx.signal);
    const check = (): void => {
      if (hash === null) return;
      checkSent(hash, hex, rel, ctx.logger);
      verifiedReads.add(info, algorithm, hex);
    };
    if (blocks !== null && body !== undefined) {
      const header = { ...replyHeader, delta: "blocks" };
      const base = { blockHash: blocks, block: fields.block!, baseSize: fields.baseSize!, list: body };
      const outcome = await sendBlockDelta(file, offset, fileSize, hash ?? NO_HASH, base, ctx, header);
      await file.close();
      file = undefined;
      check();
      return { header: { ...header, literal: outcome.literal } };
    }
    if (delta !== null && body !== undefined && hash !== null) {
      // Its chunking pass (about a CPU second per GiB) takes a search slot, as a search in blocks does.
      const opened = file;
      const reply = await inSearchSlot(ctx.signal, () => deltaReplyBody(opened, offset, fileSize, hash, delta, body, check));
      file = undefined; // the stream owns it now
      return { header: { ...replyHeader, delta: true, literal: reply.literal }, body: { size: reply.size, stream: reply.stream } };
    }
    if (offset === fileSize) {
      await file.close();
      check();
      return { header: replyHeader, body: Buffer.alloc(0) };
    }
    const { stream, release } = hashedFileStream(file, offset, fileSize, hash, check);
    file = undefined; // the stream owns it now
    return { header: replyHeader, body: { size: fileSize - offset, stream, release } };
  } catch (err) {
    await file?.close();
    throw fsFailure(err, rel);
  }
}

/** What a stream of a file already checked hashes with: nothing. */
const NO_HASH = { update: (): void => {} };

function checkSent(hash: ContentHash, expected: string, rel: string, logger: Logger): void {
  const actual = hash.digest();
  if (actual === expected) return;
  logger.error({ path: rel, algorithm: hash.algorithm, recorded: expected, actual }, "a stored file no longer matches its recorded hash");
  throw new WharfError(FileErrorCode.INTEGRITY, `${rel}: the stored file no longer matches its recorded ${hash.algorithm}`);
}

/**
 * Bytes [start, end) of an open file, hashed as they are sent (unless `hash` is null); `onEnd` checks the hash after
 * the last chunk went out, so that a client that checks what it received (files.get) gets the whole reply and says
 * `E_INTEGRITY`; the failed check then drops the connection. A real stream underneath, so that a reply never written
 * (the client left) still closes the file through `destroy()`; `release` gives a chunk's buffer back for the next
 * read once the socket took it.
 */
function hashedFileStream(
  file: FileHandle,
  start: number,
  end: number,
  hash: ContentHash | null,
  onEnd: () => void,
): { stream: AsyncIterable<Buffer> & { destroy(): void }; release(chunk: Uint8Array): void } {
  // The chunks go back to the pool once the socket took them (the body's `release`).
  const buffers = sendPool(end - start);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    file.close().catch(() => {});
  };
  const stream = {
    destroy: close,
    async *[Symbol.asyncIterator]() {
      try {
        yield* hashingReader(file, start, end, hash ?? NO_HASH, undefined, buffers);
        onEnd();
      } finally {
        close();
      }
    },
  };
  return { stream, release: buffers.give };
}
