import { readFileSync } from "node:fs";
import { GEAR } from "./chunker-gear.js";

/**
 * A buffer to read into and the cut rule over it: what a chunking pass needs, from WebAssembly or JavaScript.
 * `cut(start, end)` is cutPoint(buffer, start, end).
 */
export interface CutScanner {
  readonly buffer: Buffer;
  readonly kind: "wasm" | "js";
  cut(start: number, end: number): number;
}

// The Node build leaves out the DOM lib, which types WebAssembly: the three things used here, typed by hand.
interface WasmModule {
  readonly kind: "wasm-module";
}
/** A WebAssembly.Memory, as far as this folder uses one. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The gear table at the start of every module's memory: 256 little-endian i32. */
export const GEAR_BYTES = 1024;
/** Where the data lies in a scanner's memory: above the gear table. */
const DATA_BASE = GEAR_BYTES;
const PAGE = 64 * 1024;

const compiled = new Map<string, WasmModule | null>();
let onUnavailable: (reason: string) => void = (reason) => {
  process.stderr.write(`wharf: the WebAssembly chunker is not available (${reason}); chunking in JavaScript\n`);
};

/**
 * Where the one line saying that the WebAssembly chunker (or the block search's roller, built beside it) could
 * not load goes (default: stderr). A server passes its logger. Takes effect only before the first pass.
 */
export function setChunkerFallbackReporter(report: (reason: string) => void): void {
  onUnavailable = report;
}

/** The modules of this folder's wasm/. */
type WasmModuleName = "chunker" | "roller" | "xxh128";

/**
 * A module of this folder's wasm/ (`chunker`, `roller`, `xxh128`), assembled from its `.wat` at build time
 * (scripts/build-wasm.mjs) and compiled once on first use; null, reported once, where it is missing or does not
 * compile.
 */
function loadModule(name: WasmModuleName = "chunker"): WasmModule | null {
  const known = compiled.get(name);
  if (known !== undefined) return known;
  let module: WasmModule | null = null;
  try {
    module = new wasm.Module(readFileSync(new URL(`./wasm/${name}.wasm`, import.meta.url)));
  } catch (err) {
    if (![...compiled.values()].includes(null)) onUnavailable(err instanceof Error ? err.message.split("\n")[0] : String(err));
  }
  compiled.set(name, module);
  return module;
}

/**
 * An instance of module `name` over a memory of its own, `bytes` long at least, whose first 1 KiB holds GEAR (the
 * layout both modules share); null where the module cannot load.
 */
export function instantiateWithGear(name: "chunker" | "roller", bytes: number): { memory: ArrayBuffer; wasmMemory: WasmMemory; exports: Record<string, unknown> } | null {
  const memory = wasmMemoryOf(bytes);
  const exports = instantiateOver(name, memory);
  if (exports === null) return null;
  const table = new DataView(memory.buffer, 0, GEAR_BYTES);
  GEAR.forEach((value, i) => table.setInt32(i * 4, value, true));
  return { memory: memory.buffer, wasmMemory: memory, exports };
}

/**
 * An instance of module `name` over a memory made elsewhere (another module's, so that both work on the same
 * bytes), with `imports` beside it under `env`; null where the module cannot load.
 */
export function instantiateOver(name: WasmModuleName, memory: WasmMemory, imports: Record<string, unknown> = {}): Record<string, unknown> | null {
  const module = loadModule(name);
  if (module === null) return null;
  return new wasm.Instance(module, { env: { ...imports, memory } }).exports;
}

/** A memory of its own of at least `bytes` bytes, for {@link instantiateOver}. */
export function wasmMemoryOf(bytes: number): WasmMemory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  return new wasm.Memory({ initial: pages, maximum: pages });
}

/** True when the WebAssembly chunker loads in this process. */
export function wasmChunkerAvailable(): boolean {
  return loadModule() !== null;
}

/**
 * A WebAssembly scanner over a buffer of `size` bytes, in a memory of its own (so passes may run side by side);
 * null where the module cannot load. The buffer is a view of that memory: reads go straight into it, no copy.
 *
 * @example
 * ```ts
 * const scanner = wasmScanner(4 << 20);
 * if (scanner !== null) scanner.cut(0, filled); // the first chunk's end in scanner.buffer
 * ```
 */
export function wasmScanner(size: number): CutScanner | null {
  const instance = instantiateWithGear("chunker", DATA_BASE + size);
  if (instance === null) return null;
  const cut = instance.exports.cut as (start: number, end: number) => number;
  return {
    buffer: Buffer.from(instance.memory, DATA_BASE, size),
    kind: "wasm",
    cut: (start, end) => cut(DATA_BASE + start, DATA_BASE + end) - DATA_BASE,
  };
}
