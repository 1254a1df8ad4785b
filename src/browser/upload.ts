import { ErrorCode } from "../errors/codes.js";
import { WharfError } from "../errors/wharf-error.js";
import type { BrowserConnection } from "./connection.js";
import { createStreamingHash, type HashAlgorithm, type StreamingHash } from "./hasher.js";
import type { BlobLike } from "./types.js";

/** How far an upload is: `sent` of `total` bytes (counting the `resumedFrom` the server had), `rate` in bytes/s. */
export interface UploadProgress {
  sent: number;
  total: number;
  /** Bytes per second over the last few seconds of sending. */
  rate: number;
  resumedFrom: number;
}

/** Options of {@link uploadBlob}. */
export interface UploadOptions {
  /** Called when the upload starts and after each slice. */
  onProgress?(progress: UploadProgress): void;
  /** Aborting fails the upload with `E_CANCELLED`; what the server received stays for a resume. */
  signal?: AbortSignal;
  /** Bytes per `files.put.data` frame, i.e. per WebSocket message. Default 1 MiB. */
  sliceSize?: number;
  /** Wait before sending a slice while more than this many bytes wait in the socket. Default 4 MiB. */
  highWater?: number;
  /** The hash to verify with: default BLAKE3 (what the server prefers), or sha256. */
  hash?: HashAlgorithm;
  /**
   * Identifies this version of the file in the resume key (with the path and the size). Default: the size,
   * `lastModified` and name of the File, so that picking the same file again resumes and a changed one does not.
   */
  stamp?: string;
  /** Milliseconds each request may take. Default 60,000. */
  timeout?: number;
}

/** A finished upload. */
export interface UploadResult {
  /** The remote path, as the server normalised it. */
  path: string;
  size: number;
  /** The whole file's content hash, `"ALG:HEX"`, computed here and checked equal by the server. */
  hash: string;
  /** Bytes the server had from an earlier attempt, not sent again. */
  resumedFrom: number;
  /** Bytes sent by this upload. */
  sent: number;
  seconds: number;
}

export const DEFAULT_SLICE_SIZE = 1024 * 1024;

/** Slices sent before the oldest one's reply is awaited. */
const SLICES_IN_FLIGHT = 8;
const DEFAULT_HIGH_WATER = 4 * 1024 * 1024;
const RATE_WINDOW_MS = 3_000;

/**
 * Uploads a Blob or File with `files.put.begin`, `files.put.data` (one per slice) and `files.put.commit`, the
 * protocol of `wharf put`: the server says how many bytes it kept of an earlier attempt with the same resume
 * key; those are read and hashed here (not sent), the rest is read slice by slice, hashed as it is sent, and
 * the commit carries the hash of the whole file, which the server compares with its own before the file
 * appears (`E_INTEGRITY` otherwise; a resumed upload that fails it is retried once from the start). While more
 * than `highWater` bytes wait in the WebSocket, sending waits.
 *
 * @example
 * ```ts
 * const result = await uploadBlob(conn, file, "inbox/report.pdf", {
 *   onProgress: ({ sent, total, rate }) => console.log(`${sent}/${total} at ${rate} B/s`),
 * });
 * console.log(result.hash, result.resumedFrom);
 * ```
 */
export async function uploadBlob(conn: BrowserConnection, file: BlobLike, remotePath: string, options: UploadOptions = {}): Promise<UploadResult> {
  if (typeof remotePath !== "string" || remotePath.length === 0) throw new TypeError("remotePath must be a non-empty string");
  const sliceSize = options.sliceSize ?? DEFAULT_SLICE_SIZE;
  if (!Number.isSafeInteger(sliceSize) || sliceSize <= 0) throw new RangeError("options.sliceSize must be a positive integer");
  const started = performance.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await attemptUpload(conn, file, remotePath, { ...options, sliceSize });
      return { ...result, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      const resumed = (err as { resumed?: boolean }).resumed === true;
      if (!(attempt === 1 && resumed && err instanceof WharfError && err.code === "E_INTEGRITY")) throw err;
    }
  }
}

function defaultStamp(file: BlobLike): string {
  return `${file.size}:${file.lastModified ?? 0}:${file.name ?? ""}`.slice(0, 256);
}

async function readSlice(file: BlobLike, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await file.slice(start, end).arrayBuffer());
}

/** Bytes per second over a sliding window of the last few seconds. */
class RateMeter {
  #samples: { at: number; bytes: number }[] = [];

  add(at: number, bytes: number): number {
    this.#samples.push({ at, bytes });
    while (this.#samples.length > 2 && at - this.#samples[1].at >= RATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0];
    const seconds = (at - first.at) / 1000;
    return seconds > 0 ? Math.round((bytes - first.bytes) / seconds) : 0;
  }
}

async function attemptUpload(
  conn: BrowserConnection,
  file: BlobLike,
  remotePath: string,
  options: UploadOptions & { sliceSize: number },
): Promise<Omit<UploadResult, "seconds">> {
  const { signal, onProgress, sliceSize } = options;
  const timeout = options.timeout ?? 60_000;
  const highWater = options.highWater ?? DEFAULT_HIGH_WATER;
  const size = file.size;
  const hashes: HashAlgorithm[] = options.hash === "sha256" ? ["sha256"] : ["blake3", "sha256"];
  const begin = await conn.request(
    {
      type: "files.put.begin",
      path: remotePath,
      fileSize: size,
      stamp: options.stamp ?? defaultStamp(file),
      ...(typeof file.lastModified === "number" && Number.isFinite(file.lastModified) ? { mtime: Math.round(file.lastModified) } : {}),
      hashes,
    },
    undefined,
    { signal, timeout },
  );
  const upload = String(begin.header.upload);
  const offset = Number(begin.header.offset);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
    throw new WharfError(ErrorCode.PROTOCOL, `files.put.begin answered an offset of ${String(begin.header.offset)} for a file of ${size} bytes`);
  }
  const algorithm: HashAlgorithm = begin.header.hash === "blake3" ? "blake3" : "sha256";
  const meter = new RateMeter();
  let sent = offset;
  const report = (): void => onProgress?.({ sent, total: size, rate: meter.add(performance.now(), sent), resumedFrom: offset });
  try {
    const hash: StreamingHash = await createStreamingHash(algorithm);
    // The resumed prefix is read only to hash it: the commit hashes the whole file.
    for (let pos = 0; pos < offset; pos += sliceSize) {
      if (signal?.aborted) throw new WharfError(ErrorCode.CANCELLED, "the upload was aborted", { cause: signal.reason });
      hash.update(await readSlice(file, pos, Math.min(offset, pos + sliceSize)));
    }
    report();
    // The next slice is read while the current one is on its way.
    let next: Promise<Uint8Array> | null = offset < size ? readSlice(file, offset, Math.min(size, offset + sliceSize)) : null;
    // Slices are pipelined: waiting for each one's reply would cap the upload at a slice per round trip. The
    // server takes them in order; `sent` moves as they are acknowledged.
    const inFlight: Promise<void>[] = [];
    for (let pos = offset; pos < size; ) {
      const slice = await (next as Promise<Uint8Array>);
      const end = pos + slice.byteLength;
      next = end < size ? readSlice(file, end, Math.min(size, end + sliceSize)) : null;
      hash.update(slice);
      await conn.drained(highWater);
      const acknowledged = conn.request({ type: "files.put.data", upload, offset: pos }, slice, { signal, timeout }).then(() => {
        sent = Math.max(sent, end);
        report();
      });
      acknowledged.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
      inFlight.push(acknowledged);
      if (inFlight.length >= SLICES_IN_FLIGHT) await inFlight.shift();
      pos = end;
    }
    await Promise.all(inFlight);
    next?.catch(() => {});
    const named = `${algorithm}:${hash.digest()}`;
    const commit = await conn.request({ type: "files.put.commit", upload, hash: named }, undefined, { signal, timeout });
    return { path: String(commit.header.path), size, hash: named, resumedFrom: offset, sent: size - offset };
  } catch (err) {
    // The name is free again once the server has ended the upload: wait for that (bounded), so that an upload
    // begun right after this one failed does not find the name still busy.
    if (!conn.closed) await conn.request({ type: "files.put.abort", upload }, undefined, { timeout: 10_000 }).catch(() => {});
    if (err instanceof WharfError && err.code === "E_INTEGRITY" && offset > 0) Object.assign(err, { resumed: true });
    throw err;
  }
}
