/**
 * How RPC values with binary data travel: each Buffer (or other Uint8Array) of a value is taken out and replaced
 * by a placeholder `{"$bin": i}`; the frame's body is the parts laid end to end, and the header's `parts` lists
 * their sizes. Values without binary data are sent as they are, with no body and no `parts`.
 */
import { WharfError, quote } from "../../wire/index.js";
import { RpcErrorCode } from "./errors.js";

/** Deepest nesting of a value that is searched for binary data: deeper (or cyclic) values are refused. */
export const MAX_DEPTH = 64;

/** A value ready for a frame: JSON for the header, and the binary parts for the body (null when none). */
export interface Packed {
  json: unknown;
  parts: Uint8Array[] | null;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasBinary(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth > MAX_DEPTH) throw new TypeError(`an RPC value may nest at most ${MAX_DEPTH} levels (or it is cyclic)`);
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (hasBinary(item, depth + 1)) return true;
    return false;
  }
  if (!isPlainObject(value)) return false;
  if (Object.hasOwn(value, "$bin")) throw new TypeError('"$bin" is reserved in RPC values (it marks binary data)');
  for (const key in value) if (hasBinary(value[key], depth + 1)) return true;
  return false;
}

function extract(value: unknown, parts: Uint8Array[]): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Uint8Array) return { $bin: parts.push(value) - 1 };
  if (Array.isArray(value)) return value.map((item) => extract(item, parts));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = extract(value[key], parts);
  return out;
}

/**
 * Takes the binary data out of a value. Throws a TypeError for values nested deeper than {@link MAX_DEPTH} (or
 * cyclic) and for objects with a `$bin` key, which is reserved.
 *
 * @example
 * ```ts
 * pack({ name: "a.png", data: Buffer.from([1, 2]) });
 * // { json: { name: "a.png", data: { $bin: 0 } }, parts: [<Buffer 01 02>] }
 * ```
 */
export function pack(value: unknown): Packed {
  if (!hasBinary(value, 0)) return { json: value, parts: null };
  const parts: Uint8Array[] = [];
  return { json: extract(value, parts), parts };
}

/** The header fields and body that carry a packed value under `field` (e.g. "params", "result"). */
export function toFrame(field: string, value: unknown): { fields: Record<string, unknown>; body: Buffer | undefined } {
  const { json, parts } = pack(value);
  const fields: Record<string, unknown> = {};
  if (json !== undefined) fields[field] = json;
  if (parts === null) return { fields, body: undefined };
  fields.parts = parts.map((part) => part.byteLength);
  return { fields, body: Buffer.concat(parts) };
}

/**
 * A value that came without binary parts holds no placeholder and nests at most MAX_DEPTH levels, as one with
 * parts must: else it could not be sent back (pack refuses both), and a method that echoes it would fail instead
 * of the caller being told.
 */
function assertPlain(value: unknown, depth: number): void {
  if (typeof value !== "object" || value === null) return;
  if (depth > MAX_DEPTH) throw new WharfError(RpcErrorCode.INVALID_PARAMS, `RPC values may nest at most ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (const item of value) assertPlain(item, depth + 1);
    return;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, "$bin")) throw new WharfError(RpcErrorCode.INVALID_PARAMS, `"$bin": ${quote(record.$bin)} names no binary part (the frame has no parts)`);
  for (const key in record) assertPlain(record[key], depth + 1);
}

function restore(value: unknown, parts: Buffer[], depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) throw new WharfError(RpcErrorCode.INVALID_PARAMS, `RPC values may nest at most ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((item) => restore(item, parts, depth + 1));
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, "$bin")) {
    const index = record.$bin;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= parts.length) {
      throw new WharfError(RpcErrorCode.INVALID_PARAMS, `"$bin": ${quote(index)} names no binary part`);
    }
    return parts[index];
  }
  const out: Record<string, unknown> = {};
  for (const key in record) out[key] = restore(record[key], parts, depth + 1);
  return out;
}

/**
 * Puts binary data back into a value read from a frame: `parts` (the sizes from the header) split `body`, and
 * each `{"$bin": i}` becomes part i as a Buffer. Without `parts` the value is returned as it is, once
 * checked. Throws `E_INVALID_PARAMS` when the sizes do not add up to the body, a placeholder names no part, or
 * the value nests deeper than {@link MAX_DEPTH}.
 */
export function unpack(json: unknown, partSizes: unknown, body: Buffer): unknown {
  if (partSizes === undefined) {
    assertPlain(json, 0);
    return json;
  }
  if (!Array.isArray(partSizes) || !partSizes.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new WharfError(RpcErrorCode.INVALID_PARAMS, "parts must be an array of byte counts");
  }
  const total = partSizes.reduce((sum: number, n: number) => sum + n, 0);
  if (total !== body.length) throw new WharfError(RpcErrorCode.INVALID_PARAMS, `parts add up to ${total} bytes, but the body has ${body.length}`);
  const parts: Buffer[] = [];
  let offset = 0;
  for (const size of partSizes as number[]) {
    parts.push(body.subarray(offset, offset + size));
    offset += size;
  }
  return restore(json, parts, 0);
}
