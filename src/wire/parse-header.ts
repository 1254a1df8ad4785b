import { isUtf8 } from "node:buffer";
import { ErrorCode, ProtocolError } from "./errors.js";
import { parseFlatHeader } from "./flat-header.js";
import type { FrameHeader } from "./header.js";

/**
 * Parses header bytes `[start, end)` of `bytes` as strict UTF-8 JSON that must be an object.
 * Throws a ProtocolError with `E_BAD_HEADER` for anything else. The common flat headers take a byte scanner
 * that gives what JSON.parse would (./flat-header.ts); every other header takes JSON.parse.
 */
export function parseHeader(bytes: Buffer, start: number, end: number): FrameHeader {
  const flat = parseFlatHeader(bytes, start, end);
  if (flat !== undefined) return flat as FrameHeader;
  // toString() quietly replaces invalid sequences with U+FFFD; the spec says the header is UTF-8, so a header
  // that is not is refused rather than guessed at. Only a text that shows U+FFFD needs the exact check.
  const text = bytes.toString(undefined, start, end); // no encoding: straight to UTF-8, without a lookup
  if (text.includes("\uFFFD") && !isUtf8(bytes.subarray(start, end))) {
    throw new ProtocolError(ErrorCode.BAD_HEADER, "header is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(ErrorCode.BAD_HEADER, `header is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(ErrorCode.BAD_HEADER, "header must be a JSON object");
  }
  return value as FrameHeader;
}
