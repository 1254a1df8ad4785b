/**
 * How values travel in the broker's frames. JSON in the header when the value survives JSON unchanged (plain
 * numbers, strings, booleans, null, plain arrays and objects of them, small), the v8 structured clone in the
 * body otherwise (Map, Set, Date, typed arrays, undefined inside, NaN, cycles, large values). Measured on the
 * 2-core CI machine: `v8.serialize([1, 2])` costs about 11 us, `JSON.stringify` 0.1 us, and a broker round trip
 * carries two or three such values, so the common small case must not pay the structured clone.
 */
import { deserialize, serialize } from "node:v8";
import type { FrameHeader } from "../wire/index.js";

/** Above this many characters of JSON a value goes in the body, which keeps headers far below their limit. */
const MAX_INLINE_JSON = 4096;
const MAX_DEPTH = 4;

function jsonSafe(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!jsonSafe(value[i], depth + 1)) return false;
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      for (const key in value) if (!jsonSafe((value as Record<string, unknown>)[key], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * Puts `value` in `header[field]` as JSON if it can, else returns its structured clone for the body. A value of
 * `undefined` costs nothing (no field, no body).
 */
export function encodeValue(header: FrameHeader, field: string, value: unknown): Buffer | undefined {
  if (value === undefined) return undefined;
  if (jsonSafe(value, 0)) {
    // Cheap length bound: only strings and big arrays can make it long; check them after stringifying.
    if (typeof value !== "object" || value === null || JSON.stringify(value).length <= MAX_INLINE_JSON) {
      header[field] = value;
      return undefined;
    }
  }
  return serialize(value);
}

/** Encodes an argument array, trailing `undefined`s dropped (the ops read them back as undefined). */
export function encodeArgs(header: FrameHeader, args: unknown[]): Buffer | undefined {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  if (n === 0) return undefined;
  return encodeValue(header, "a", n === args.length ? args : args.slice(0, n));
}

/** The value carried by `header[field]` or the body, as {@link encodeValue} put it. */
export function decodeValue(header: FrameHeader, field: string, body: Buffer): unknown {
  if (body.length > 0) return deserialize(body);
  return header[field];
}

/** The argument array of a request. */
export function decodeArgs(header: FrameHeader, body: Buffer): unknown[] {
  return (decodeValue(header, "a", body) as unknown[] | undefined) ?? [];
}
