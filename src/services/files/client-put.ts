import { open, stat } from "node:fs/promises";
import type { Connection } from "../../client/index.js";
import { WharfError } from "../../wire/index.js";
import { FileErrorCode } from "./errors.js";
import { createContentHash, hashFields, isHashAlgorithm, offeredAlgorithms, type HashAlgorithm } from "./hash.js";
import { DELTA_MIN_SIZE } from "./delta-client.js";
import { sendDelta } from "./delta-send.js";
import { clientIoBlocking, hashFileRange, hashingReader, sendPool } from "./hashing-io.js";
import { FileRequest } from "./requests.js";
import { putSmallFile, readSmallFile } from "./client-put-file.js";
import { monotonicMs } from "./stopwatch.js";

/** How far a transfer is: `done` of `total` bytes, of which `resumedFrom` were there before it began. */
export interface TransferProgress {
  done: number;
  total: number;
  resumedFrom: number;
}

/** Options of a put or get. */
export interface TransferOptions {
  /** Called when the transfer starts and after every chunk (often: throttle drawing). */
  onProgress?: (progress: TransferProgress) => void;
  /** Aborting fails the transfer with `E_CANCELLED`; what arrived stays for a resume. */
  signal?: AbortSignal;
  /**
   * The content hash to verify with. Default: BLAKE3 for a put (sha256 where it cannot load), and for a get the
   * algorithm the file was stored with.
   */
  hash?: HashAlgorithm;
  /**
   * Send only what changed when the receiving side already has a version under the name (issue 15):
   * content-defined chunks, a recipe, the file rebuilt there and checked whole. Default: on for files of
   * DELTA_MIN_SIZE (256 KiB) bytes or more.
   */
  delta?: boolean;
}

/** Options of a put. */
export interface PutOptions extends TransferOptions {
  /**
   * Identifies the local file's version in the resume key (with the remote path and the size). Default: its
   * size, mtime and inode, so that a changed file is never resumed onto an older partial.
   */
  stamp?: string;
}

/** What a finished put or get reports. */
export interface TransferResult {
  /** The remote path, normalised. */
  path: string;
  size: number;
  /** The whole file's content hash as `"ALG:HEX"`, checked on both sides. */
  hash: string;
  /** The hex sha256, when the transfer was verified with sha256. */
  sha256?: string;
  /** Bytes that were already on the receiving side and not sent again. */
  resumedFrom: number;
  /** Content bytes that crossed the connection (after resume, skip or delta). */
  sent: number;
  seconds: number;
  /** The file's modification time (ms since the epoch), kept across the transfer. */
  mtime: number;
}

/**
 * Uploads a local file (see FilesClient.put): a file under 256 KiB in one `files.put.file` request (the bytes,
 * their hash, the mtime), else begin, then the bytes the server does not have, hashed as they
 * are read, then commit with the sha256 of the whole file. A resumed upload reads the skipped prefix only to hash
 * it, so the file is read once in all. If a resumed upload fails its integrity check (the server's partial did
 * not match), it is retried once from the start.
 */
export async function putFile(conn: Connection, local: string, remote: string, options: PutOptions = {}): Promise<TransferResult> {
  const started = monotonicMs();
  // A small file goes in one request where the server knows it (issue 15).
  const small = readSmallFile(conn, local, options);
  if (small !== null) {
    const result = await putSmallFile(conn, small, remote, options);
    if (result !== null) return { ...result, seconds: (monotonicMs() - started) / 1000 };
  }
  const info = await stat(local);
  if (!info.isFile()) throw new WharfError(FileErrorCode.IS_DIR, `${local}: not a regular file (directories need recursive put)`);
  const stamp = options.stamp ?? `${info.size}:${info.mtimeMs}:${info.ino}`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      // A second attempt goes without delta: the first failed its check, so the server's old version is suspect.
      // Whole ms, rounded as the server reports times and as Node rounds a Stats Date (floor would differ by 1).
      const result = await attemptPut(conn, local, remote, info.size, Math.round(info.mtimeMs), stamp, attempt === 1 ? options : { ...options, delta: false });
      return { ...result, seconds: (monotonicMs() - started) / 1000 };
    } catch (err) {
      const retry = attempt === 1 && err instanceof WharfError && err.code === FileErrorCode.INTEGRITY && (err as { resumed?: boolean }).resumed === true;
      if (!retry) throw err;
    }
  }
}

/** How {@link putFileReconnecting} retries: bounded, with a doubling wait. */
export interface ReconnectOptions {
  /**
   * Retries after the first attempt; default 8: with the doubling wait capped at 8 s, about 40 s in all, longer
   * than a Redis upload lease (15 s) that a killed node leaves behind.
   */
  retries?: number;
  /** The first wait, ms; it doubles each retry, up to 8,000. Default 500. */
  backoff?: number;
  /** Told before each wait (the CLI says it on stderr). */
  onRetry?: (info: { attempt: number; retries: number; delayMs: number; error: WharfError }) => void;
}

/**
 * Failures after which a put may go on over a new connection: the server drains or went away (through a
 * balancer, the new connection lands on another node, which finds the partial on the shared storage), or the
 * name's upload lock still belongs to the upload that was cut (a Redis lease runs out by itself). `E_UNAVAILABLE`:
 * a shared store the node needs is down for the moment.
 */
export const RESUMABLE_PUT_CODES: ReadonlySet<string> = new Set(["E_SHUTTING_DOWN", "E_CONNECTION_CLOSED", "E_CONNECT", FileErrorCode.BUSY, "E_UNAVAILABLE"]);

/**
 * {@link putFile} that survives its server: on a {@link RESUMABLE_PUT_CODES} failure it waits, asks
 * `connection(true)` for a new logged-in connection, and puts again, which resumes from what the server kept.
 * `connection(false)` gives the first one. The result is the last attempt's (`resumedFrom` > 0 after a cut).
 *
 * @example
 * ```ts
 * let conn = await open();
 * const result = await putFileReconnecting(async (fresh) => (fresh ? (conn.destroy(), (conn = await open())) : conn), "big.iso", "big.iso", {
 *   onRetry: ({ error, delayMs }) => console.error(`${error.code}: again in ${delayMs} ms`),
 * });
 * ```
 */
export async function putFileReconnecting(connection: (fresh: boolean) => Promise<Connection>, local: string, remote: string, options: PutOptions & ReconnectOptions = {}): Promise<TransferResult> {
  const retries = options.retries ?? 8;
  const started = monotonicMs();
  let delay = options.backoff ?? 500;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const conn = await connection(attempt > 0);
      const result = await putFile(conn, local, remote, options);
      return { ...result, seconds: (monotonicMs() - started) / 1000 };
    } catch (err) {
      if (attempt >= retries || options.signal?.aborted === true || !(err instanceof WharfError) || !RESUMABLE_PUT_CODES.has(err.code)) throw err;
      options.onRetry?.({ attempt: attempt + 1, retries, delayMs: delay, error: err });
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 8_000);
    }
  }
}

async function attemptPut(
  conn: Connection,
  local: string,
  remote: string,
  size: number,
  mtime: number,
  stamp: string,
  options: PutOptions,
): Promise<Omit<TransferResult, "seconds">> {
  const { signal, onProgress } = options;
  const hashes = offeredAlgorithms(options.hash);
  const delta = options.delta ?? size >= DELTA_MIN_SIZE;
  const begin = await conn.request(FileRequest.PUT_BEGIN, { path: remote, fileSize: size, stamp, mtime, hashes, delta }, undefined, { signal });
  const upload = String(begin.header.upload);
  const offset = Number(begin.header.offset);
  // A server from before issue 15 names no algorithm: it speaks sha256.
  const algorithm: HashAlgorithm = isHashAlgorithm(begin.header.hash) ? begin.header.hash : "sha256";
  const hash = createContentHash(algorithm);
  let done = offset;
  let sent = size - offset;
  onProgress?.({ done, total: size, resumedFrom: offset });
  const progress = (n: number): void => {
    done += n;
    onProgress?.({ done, total: size, resumedFrom: offset });
  };
  try {
    let failed = false;
    // The chunks go back to the pool once the socket took them (the body's `release` below).
    const reads = { blocking: clientIoBlocking() };
    const buffers = sendPool(size - offset, reads);
    async function* bytesToSend(): AsyncGenerator<Buffer> {
      const file = await open(local, "r");
      try {
        await hashFileRange(file, 0, offset, hash, signal, reads);
        const chunks = hashingReader(
          file,
          offset,
          size,
          hash,
          (n) => {
            done += n;
            onProgress?.({ done, total: size, resumedFrom: offset });
          },
          buffers,
          reads,
        );
        for await (const chunk of chunks) {
          // A frame cannot be cut short: stopping breaks the connection, which beats sending gigabytes for nothing.
          if (failed) throw new Error("the upload failed on the server");
          yield chunk;
        }
      } finally {
        await file.close();
      }
    }
    if (offset < size && begin.header.delta === true) {
      const file = await open(local, "r");
      try {
        sent = (await sendDelta(conn, file, upload, offset, size, algorithm, hash, { signal, onBytes: progress })).literal;
      } finally {
        await file.close();
      }
    } else if (offset < size) {
      try {
        await conn.request(FileRequest.PUT_DATA, { upload, offset }, { size: size - offset, stream: bytesToSend(), release: buffers.give }, { signal });
      } catch (err) {
        failed = true;
        throw err;
      }
    } else {
      const file = await open(local, "r");
      try {
        await hashFileRange(file, 0, size, hash, signal);
      } finally {
        await file.close();
      }
    }
    const hex = hash.digest();
    const named = hashFields(algorithm, hex);
    const commit = await conn.request(FileRequest.PUT_COMMIT, { upload, ...named }, undefined, { signal });
    return { path: String(commit.header.path), size, ...named, resumedFrom: offset, sent, mtime: Number(commit.header.mtime) };
  } catch (err) {
    if (!conn.closed) conn.request(FileRequest.PUT_ABORT, { upload }).catch(() => {});
    if (err instanceof WharfError && err.code === FileErrorCode.INTEGRITY && (offset > 0 || begin.header.delta === true)) Object.assign(err, { resumed: true });
    throw err;
  }
}
