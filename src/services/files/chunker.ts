import type { FileHandle } from "node:fs/promises";
import { cutPoint, MAX_CHUNK } from "./chunker-gear.js";
import { wasmScanner, type CutScanner } from "./chunker-wasm.js";
import { hashBytes, type ContentHash, type HashAlgorithm } from "./hash.js";

export { AVG_CHUNK, cutPoint, MAX_CHUNK, MIN_CHUNK } from "./chunker-gear.js";

/** One chunk of a file: where it is, how long, and its hash (32 bytes, the transfer's algorithm). */
export interface Chunk {
  offset: number;
  length: number;
  hash: Buffer;
}

/** Which cut rule runs: the WebAssembly one where it loads (the default), or the JavaScript one. */
export type ChunkerKind = "wasm" | "js";

function jsScanner(size: number): CutScanner {
  const buffer = Buffer.allocUnsafe(size);
  return { buffer, kind: "js", cut: (start, end) => cutPoint(buffer, start, end) };
}

/** A scanner of `kind` over `size` bytes; the JavaScript one when WebAssembly is asked for but cannot load. */
export function createScanner(size: number, kind: ChunkerKind = "wasm"): CutScanner {
  return (kind === "wasm" ? wasmScanner(size) : null) ?? jsScanner(size);
}

/**
 * The ends of the content-defined chunks of a whole buffer, in order (the last is `data.length`).
 *
 * @example
 * ```ts
 * cutPoints(data, "js"); // the same as cutPoints(data, "wasm")
 * ```
 */
export function cutPoints(data: Uint8Array, kind: ChunkerKind = "wasm"): number[] {
  const scanner = createScanner(Math.max(1, data.length), kind);
  scanner.buffer.set(data);
  const ends: number[] = [];
  for (let at = 0; at < data.length; ) {
    at = scanner.cut(at, data.length);
    ends.push(at);
  }
  return ends;
}

/** The chunks of a whole buffer (tests, small files). */
export function chunkBuffer(data: Uint8Array, algorithm: HashAlgorithm, kind: ChunkerKind = "wasm"): Chunk[] {
  let at = 0;
  return cutPoints(data, kind).map((cut) => {
    const chunk = { offset: at, length: cut - at, hash: hashBytes(algorithm, data.subarray(at, cut)) };
    at = cut;
    return chunk;
  });
}

/** Bytes read per step of a chunking pass. */
export const READ_BLOCK = 4 * 1024 * 1024;

/**
 * The content-defined chunks of bytes [start, end) of an open file, read once in READ_BLOCK steps straight into
 * the scanner's memory. Every byte read is also fed to `whole` when given (the whole-file hash, so that the
 * chunking pass is the only full read).
 */
export async function chunkFile(
  file: FileHandle,
  start: number,
  end: number,
  algorithm: HashAlgorithm,
  whole?: Pick<ContentHash, "update">,
  kind: ChunkerKind = "wasm",
): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  // The tail of the last block that did not end in a cut is carried into the next read, at most MAX_CHUNK bytes.
  const scanner = createScanner(READ_BLOCK + MAX_CHUNK, kind);
  const buffer = scanner.buffer;
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
      const cut = scanner.cut(at, filled);
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
