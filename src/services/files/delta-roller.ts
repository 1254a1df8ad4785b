import { GEAR } from "./chunker-gear.js";
import { XXH128_SCRATCH, type HasherHome } from "./block-hash.js";
import { GEAR_BYTES, instantiateWithGear } from "./chunker-wasm.js";

/** The fingerprint bit table of a block search: one bit per 256 fingerprints, 2^19 i32 (2 MiB). */
export const BIT_WORDS = 1 << 19;

/**
 * The buffer a block search reads the new version into, the receiver's fingerprints as bits, and the scan's
 * inner loop over them (delta-block-match.ts), from WebAssembly or JavaScript: `roll(from, stop, stride)` is
 * {@link rollToCandidate} over `buffer`.
 */
export interface Roller {
  readonly buffer: Buffer;
  /** Bit `(p >>> 8) & 31` of word `p >>> 13` is set for every listed fingerprint p (BlockIndex fills it). */
  readonly bits: Int32Array;
  readonly kind: "wasm" | "js";
  /** Where a block hasher may hash `buffer`'s bytes in place (block-hash.ts), for the WebAssembly roller. */
  readonly hasherHome?: HasherHome;
  print: number;
  roll(from: number, stop: number, stride: number): number;
}

/**
 * The scan's inner loop in JavaScript, the reference the WebAssembly one (wasm/roller.wat) must agree with: rolls
 * `state.print` over `data[from, stop)`, looking the fingerprint up in `bits` after every `stride` bytes (after
 * bytes from + stride - 1, from + 2 × stride - 1, ...), and returns the index just past the byte after which its
 * bit was found set, or `stop` (the bytes after the last look-up are rolled too).
 *
 * @example
 * ```ts
 * const state = { print: 0 };
 * const next = rollToCandidate(data, 0, data.length, 1, bits, state); // data.length: no listed fingerprint on the way
 * ```
 */
export function rollToCandidate(data: Uint8Array, from: number, stop: number, stride: number, bits: Int32Array, state: { print: number }): number {
  let print = state.print;
  let i = from;
  for (let next = i + stride; next <= stop; next += stride) {
    for (; i < next; i += 1) print = ((print << 1) + GEAR[data[i]]) | 0;
    if ((bits[print >>> 13] & (1 << ((print >>> 8) & 31))) !== 0) {
      state.print = print;
      return i;
    }
  }
  for (; i < stop; i += 1) print = ((print << 1) + GEAR[data[i]]) | 0;
  state.print = print;
  return stop;
}

function jsRoller(size: number): Roller {
  const buffer = Buffer.allocUnsafeSlow(size);
  const bits = new Int32Array(BIT_WORDS);
  const roller: Roller = { buffer, bits, kind: "js", print: 0, roll: (from, stop, stride) => rollToCandidate(buffer, from, stop, stride, bits, roller) };
  return roller;
}

function wasmRoller(size: number): Roller | null {
  const bitsBase = GEAR_BYTES;
  const scratch = bitsBase + BIT_WORDS * 4;
  const dataBase = scratch + XXH128_SCRATCH;
  const instance = instantiateWithGear("roller", dataBase + size);
  if (instance === null) return null;
  const roll = instance.exports.roll as (from: number, stop: number, stride: number) => number;
  const getPrint = instance.exports.getPrint as () => number;
  const setPrint = instance.exports.setPrint as (print: number) => void;
  return {
    buffer: Buffer.from(instance.memory, dataBase, size),
    bits: new Int32Array(instance.memory, bitsBase, BIT_WORDS),
    kind: "wasm",
    hasherHome: { memory: instance.wasmMemory, scratch },
    get print() {
      return getPrint();
    },
    set print(value: number) {
      setPrint(value);
    },
    roll: (from, stop, stride) => roll(dataBase + from, dataBase + stop, stride) - dataBase,
  };
}

/**
 * A roller over a buffer of `size` bytes, in a memory of its own: the WebAssembly one where it loads (the
 * default), else the JavaScript one.
 *
 * @example
 * ```ts
 * const roller = createRoller(4 << 20);
 * roller.print = 0;
 * const next = roller.roll(0, filled, 1); // over roller.buffer
 * ```
 */
export function createRoller(size: number, kind: "wasm" | "js" = "wasm"): Roller {
  return (kind === "wasm" ? wasmRoller(size) : null) ?? jsRoller(size);
}
