import { closeSync, fstatSync, openSync, readSync, type Stats } from "node:fs";
import type { Connection } from "../../client/index.js";
import { WharfError } from "../../wire/index.js";
import { createContentHash, formatHash, offeredAlgorithms } from "./hash.js";
import type { PutOptions, TransferResult } from "./client-put.js";
import { FileRequest, PUT_FILE_BELOW } from "./requests.js";
import { BufferShelf } from "./buffer-shelf.js";

/** Connections whose server does not know `files.put.file` (from before it): their puts use begin/data/commit. */
const withoutPutFile = new WeakSet<Connection>();

/**
 * The buffers small files are read into, reused once their request is answered: up to 4 MiB of them wait,
 * enough for a tree's 64 files in flight at 64 KiB.
 */
const readBuffers = new BufferShelf(4 * 1024 * 1024);

/** A small local file read whole: its bytes and the stats they go with. */
export interface SmallFile {
  bytes: Buffer;
  info: Stats;
}

/**
 * Reads `local` whole when it is a regular file under PUT_FILE_BELOW bytes and a put of it may go in one
 * request; null otherwise (the caller uses begin/data/commit). Synchronous calls (open, fstat, read, close): a
 * tree's small files cost the client a trip through libuv's thread pool per call otherwise.
 */
export function readSmallFile(conn: Connection, local: string, options: PutOptions): SmallFile | null {
  if (withoutPutFile.has(conn) || options.delta === true || options.stamp !== undefined) return null;
  const fd = openSync(local, "r");
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size >= PUT_FILE_BELOW) return null;
    // One byte more than the size: a file that grew since the fstat goes the usual way.
    const bytes = readBuffers.take(info.size + 1);
    let got = 0;
    for (let n = -1; n !== 0 && got < bytes.length; got += n) n = readSync(fd, bytes, got, bytes.length - got, got);
    if (got !== info.size) {
      readBuffers.give(bytes);
      return null;
    }
    return { bytes: bytes.subarray(0, got), info };
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts a small file in one request: the bytes, their hash (the first algorithm offered) and the mtime; the server
 * checks the hash before storing anything and lands the file as a commit would. Resolves null when the server
 * does not know the request type, or cannot compute the sender's hash (then nothing was stored and the caller
 * puts the usual way, which lets the two sides agree on one). The bytes' buffer goes back to be read into again
 * once the server has answered: it then has every byte, so the socket holds none. After a failure it is left to
 * the garbage collector, since a request given up on (aborted, timed out) may still be queued on the socket.
 */
export async function putSmallFile(conn: Connection, small: SmallFile, remote: string, options: PutOptions): Promise<Omit<TransferResult, "seconds"> | null> {
  const { bytes, info } = small;
  const hashes = offeredAlgorithms(options.hash);
  const hash = createContentHash(hashes[0]);
  hash.update(bytes);
  const claimed = formatHash(hash.algorithm, hash.digest());
  options.onProgress?.({ done: 0, total: bytes.length, resumedFrom: 0 });
  let reply;
  try {
    // Whole ms, rounded as the server reports times (see putFile).
    const header = { path: remote, fileSize: bytes.length, mtime: Math.round(info.mtimeMs), hash: claimed, hashes };
    reply = await conn.request(FileRequest.PUT_FILE, header, bytes, { signal: options.signal });
    readBuffers.give(bytes);
  } catch (err) {
    // A server from before the request type, or one that cannot compute our hash (it says which it can).
    const unknown = err instanceof WharfError && (err.code === "E_UNKNOWN_TYPE" || (err.code === "E_INVALID_PARAMS" && Array.isArray((err.data as { hashes?: unknown } | undefined)?.hashes)));
    if (!unknown) throw err;
    withoutPutFile.add(conn);
    return null;
  }
  options.onProgress?.({ done: bytes.length, total: bytes.length, resumedFrom: 0 });
  const stored = String(reply.header.hash);
  const sha256 = typeof reply.header.sha256 === "string" ? reply.header.sha256 : undefined;
  return { path: String(reply.header.path), size: bytes.length, hash: stored, ...(sha256 === undefined ? {} : { sha256 }), resumedFrom: 0, sent: bytes.length, mtime: Number(reply.header.mtime) };
}
