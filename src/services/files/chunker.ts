import type { FileHandle } from "node:fs/promises";
import { hashBytes, type ContentHash, type HashAlgorithm } from "./hash.js";

/** Chunk sizes of the delta transfer: an average of 64 KiB keeps the recipe of 1 GiB near 0.6 MiB. */
export const MIN_CHUNK = 16 * 1024;
export const AVG_CHUNK = 64 * 1024;
export const MAX_CHUNK = 256 * 1024;

// Normalized chunking (FastCDC, Xia et al., USENIX ATC 2016): a stricter mask before the average size and a looser
// one after it pulls chunk sizes towards the average. The masks take the high bits of the 32-bit gear hash,
// which depend on the last 32 bytes; the low bits would depend on the last few bytes only.
const MASK_STRICT = 0xffffc000 | 0; // 18 bits: a cut 4x less likely than 1 in 64 KiB
const MASK_LOOSE = 0xfffc0000 | 0; // 14 bits: 4x more likely

/** 256 fixed pseudo-random 32-bit values (xorshift32 from a fixed seed): both sides must cut at the same places. */
const GEAR = (() => {
  const table = new Int32Array(256);
  let x = 0x9e3779b9;
  for (let i = 0; i < 256; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    table[i] = x | 0;
  }
  return table;
})();

/**
 * Where the first content-defined chunk of `data[start, end)` ends (an index into `data`). Returns `end` when the
 * rest is shorter than MAX_CHUNK and no cut point was found before it (the caller decides whether that is the
 * file's end or whether more bytes must be appended first).
 */
export function cutPoint(data: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length <= MIN_CHUNK) return end;
  const limit = start + Math.min(length, MAX_CHUNK);
  const normal = start + Math.min(length, AVG_CHUNK);
  let h = 0;
  let i = start + MIN_CHUNK; // no cut below the minimum, so those bytes need not be looked at
  for (; i < normal; i += 1) {
    h = ((h << 1) + GEAR[data[i]]) | 0;
    if ((h & MASK_STRICT) === 0) return i + 1;
  }
  for (; i < limit; i += 1) {
    h = ((h << 1) + GEAR[data[i]]) | 0;
    if ((h & MASK_LOOSE) === 0) return i + 1;
  }
  return limit;
}

/** One chunk of a file: where it is, how long, and its hash (32 bytes, the transfer's algorithm). */
export interface Chunk {
  offset: number;
  length: number;
  hash: Buffer;
}

/** The chunks of a whole buffer (tests, small files). */
export function chunkBuffer(data: Uint8Array, algorithm: HashAlgorithm): Chunk[] {
  const chunks: Chunk[] = [];
  for (let at = 0; at < data.length; ) {
    const cut = cutPoint(data, at, data.length);
    chunks.push({ offset: at, length: cut - at, hash: hashBytes(algorithm, data.subarray(at, cut)) });
    at = cut;
  }
  return chunks;
}

const READ_BLOCK = 4 * 1024 * 1024;

/**
 * The content-defined chunks of bytes [start, end) of an open file, read once in 4 MiB blocks. Every byte read is
 * also fed to `whole` when given (the whole-file hash, so that the chunking pass is the only full read).
 */
export async function chunkFile(file: FileHandle, start: number, end: number, algorithm: HashAlgorithm, whole?: Pick<ContentHash, "update">): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  // The tail of the last block that did not end in a cut is carried into the next read, at most MAX_CHUNK bytes.
  const buffer = Buffer.allocUnsafe(READ_BLOCK + MAX_CHUNK);
  let filled = 0;
  let base = start; // file offset of buffer[0]
  let position = start;
  while (position < end || filled > 0) {
    if (position < end) {
      const want = Math.min(buffer.length - filled, end - position);
      const { bytesRead } = await file.read(buffer, filled, want, position);
      if (bytesRead === 0) throw new Error(`the file changed while it was read: it ended at ${position}, before ${end}`);
      whole?.update(buffer.subarray(filled, filled + bytesRead));
      filled += bytesRead;
      position += bytesRead;
    }
    const atEnd = position >= end;
    let at = 0;
    for (;;) {
      const cut = cutPoint(buffer, at, filled);
      if (cut === filled && !atEnd && filled - at < MAX_CHUNK) break; // may not be a real cut: read more first
      if (cut === at) break;
      chunks.push({ offset: base + at, length: cut - at, hash: hashBytes(algorithm, buffer.subarray(at, cut)) });
      at = cut;
      if (at === filled) break;
    }
    if (at > 0) {
      // Every chunk's hash is taken already, so the tail can move to the front in place.
      buffer.copyWithin(0, at, filled);
      filled -= at;
      base += at;
    }
    if (atEnd && filled === 0) break;
  }
  return chunks;
}
