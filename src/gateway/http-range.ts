/**
 * The conditional and range parts of HTTP (RFC 9110 §13 and §14) that a download needs: `Range` with one range,
 * `If-Range` and `If-None-Match` against a strong ETag. Pure functions of header values, so they are tested
 * without sockets.
 */

/** Bytes `start` to `end` inclusive of a representation. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What to answer for a `Range` header over a representation of `size` bytes:
 * `full` (no range, an invalid one, several ranges, or a unit other than bytes: answer 200 with everything),
 * `partial` (206 with that range) or `unsatisfiable` (416).
 */
export type RangeAnswer = { kind: "full" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable" };

const SINGLE_RANGE = /^bytes=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

/**
 * Reads a `Range` header. One range `bytes=a-b`, `bytes=a-` or `bytes=-n` is honoured (an end past the last byte
 * is cut to it); a syntactically invalid header is ignored, as RFC 9110 §14.2 allows; several ranges get the whole
 * representation (allowed too, and simpler for clients than multipart/byteranges).
 *
 * @example
 * ```ts
 * parseRange("bytes=0-99", 1000);  // { kind: "partial", range: { start: 0, end: 99 } }
 * parseRange("bytes=-100", 1000);  // { kind: "partial", range: { start: 900, end: 999 } }
 * parseRange("bytes=2000-", 1000); // { kind: "unsatisfiable" }
 * ```
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: "full" };
  if (header.includes(",")) return { kind: "full" };
  const match = SINGLE_RANGE.exec(header);
  if (match === null) return { kind: "full" };
  const [, first, last] = match;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // A suffix: the last n bytes. "-0" asks for nothing, which no representation can satisfy.
    const length = Number(last);
    if (!Number.isSafeInteger(length)) return { kind: "full" };
    if (length === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { kind: "full" };
  if (last !== "" && end < start) return { kind: "full" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", range: { start, end: Math.min(end, size - 1) } };
}

/** The entity tags of an `If-None-Match` or `If-Range` list, weak prefixes dropped; `*` stays `*`. */
function entityTags(header: string): string[] {
  const tags: string[] = [];
  for (const match of header.matchAll(/(\*)|(?:W\/)?("[^"]*")/g)) tags.push(match[1] ?? match[2]);
  return tags;
}

/**
 * True when `If-None-Match` names the current ETag (weak comparison, RFC 9110 §13.1.2) or is `*`: a GET or HEAD
 * then answers 304 without a body.
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return entityTags(header).some((tag) => tag === "*" || tag === etag);
}

/**
 * True when a `Range` may be honoured under `If-Range`: there is no `If-Range`, or it is exactly the current strong
 * ETag. A date, a weak tag or another tag means the client's copy may differ: send everything (RFC 9110 §13.1.5).
 */
export function rangeStillValid(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  return header.trim() === etag;
}

/**
 * `Content-Disposition: attachment` for a file name: an ASCII `filename` fallback (anything else becomes `_`) and
 * the exact name as `filename*` in UTF-8 (RFC 6266, RFC 8187).
 *
 * @example
 * ```ts
 * attachment("résumé.pdf"); // attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf
 * ```
 */
export function attachment(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_") || "download";
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
