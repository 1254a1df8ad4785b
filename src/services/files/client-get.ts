import { constants } from "node:fs";
import { chmod, open, readFile, rename, rm, stat, utimes, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Writable } from "node:stream";
import type { Connection, Reply } from "../../client/index.js";
import { WharfError, type IncomingBody, type ReplyHeader } from "../../wire/index.js";
import { writeAtomically } from "../shared/atomic-write.js";
import { syncDir } from "../shared/dir-sync.js";
import type { TransferOptions, TransferResult } from "./client-put.js";
import { FileErrorCode } from "./errors.js";
import { createContentHash, formatHash, hashFields, offeredAlgorithms, parseHash, type ContentHash, type HashAlgorithm } from "./hash.js";
import { describeDownloadBase, recipeBuilder } from "./delta-client.js";
import { bodyChunks } from "./body-chunks.js";
import { clientIoBlocking, hashFileRange, HashingWriter } from "./hashing-io.js";
import { HashingFileSink } from "./file-sink.js";
import { FileRequest } from "./requests.js";
import { monotonicMs } from "./stopwatch.js";

/** Where a download into `local` keeps its bytes until they are verified: a hidden file beside it. */
export function downloadPartialPaths(local: string): { data: string; info: string } {
  const path = resolve(local);
  const data = join(dirname(path), `.${basename(path)}.wharf-partial`);
  return { data, info: `${data}.json` };
}

interface DownloadInfo {
  path: string;
  fileSize: number;
  /** `"ALG:HEX"` of the content the partial is a prefix of. */
  hash: string;
}

async function readDownloadInfo(paths: { data: string; info: string }): Promise<(DownloadInfo & { have: number }) | null> {
  try {
    const info = JSON.parse(await readFile(paths.info, "utf8")) as DownloadInfo & { sha256?: string };
    const have = (await stat(paths.data)).size;
    // A description written before issue 15 names a bare sha256.
    const hash = typeof info.hash === "string" ? info.hash : typeof info.sha256 === "string" ? `sha256:${info.sha256}` : null;
    if (hash === null || parseHash(hash) === null || typeof info.fileSize !== "number" || have > info.fileSize) return null;
    return { path: info.path, fileSize: info.fileSize, hash, have };
  } catch {
    return null;
  }
}

/**
 * Downloads a remote file into `local` (see FilesClient.get). The bytes go to a hidden partial beside `local`
 * with a description naming the content's sha256; a later get of content with that sha256 asks only for the
 * rest. Hashes the kept prefix and every new byte as it is written; only when the whole equals the server's
 * sha256 is the partial flushed and renamed to `local`. A get that fails before its body is read to the end
 * closes the connection (the rest of that frame cannot be skipped cheaply). A resumed get whose kept prefix turns
 * out not to match is retried once from the start.
 */
export async function getFile(conn: Connection, remote: string, local: string, options: TransferOptions = {}): Promise<TransferResult> {
  const started = monotonicMs();
  await assertParentFolder(local);
  for (let attempt = 1; ; attempt += 1) {
    try {
      // A second attempt goes without delta: the local old version may be what went wrong.
      const result = await attemptGet(conn, remote, local, attempt === 1 ? options : { ...options, delta: false });
      return { ...result, seconds: (monotonicMs() - started) / 1000 };
    } catch (err) {
      // A kept prefix that does not match (changed on disk meanwhile) was deleted: once more, from the start.
      const retry = attempt === 1 && err instanceof WharfError && err.code === FileErrorCode.INTEGRITY && (err as { resumed?: boolean }).resumed === true;
      if (!retry) throw err;
    }
  }
}

/** A download's local side, once the server has said what it sends: the partial it lands in, and its hash. */
interface Landing {
  info: DownloadInfo;
  named: { algorithm: HashAlgorithm; hex: string };
  mtime: number;
  /** Bytes of the partial kept from before (a resume). */
  offset: number;
  file: FileHandle;
  /** The content hash, fed the kept prefix and then every byte written. */
  hash: ContentHash;
  /** Bytes of the file in the partial so far. */
  done: number;
  /** Counts bytes written and reports progress. */
  count(bytes: number): void;
}

/**
 * Opens the partial for what `header` describes: the kept prefix when the server resumes from it (hashed again),
 * else a fresh one, its description written first (bytes without one are never trusted for a resume).
 */
async function openLanding(header: ReplyHeader, paths: { data: string; info: string }, resumable: boolean, options: TransferOptions): Promise<Landing> {
  // A server from before issue 15 names only `sha256`.
  const named = parseHash(header.hash ?? header.sha256);
  if (named === null) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${String(header.path)}: the server named no usable content hash`);
  const info: DownloadInfo = { path: String(header.path), fileSize: Number(header.fileSize), hash: `${named.algorithm}:${named.hex}` };
  const offset = Number(header.offset);
  let file: FileHandle | undefined;
  try {
    if (offset > 0 && resumable) {
      file = await open(paths.data, constants.O_RDWR | constants.O_NOFOLLOW);
      await file.truncate(offset);
    } else {
      await writeAtomically(paths.info, `${JSON.stringify(info)}\n`);
      file = await open(paths.data, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    }
    const hash = createContentHash(named.algorithm);
    await hashFileRange(file, 0, offset, hash, options.signal, { blocking: clientIoBlocking() });
    const landing: Landing = {
      info, named, mtime: Number(header.mtime), offset, file, hash, done: offset,
      count: (bytes) => {
        landing.done += bytes;
        options.onProgress?.({ done: landing.done, total: info.fileSize, resumedFrom: offset });
      },
    };
    landing.count(0);
    return landing;
  } catch (err) {
    await file?.close();
    throw err;
  }
}

async function attemptGet(conn: Connection, remote: string, local: string, options: TransferOptions): Promise<Omit<TransferResult, "seconds">> {
  const { signal } = options;
  const paths = downloadPartialPaths(local);
  const known = await readDownloadInfo(paths);
  const hashes = offeredAlgorithms(options.hash);
  // An older version under the name: describe it by its blocks, so that only what changed is sent (issue 15).
  const base = options.delta === false ? null : await describeDownloadBase(local);
  const deltaFields = base === null ? {} : { deltaBlocks: base.blockHash, block: base.block, baseSize: base.size };
  const state: {
    landing: Landing | null;
    /** The build of a delta: its recipe comes in intermediate frames, and lands through a writer. */
    build: { writer: HashingWriter; recipe: ReturnType<typeof recipeBuilder> } | null;
    /** What failed here while the frames came (the request itself then fails only with E_CANCELLED). */
    localError: unknown;
  } = { landing: null, build: null, localError: null };
  // The first intermediate frame names the file, as a reply header does; the others carry the recipe, cut anywhere.
  // Frames are handled one after the other: the connection stops reading while one is handled, but hands on the
  // frames it had already read (and the final reply) meanwhile.
  let frames: Promise<void> = Promise.resolve();
  // A frame's body is ours to keep (RequestOptions.onFrame): it waits in the chain without a copy.
  const onFrame = (header: ReplyHeader, body: Buffer): Promise<void> => {
    frames = frames.then(() => handleFrame(header, body));
    return frames;
  };
  // After a frame failed, the chain is rejected and the frames after it are not handled.
  const handleFrame = async (header: ReplyHeader, body: Buffer): Promise<void> => {
    try {
      if (state.build === null) {
        if (base === null || header.delta !== "blocks") throw new WharfError(FileErrorCode.INVALID_PARAMS, `${remote}: the server sent a delta this get did not ask for`);
        const started = (state.landing = await openLanding(header, paths, known !== null, options));
        const writer = new HashingWriter(started.file, started.offset, started.hash);
        const write = (chunk: Buffer): Promise<void> => writer.write(chunk).then(() => started.count(chunk.length));
        state.build = { writer, recipe: recipeBuilder(base.file, base.size, write, () => writer.finish()) };
        return;
      }
      signal?.throwIfAborted();
      await state.build.recipe.decoder.push(body);
    } catch (err) {
      state.localError ??= err;
      throw err;
    }
  };
  let reply: Reply<IncomingBody> | undefined;
  let bodyRead = false;
  try {
    try {
      reply = await conn.requestStream(FileRequest.GET, { path: remote, offset: known?.have ?? 0, hash: known?.hash, hashes, ...deltaFields }, base?.list, { signal, onFrame });
      await frames;
    } catch (err) {
      bodyRead = true; // no body, or the frames' request is over
      await frames.catch(() => {});
      throw state.localError ?? err;
    }
    const { build } = state;
    let output: { finish(): Promise<void> };
    let landing: Landing;
    if (build !== null && state.landing !== null) {
      landing = state.landing;
      output = build.writer;
      bodyRead = true;
      build.recipe.decoder.end();
    } else {
      // The plain bytes, straight from the connection's reads into a sink.
      const started = (landing = state.landing = await openLanding(reply.header, paths, known !== null, options));
      const sink = new HashingFileSink(started.file, started.offset, started.hash, { onBytes: started.count, blocking: clientIoBlocking() });
      output = sink;
      await reply.body.drainInto(sink, signal);
      bodyRead = true;
    }
    await output.finish();
    return await keepDownload(landing, local, paths, build?.recipe.literal() ?? null);
  } catch (err) {
    // Every byte that arrived stays for a resume.
    await state.build?.writer.finish().catch(() => {});
    await state.landing?.file.close().catch(() => {});
    if (!bodyRead) {
      reply?.body.destroy();
      conn.destroy();
    }
    if (signal?.aborted && !(err instanceof WharfError)) throw new WharfError("E_CANCELLED", "the download was aborted", { cause: err });
    throw err;
  } finally {
    await base?.file.close();
  }
}

/**
 * Checks what landed against the server's hash; when it matches, flushes it and renames it over `local` with the
 * file's mtime. Else deletes the partial and fails with E_INTEGRITY (`resumed` when a kept prefix or a local base
 * may be what differed: worth one more try from nothing). `literal`: the DATA bytes of a delta, null for a plain get.
 */
async function keepDownload(landing: Landing, local: string, paths: { data: string; info: string }, literal: number | null): Promise<Omit<TransferResult, "seconds">> {
  const { info, named, file, offset, done } = landing;
  const hex = landing.hash.digest();
  if (hex !== named.hex || done !== info.fileSize) {
    await file.close();
    await rm(paths.data, { force: true });
    await rm(paths.info, { force: true });
    const error = new WharfError(FileErrorCode.INTEGRITY, `${info.path}: received ${done} bytes with ${named.algorithm} ${hex}, the server sent ${named.hex}; nothing was kept`, {
      data: { expected: info.hash, actual: `${named.algorithm}:${hex}` },
    });
    throw Object.assign(error, { resumed: offset > 0 || literal !== null });
  }
  await file.sync();
  await file.close();
  await utimes(paths.data, landing.mtime / 1000, landing.mtime / 1000); // a Date would drop the sub-millisecond part
  await chmod(paths.data, await modeFor(local));
  await rename(paths.data, resolve(local));
  await rm(paths.info, { force: true });
  await syncDir(dirname(resolve(local)));
  const sent = literal ?? done - offset;
  return { path: info.path, size: info.fileSize, ...hashFields(named.algorithm, hex), resumedFrom: offset, sent, mtime: landing.mtime };
}

/**
 * Like cp, a download makes no missing folders: the folder `local` goes into must exist (`E_NOT_FOUND`), else a
 * typo would create folders anywhere the user may write.
 */
async function assertParentFolder(local: string): Promise<void> {
  const parent = dirname(resolve(local));
  const info = await stat(parent).catch(() => null);
  if (info === null) throw new WharfError(FileErrorCode.NOT_FOUND, `${local}: no such local folder ${parent}`);
  if (!info.isDirectory()) throw new WharfError(FileErrorCode.NOT_DIR, `${local}: ${parent} is not a folder`);
}

/** The mode of a downloaded file, as cp gives: an existing file's own, else 0666 less the umask. */
async function modeFor(local: string): Promise<number> {
  const existing = await stat(local).catch(() => null);
  if (existing?.isFile()) return existing.mode & 0o7777;
  // process.umask() without arguments reads the mask; only its setter races with other threads.
  return 0o666 & ~process.umask();
}

/**
 * Downloads a remote file into a stream (`wharf get REMOTE -`: stdout), with backpressure, hashing as it goes.
 * Nothing can be resumed or taken back: when the sha256 differs at the end, the bytes were written already, so it
 * rejects with `E_INTEGRITY` (the CLI then exits non-zero, as a reader of the stream must be told).
 */
export async function getToStream(conn: Connection, remote: string, out: Writable, options: TransferOptions = {}): Promise<TransferResult> {
  const started = monotonicMs();
  const { signal, onProgress } = options;
  const reply = await conn.requestStream(FileRequest.GET, { path: remote, offset: 0, hashes: offeredAlgorithms(options.hash) }, undefined, { signal });
  // The server names the hash it checks with (issue 15); a server from before names only sha256.
  const announced = parseHash(reply.header.hash) ?? parseHash(reply.header.sha256);
  if (announced === null) throw new WharfError(FileErrorCode.INTEGRITY, `${remote}: the server sent no content hash to check against`);
  const expected = announced.hex;
  const total = Number(reply.header.fileSize);
  const hash = createContentHash(announced.algorithm);
  let done = 0;
  onProgress?.({ done, total, resumedFrom: 0 });
  try {
    for await (const chunk of bodyChunks(reply.body)) {
      hash.update(chunk);
      done += chunk.length;
      if (!out.write(chunk)) {
        await new Promise<void>((resolveDrain, reject) => {
          const onError = (err: Error): void => reject(err);
          out.once("error", onError);
          out.once("drain", () => {
            out.off("error", onError);
            resolveDrain();
          });
        });
      }
      onProgress?.({ done, total, resumedFrom: 0 });
    }
  } catch (err) {
    reply.body.destroy();
    conn.destroy();
    throw err;
  }
  const actual = hash.digest();
  if (actual !== expected || done !== total) {
    throw new WharfError(FileErrorCode.INTEGRITY, `${remote}: received ${done} bytes with ${hash.algorithm} ${actual}, the server sent ${expected}`, {
      data: { expected: formatHash(hash.algorithm, expected), actual: formatHash(hash.algorithm, actual) },
    });
  }
  return {
    path: String(reply.header.path), size: total, ...hashFields(hash.algorithm, actual), resumedFrom: 0, sent: total,
    mtime: Number(reply.header.mtime), seconds: (monotonicMs() - started) / 1000,
  };
}
