/**
 * The wire codec of `wharf/browser`: one frame per WebSocket message, in the bytes of docs/protocol.md §1
 * (4-byte big-endian header length, UTF-8 JSON header, body), with Uint8Array, DataView, TextEncoder and
 * TextDecoder only (no Buffer), and the same strictness and limits as src/wire's decoder: a message is decoded
 * exactly as `decodeDatagram` decodes a datagram, with the same codes.
 *
 * @module
 */
import { ErrorCode } from "../errors/codes.js";
import { quote } from "../errors/quote.js";
import { WharfError } from "../errors/wharf-error.js";
import { DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_HEADER_SIZE, LENGTH_PREFIX_SIZE } from "../wire/limits.js";
import type { FrameHeader } from "./types.js";

/** Limits a receiver checks as soon as it reads a length (defaults: the server's, 64 KiB and 16 MiB). */
export interface CodecLimits {
  maxHeaderSize?: number;
  maxBodySize?: number;
}

/** A frame that breaks the protocol; `id` is the request id when the header could be read far enough. */
export class FrameError extends WharfError {
  readonly id: number | null;

  constructor(code: string, message: string, id: number | null = null) {
    super(code, message);
    this.id = id;
  }
}

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is refused, not replaced; ignoreBOM: a BOM stays in the text, so JSON.parse refuses it as
// the Node decoder does (a BOM is not JSON whitespace).
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const EMPTY = new Uint8Array(0);

/** True for a non-negative safe integer: the only valid `size` and `id`. */
export function isWireInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function headerJson(header: FrameHeader, bodyLength: number): string {
  // The body's real length always wins over a `size` left in the header: a frame never announces what it lacks.
  if ((header.size ?? 0) === bodyLength) return JSON.stringify(header);
  return JSON.stringify({ ...header, size: bodyLength });
}

/**
 * Encodes one frame into one Uint8Array (what one WebSocket message carries). `size` is set from the body.
 * Throws a WharfError `E_FRAME_TOO_LARGE` when the header is longer than `maxHeaderSize`.
 *
 * @example
 * ```ts
 * const bytes = encodeFrame({ type: "ping", id: 1 }, new TextEncoder().encode("hi"));
 * // 00 00 00 1f {"type":"ping","id":1,"size":2} h i
 * ```
 */
export function encodeFrame(header: FrameHeader, body: Uint8Array = EMPTY, maxHeaderSize = DEFAULT_MAX_HEADER_SIZE): Uint8Array {
  const json = encoder.encode(headerJson(header, body.byteLength));
  if (json.byteLength > maxHeaderSize) {
    throw new FrameError(ErrorCode.FRAME_TOO_LARGE, `header of ${json.byteLength} bytes exceeds the limit of ${maxHeaderSize} bytes`);
  }
  const out = new Uint8Array(LENGTH_PREFIX_SIZE + json.byteLength + body.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, false);
  out.set(json, LENGTH_PREFIX_SIZE);
  out.set(body, LENGTH_PREFIX_SIZE + json.byteLength);
  return out;
}

/** Parses header bytes as strict UTF-8 JSON that must be an object; `E_BAD_HEADER` otherwise. */
export function parseHeader(bytes: Uint8Array): FrameHeader {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new FrameError(ErrorCode.BAD_HEADER, "header is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FrameError(ErrorCode.BAD_HEADER, `header is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FrameError(ErrorCode.BAD_HEADER, "header must be a JSON object");
  }
  return value as FrameHeader;
}

/** One decoded frame; `body` is a view of the message. */
export interface DecodedFrame {
  header: FrameHeader;
  body: Uint8Array;
}

/**
 * Decodes a message that must hold exactly one whole frame, nothing more and nothing less. Throws a
 * {@link FrameError} with `E_TRUNCATED`, `E_FRAME_TOO_LARGE`, `E_BAD_HEADER` or `E_BAD_SIZE` otherwise, each
 * length checked before what it announces is looked at.
 *
 * @example
 * ```ts
 * const { header, body } = decodeFrame(new Uint8Array(event.data));
 * ```
 */
export function decodeFrame(message: Uint8Array, limits: CodecLimits = {}): DecodedFrame {
  const maxHeaderSize = limits.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  const maxBodySize = limits.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  if (message.byteLength < LENGTH_PREFIX_SIZE) {
    throw new FrameError(ErrorCode.TRUNCATED, `message of ${message.byteLength} bytes has no header length`);
  }
  const headerLength = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(0, false);
  if (headerLength > maxHeaderSize) {
    throw new FrameError(ErrorCode.FRAME_TOO_LARGE, `header length ${headerLength} exceeds the limit of ${maxHeaderSize} bytes`);
  }
  const headerEnd = LENGTH_PREFIX_SIZE + headerLength;
  if (headerEnd > message.byteLength) {
    throw new FrameError(ErrorCode.TRUNCATED, `header length ${headerLength} runs past the message's end`);
  }
  const header = parseHeader(message.subarray(LENGTH_PREFIX_SIZE, headerEnd));
  const id = isWireInteger(header.id) ? header.id : null;
  const size = header.size === undefined ? 0 : header.size;
  if (!isWireInteger(size)) {
    throw new FrameError(ErrorCode.BAD_SIZE, `size must be a non-negative safe integer, got ${quote(size)}`, id);
  }
  if (size > maxBodySize) {
    throw new FrameError(ErrorCode.FRAME_TOO_LARGE, `body size ${size} exceeds the limit of ${maxBodySize} bytes`, id);
  }
  const actual = message.byteLength - headerEnd;
  if (size !== actual) {
    throw new FrameError(ErrorCode.BAD_SIZE, `size ${size} does not match the ${actual} body bytes in the message`, id);
  }
  return { header, body: message.subarray(headerEnd) };
}
