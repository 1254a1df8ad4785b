/**
 * The cut rule of delta transfers (issue 15), in JavaScript: the reference the WebAssembly chunker
 * (wasm/chunker.wat) must agree with byte for byte, and the fallback where it cannot load.
 */

/** Chunk sizes of the delta transfer: an average of 64 KiB keeps the recipe of 1 GiB near 0.6 MiB. */
export const MIN_CHUNK = 16 * 1024;
export const AVG_CHUNK = 64 * 1024;
export const MAX_CHUNK = 256 * 1024;

// Normalized chunking (FastCDC, Xia et al., USENIX ATC 2016): a stricter mask before the average size and a looser
// one after it pulls chunk sizes towards the average. The masks take the high bits of the 32-bit gear hash,
// which depend on the last 32 bytes; the low bits would depend on the last few bytes only.
export const MASK_STRICT = 0xffffc000 | 0; // 18 bits: a cut 4x less likely than 1 in 64 KiB
export const MASK_LOOSE = 0xfffc0000 | 0; // 14 bits: 4x more likely

/** 256 fixed pseudo-random 32-bit values (xorshift32 from a fixed seed): both sides must cut at the same places. */
export const GEAR = (() => {
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
 *
 * @example
 * ```ts
 * const first = cutPoint(data, 0, data.length); // the end of the first chunk
 * ```
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
