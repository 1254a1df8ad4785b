/**
 * The fast path of header parsing: a byte scanner for the headers nearly every frame carries, a flat JSON object
 * written without whitespace whose values are ASCII strings without escapes, small non-negative integers, `true`,
 * `false` or `null` (`{"type":"ping","id":7,"size":64}`, `{"id":7,"ok":true}`). Anything else (whitespace, an
 * escape, a non-ASCII byte, a nested value, a fraction, an exponent, a sign, more than 15 digits, a `__proto__`
 * key) is left to `JSON.parse`: the scanner answers `undefined` and never decides what is valid JSON.
 *
 * Why by hand: on the pipelined 64-byte ping load, decoding the header to a string and `JSON.parse` were a third
 * of the request path's JavaScript time (about 450 ns a header); this scanner takes about 110 ns, mostly because
 * keys and short values come from a cache of strings already made instead of being sliced and interned again.
 * What it returns is exactly what `JSON.parse` returns for the same bytes (a property test holds it to that).
 *
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;
/** More digits could pass 2^53 and lose precision; JSON.parse decides those. */
const MAX_DIGITS = 15;
/** Strings up to this length are looked up in (and added to) the cache; longer ones are sliced. */
const CACHED_LENGTH = 32;
/**
 * Recently seen keys and short values, by a hash of their bytes: direct-mapped, so it never grows. A collision
 * replaces the slot; a hit is compared byte by byte, so the cache can only ever return an equal string.
 */
const SLOTS = 1024;
const cache: string[] = new Array<string>(SLOTS).fill("");

/** The string of ASCII bytes `[start, end)`, from the cache when it holds it. `hash` is their hash. */
function asciiString(bytes: Buffer, start: number, end: number, hash: number): string {
  const length = end - start;
  if (length > CACHED_LENGTH) return bytes.toString("latin1", start, end);
  const slot = hash & (SLOTS - 1);
  const known = cache[slot];
  if (known.length === length) {
    let same = true;
    for (let k = 0; k < length; k += 1) {
      if (known.charCodeAt(k) !== bytes[start + k]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  const made = bytes.toString("latin1", start, end);
  cache[slot] = made;
  return made;
}

/** True when `bytes[at, at + word.length)` spell `word` (ASCII) and lie before `end`. */
function spells(bytes: Buffer, at: number, end: number, word: string): boolean {
  if (at + word.length > end) return false;
  for (let k = 0; k < word.length; k += 1) if (bytes[at + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** Where the scan of a string or value stopped; shared, since a scan never nests. */
let position = 0;
let hashed = 0;

/**
 * Scans the string whose opening quote is at `at`: sets `position` to its closing quote and `hashed` to its
 * hash. False when it holds a byte the fast path leaves to JSON.parse (escape, control, non-ASCII) or never ends.
 */
function scanString(bytes: Buffer, at: number, end: number): boolean {
  let hash = 0;
  for (let i = at + 1; i < end; i += 1) {
    const b = bytes[i];
    if (b === QUOTE) {
      position = i;
      hashed = hash;
      return true;
    }
    if (b < 0x20 || b === BACKSLASH || b >= 0x80) return false;
    hash = (Math.imul(hash, 31) + b) | 0;
  }
  return false;
}

/**
 * Parses `bytes[start, end)` when it is a flat header of the simple shape described above; `undefined` when it
 * is anything else (valid or not), for the caller to hand to JSON.parse.
 *
 * @example
 * ```ts
 * parseFlatHeader(Buffer.from('{"type":"ping","id":1}'), 0, 22); // { type: "ping", id: 1 }
 * parseFlatHeader(Buffer.from('{"type": "ping"}'), 0, 16);       // undefined: whitespace
 * ```
 */
export function parseFlatHeader(bytes: Buffer, start: number, end: number): Record<string, unknown> | undefined {
  if (end - start < 2 || bytes[start] !== OPEN || bytes[end - 1] !== CLOSE) return undefined;
  let i = start + 1;
  if (i === end - 1) return {};
  let n = 0;
  for (;;) {
    if (bytes[i] !== QUOTE || !scanString(bytes, i, end)) return undefined;
    const key = asciiString(bytes, i + 1, position, hashed);
    // JSON.parse makes "__proto__" an own property; an assignment would set the prototype instead.
    if (key === "__proto__") return undefined;
    i = position + 1;
    if (bytes[i] !== COLON) return undefined;
    i += 1;
    const first = bytes[i];
    let value: unknown;
    if (first === QUOTE) {
      if (!scanString(bytes, i, end)) return undefined;
      value = asciiString(bytes, i + 1, position, hashed);
      i = position + 1;
    } else if (first >= ZERO && first <= NINE) {
      const digitsStart = i;
      let n = 0;
      for (;;) {
        const b = bytes[i];
        if (b < ZERO || b > NINE) break;
        n = n * 10 + (b - ZERO);
        i += 1;
      }
      const digits = i - digitsStart;
      if (digits > MAX_DIGITS || (first === ZERO && digits > 1)) return undefined;
      value = n;
    } else if (spells(bytes, i, end, "true")) {
      value = true;
      i += 4;
    } else if (spells(bytes, i, end, "false")) {
      value = false;
      i += 5;
    } else if (spells(bytes, i, end, "null")) {
      value = null;
      i += 4;
    } else {
      return undefined;
    }
    keys[n] = key;
    values[n] = value;
    n += 1;
    const next = bytes[i];
    if (next === COMMA) {
      i += 1;
      continue;
    }
    return next === CLOSE && i === end - 1 ? build(n) : undefined;
  }
}

/** The keys and values of the header being scanned; shared, since a scan never nests. */
const keys: string[] = [];
const values: unknown[] = [];

/**
 * The object of the `n` keys and values scanned. The commonest shapes (a request, an ok reply) are built as
 * literals, each with one fixed hidden class: storing keys one by one into an empty object (a megamorphic keyed
 * store, since every header's keys differ in order and number) was 2% of a ping-pong server's CPU.
 */
function build(n: number): Record<string, unknown> {
  const k0 = keys[0];
  if (n === 3 && k0 === "type" && keys[1] === "id" && keys[2] === "size") return { type: values[0], id: values[1], size: values[2] };
  if (n === 2 && k0 === "type" && keys[1] === "id") return { type: values[0], id: values[1] };
  if (n === 3 && k0 === "id" && keys[1] === "ok" && keys[2] === "size") return { id: values[0], ok: values[1], size: values[2] };
  if (n === 2 && k0 === "id" && keys[1] === "ok") return { id: values[0], ok: values[1] };
  const header: Record<string, unknown> = {};
  for (let i = 0; i < n; i += 1) header[keys[i]] = values[i];
  return header;
}
