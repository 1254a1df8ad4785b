import { constants } from "node:fs";
import { chmod, open, readFile, rename, rm, stat, utimes, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { Connection } from "../../client/index.js";
import { WharfError } from "../../wire/index.js";
import { writeAtomically } from "../shared/atomic-write.js";
import { syncDir } from "../shared/dir-sync.js";
import type { TransferOptions, TransferResult } from "./client-put.js";
import { FileErrorCode } from "./errors.js";
import { createContentHash, formatHash, hashFields, offeredAlgorithms, parseHash } from "./hash.js";
import { describeDownloadBase, recipeBuilder } from "./delta-client.js";
import { bodyChunks } from "./body-chunks.js";
import { clientIoBlocking, hashFileRange, HashingWriter } from "./hashing-io.js";
import { HashingFileSink } from "./file-sink.js";
import { FileRequest } from "./requests.js";

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
  const started = performance.now();
  await assertParentFolder(local);
  for (let attempt = 1; ; attempt += 1) {
    try {
      // A second attempt goes without delta: the local old version may be what went wrong.
      const result = await attemptGet(conn, remote, local, attempt === 1 ? options : { ...options, delta: false });
      return { ...result, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      // A kept prefix that does not match (changed on disk meanwhile) was deleted: once more, from the start.
      const retry = attempt === 1 && err instanceof WharfError && err.code === FileErrorCode.INTEGRITY && (err as { resumed?: boolean }).resumed === true;
      if (!retry) throw err;
    }
  }
}

async function attemptGet(conn: Connection, remote: string, local: string, options: TransferOptions): Promise<Omit<TransferResult, "seconds">> {
  const { signal, onProgress } = options;
  const paths = downloadPartialPaths(local);
  const known = await readDownloadInfo(paths);
  const hashes = offeredAlgorithms(options.hash);
  // An older version under the name: describe it by its chunks, so that only what changed is sent (issue 15).
  const base = options.delta === false ? null : await describeDownloadBase(local, hashes[0]);
  const deltaFields = base === null ? {} : { delta: base.algorithm };
  let reply;
  try {
    reply = await conn.requestStream(FileRequest.GET, { path: remote, offset: known?.have ?? 0, hash: known?.hash, hashes, ...deltaFields }, base?.list, { signal });
  } catch (err) {
    await base?.file.close();
    throw err;
  }
  const header = reply.header;
  // A server from before issue 15 names only `sha256`.
  const named = parseHash(header.hash ?? header.sha256);
  if (named === null) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${String(header.path)}: the server named no usable content hash`);
  const info: DownloadInfo = { path: String(header.path), fileSize: Number(header.fileSize), hash: `${named.algorithm}:${named.hex}` };
  const mtime = Number(header.mtime);
  const offset = Number(header.offset);
  const body = reply.body;
  let file: FileHandle | undefined;
  let bodyRead = false;
  try {
    if (offset > 0 && known !== null) {
      file = await open(paths.data, constants.O_RDWR | constants.O_NOFOLLOW);
      await file.truncate(offset);
    } else {
      // The description first: bytes without one are never trusted for a resume.
      await writeAtomically(paths.info, `${JSON.stringify(info)}\n`);
      file = await open(paths.data, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    }
    const hash = createContentHash(named.algorithm);
    await hashFileRange(file, 0, offset, hash, signal, { blocking: clientIoBlocking() });
    let done = offset;
    const count = (bytes: number): void => {
      done += bytes;
      onProgress?.({ done, total: info.fileSize, resumedFrom: offset });
    };
    count(0);
    // The body lands in the file: a recipe through a writer (its COPY ranges are read from the old version), the
    // plain bytes straight from the connection's reads into a sink.
    let recipe: ReturnType<typeof recipeBuilder> | null = null;
    let output: { finish(): Promise<void> };
    let receive: () => Promise<void>;
    if (header.delta === true && base !== null) {
      const writer = new HashingWriter(file, offset, hash);
      const decoder = (recipe = recipeBuilder(base.file, base.size, (chunk) => writer.write(chunk).then(() => count(chunk.length)), () => writer.finish())).decoder;
      output = writer;
      receive = async () => {
        for await (const chunk of bodyChunks(body)) {
          signal?.throwIfAborted();
          await decoder.push(chunk);
        }
        decoder.end();
      };
    } else {
      const sink = new HashingFileSink(file, offset, hash, { onBytes: count, blocking: clientIoBlocking() });
      output = sink;
      receive = () => body.drainInto(sink, signal);
    }
    try {
      await receive();
      bodyRead = true;
      await output.finish();
    } catch (err) {
      await output.finish().catch(() => {}); // keep every byte that arrived, for the resume
      throw err;
    }
    const hex = hash.digest();
    if (hex !== named.hex || done !== info.fileSize) {
      await file.close();
      file = undefined;
      await rm(paths.data, { force: true });
      await rm(paths.info, { force: true });
      const error = new WharfError(FileErrorCode.INTEGRITY, `${info.path}: received ${done} bytes with ${named.algorithm} ${hex}, the server sent ${named.hex}; nothing was kept`, {
        data: { expected: info.hash, actual: `${named.algorithm}:${hex}` },
      });
      throw Object.assign(error, { resumed: offset > 0 || recipe !== null });
    }
    await file.sync();
    await file.close();
    file = undefined;
    await utimes(paths.data, mtime / 1000, mtime / 1000); // a Date would drop the sub-millisecond part
    await chmod(paths.data, await modeFor(local));
    await rename(paths.data, resolve(local));
    await rm(paths.info, { force: true });
    await syncDir(dirname(resolve(local)));
    const sent = recipe === null ? done - offset : recipe.literal();
    return { path: info.path, size: info.fileSize, ...hashFields(named.algorithm, hex), resumedFrom: offset, sent, mtime };
  } catch (err) {
    await file?.close();
    if (!bodyRead) {
      body.destroy();
      conn.destroy();
    }
    if (signal?.aborted && !(err instanceof WharfError)) throw new WharfError("E_CANCELLED", "the download was aborted", { cause: err });
    throw err;
  } finally {
    await base?.file.close();
  }
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
  const started = performance.now();
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
    mtime: Number(reply.header.mtime), seconds: (performance.now() - started) / 1000,
  };
}
