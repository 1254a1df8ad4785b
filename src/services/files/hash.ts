import type { Hash } from "node:crypto";
import { createRequire } from "node:module";

/** Loads CommonJS modules (the native hasher) and built-ins on first use, from beside this module. */
const requireHere = createRequire(import.meta.url);

/** The content hashes a transfer can be verified with (issue 15). */
export type HashAlgorithm = "blake3" | "sha256";

/** Every algorithm the protocol knows, fastest first. */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ["blake3", "sha256"];

/** A running hash over a file's bytes: `update` per chunk, `digest` once, as lowercase hex. */
export interface ContentHash {
  readonly algorithm: HashAlgorithm;
  update(chunk: Uint8Array): void;
  digest(): string;
}

interface NativeBlake3 {
  Blake3Hasher: new () => { update(input: Uint8Array): unknown; digest(format: "hex"): string };
  blake3(input: Uint8Array): Buffer;
}

let native: NativeBlake3 | null | undefined;
let onUnavailable: (reason: string) => void = (reason) => {
  process.stderr.write(`wharf: BLAKE3 is not available (${reason}); hashing with sha256\n`);
};

/**
 * Where the one line saying that BLAKE3 could not load goes (default: stderr). A server passes its logger, so the
 * line lands in its log. Takes effect only before the first hash is made.
 */
export function setHashFallbackReporter(report: (reason: string) => void): void {
  onUnavailable = report;
}

/**
 * The native BLAKE3 (`@napi-rs/blake-hash`, a prebuilt binary per platform from the npm registry), loaded once
 * on first use; null where it cannot load (an unsupported platform, a stripped install), reported once.
 */
function loadNative(): NativeBlake3 | null {
  if (native !== undefined) return native;
  try {
    // A native addon is a CommonJS module; loading it lazily keeps `wharf ls` from paying for it.
    native = requireBlake3();
    if (typeof native.Blake3Hasher !== "function") throw new Error("no Blake3Hasher export");
  } catch (err) {
    native = null;
    onUnavailable(err instanceof Error ? err.message.split("\n")[0] : String(err));
  }
  return native;
}

/**
 * On Linux the package's own loader calls `process.report.getReport()` to tell glibc from musl, 6 ms of every
 * put's or get's start-up (issue 15). The glibc binary's package is asked for first, by name; on musl it is not
 * installed or does not link, and the package's loader decides as before.
 */
function requireBlake3(): NativeBlake3 {
  if (process.platform === "linux") {
    try {
      return requireHere(`@napi-rs/blake-hash-linux-${process.arch}-gnu`) as NativeBlake3;
    } catch {
      // musl, another architecture, or a layout where the platform package is not found from here
    }
  }
  return requireHere("@napi-rs/blake-hash") as NativeBlake3;
}

let crypto: typeof import("node:crypto") | undefined;

/**
 * A sha256 hasher. node:crypto is loaded on the first one: loading it costs a command 5-6 ms of CPU at start-up
 * (measured on `wharf put`, issue 15), and a BLAKE3 transfer, the default, never needs it.
 */
function createSha256(): Hash {
  crypto ??= requireHere("node:crypto") as typeof import("node:crypto");
  return crypto.createHash("sha256");
}

/** True when BLAKE3 can be computed in this process. */
export function blake3Available(): boolean {
  return loadNative() !== null;
}

/** Whether this process can compute `algorithm`. */
export function canHash(algorithm: HashAlgorithm): boolean {
  return algorithm === "sha256" || blake3Available();
}

/**
 * The algorithms this process can compute, `preferred` first: what a client offers. BLAKE3 by default; sha256
 * alone where BLAKE3 cannot load.
 *
 * @example
 * ```ts
 * offeredAlgorithms();          // ["blake3", "sha256"]
 * offeredAlgorithms("sha256");  // ["sha256"]: the user asked for sha256 only
 * ```
 */
export function offeredAlgorithms(only?: HashAlgorithm): HashAlgorithm[] {
  if (only !== undefined) return canHash(only) ? [only] : ["sha256"];
  return HASH_ALGORITHMS.filter(canHash);
}

/** The default algorithm of this process: BLAKE3 when it loads, else sha256. */
export function defaultAlgorithm(): HashAlgorithm {
  return canHash("blake3") ? "blake3" : "sha256";
}

/**
 * Picks the algorithm for a transfer from what the peer offers (in its order of preference): `preferred` when
 * offered and computable here, else the first offered one computable here, else sha256 (which every peer can do).
 * A peer that offers nothing is from before issue 15 and speaks sha256.
 */
export function chooseAlgorithm(offered: readonly string[] | undefined, preferred?: HashAlgorithm): HashAlgorithm {
  if (offered === undefined || offered.length === 0) return "sha256";
  const usable = offered.filter((name): name is HashAlgorithm => isHashAlgorithm(name) && canHash(name));
  if (preferred !== undefined && usable.includes(preferred)) return preferred;
  return usable[0] ?? "sha256";
}

export function isHashAlgorithm(name: unknown): name is HashAlgorithm {
  return name === "blake3" || name === "sha256";
}

/**
 * A running hash of `algorithm`. Throws a RangeError for an unknown name; for BLAKE3 where it cannot load, returns
 * sha256 instead (callers read `.algorithm`).
 */
export function createContentHash(algorithm: HashAlgorithm): ContentHash {
  if (algorithm === "blake3") {
    const lib = loadNative();
    if (lib !== null) {
      const hasher = new lib.Blake3Hasher();
      return { algorithm, update: (chunk) => void hasher.update(chunk), digest: () => hasher.digest("hex") };
    }
  } else if (algorithm !== "sha256") {
    throw new RangeError(`unknown hash algorithm ${String(algorithm)}: use blake3 or sha256`);
  }
  const hash = createSha256();
  return { algorithm: "sha256", update: (chunk) => void hash.update(chunk), digest: () => hash.digest("hex") };
}

/** The hash of one buffer (a chunk of a delta transfer), as raw bytes: 32 for both algorithms. */
export function hashBytes(algorithm: HashAlgorithm, data: Uint8Array): Buffer {
  if (algorithm === "blake3") {
    const lib = loadNative();
    if (lib !== null) return lib.blake3(data);
  }
  return createSha256().update(data).digest();
}

/** `"ALG:HEX"`, the form a hash travels in (`--json`, headers). */
export function formatHash(algorithm: HashAlgorithm, hex: string): string {
  return `${algorithm}:${hex}`;
}

/** Splits `"ALG:HEX"`; a bare 64-digit hex string is a sha256 (the form before issue 15). Null if malformed. */
export function parseHash(text: unknown): { algorithm: HashAlgorithm; hex: string } | null {
  if (typeof text !== "string") return null;
  const colon = text.indexOf(":");
  const algorithm = colon < 0 ? "sha256" : text.slice(0, colon);
  const hex = colon < 0 ? text : text.slice(colon + 1);
  if (!isHashAlgorithm(algorithm) || !/^[0-9a-f]{64}$/.test(hex)) return null;
  return { algorithm, hex };
}

/**
 * How a reply names a hash: `hash` as `"ALG:HEX"`, and for sha256 also `sha256` as before issue 15, so that
 * older clients keep working.
 */
export function hashFields(algorithm: HashAlgorithm, hex: string): { hash: string; sha256?: string } {
  return algorithm === "sha256" ? { hash: formatHash(algorithm, hex), sha256: hex } : { hash: formatHash(algorithm, hex) };
}
