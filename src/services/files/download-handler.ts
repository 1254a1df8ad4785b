import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Logger } from "pino";
import type { RequestContext } from "../../server/index.js";
import { WharfError, type RequestHeader } from "../../wire/index.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { hashFileRange, hashingReader } from "./hashing-io.js";
import { userHome, type FilesDeps } from "./home.js";
import { getRequest, parseFields } from "./messages.js";
import { normalizeRemotePath, resolveInHome } from "./remote-path.js";

/**
 * `files.get {path, offset?, sha256?}` → reply `{path, fileSize, sha256, mtime, offset}` whose streamed body is
 * the file's bytes from `offset`. A resuming client names the sha256 of the content it has a prefix of; when the
 * file has changed since (or `offset` is past its end) the server sends it whole (`offset: 0`). The server hashes
 * the whole file as it sends it (reading a skipped prefix only to hash it) and checks it against the sha256 it
 * recorded at upload: a stored file that no longer matches is logged and its transfer broken off.
 */
export async function sendDownload(deps: FilesDeps, header: RequestHeader, ctx: RequestContext) {
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
    const sha256 = await meta.sha256Of(file, info, ctx.signal);
    let offset = fields.offset ?? 0;
    if (offset > fileSize || (offset > 0 && fields.sha256 !== sha256)) offset = 0;
    const hash = createHash("sha256");
    await hashFileRange(file, 0, offset, hash, ctx.signal);
    const replyHeader = { path: rel, fileSize, sha256, mtime: Number(info.mtimeNs / 1_000_000n), offset }; // mtime in whole ms: the docs say integer
    if (offset === fileSize) {
      await file.close();
      checkSent(hash, sha256, rel, ctx.logger);
      return { header: replyHeader, body: Buffer.alloc(0) };
    }
    const stream = hashedFileStream(file, offset, fileSize, hash, () => checkSent(hash, sha256, rel, ctx.logger));
    file = undefined; // the stream owns it now
    return { header: replyHeader, body: { size: fileSize - offset, stream } };
  } catch (err) {
    await file?.close();
    throw fsFailure(err, rel);
  }
}

function checkSent(hash: Hash, expected: string, rel: string, logger: Logger): void {
  const actual = hash.digest("hex");
  if (actual === expected) return;
  logger.error({ path: rel, recorded: expected, actual }, "a stored file no longer matches its recorded sha256");
  throw new WharfError(FileErrorCode.INTEGRITY, `${rel}: the stored file no longer matches its recorded sha256`);
}

/**
 * Bytes [start, end) of an open file, hashed as they are sent; `onEnd` checks the hash. A real stream underneath,
 * so that a reply never written (the client left) still closes the file through `destroy()`.
 */
function hashedFileStream(
  file: FileHandle,
  start: number,
  end: number,
  hash: Hash,
  onEnd: () => void,
): AsyncIterable<Buffer> & { destroy(): void } {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    file.close().catch(() => {});
  };
  return {
    destroy: close,
    async *[Symbol.asyncIterator]() {
      try {
        yield* hashingReader(file, start, end, hash);
        onEnd();
      } finally {
        close();
      }
    },
  };
}
