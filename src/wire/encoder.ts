import { ErrorCode, WharfError } from "./errors.js";
import type { FrameHeader } from "./header.js";
import { DEFAULT_MAX_HEADER_SIZE, LENGTH_PREFIX_SIZE } from "./limits.js";

/** Bodies up to this size are copied into the header's buffer: one write beats two for small frames. */
export const INLINE_BODY_LIMIT = 16 * 1024;
const EMPTY = Buffer.alloc(0);

function headerJson(header: FrameHeader, bodyLength: number): string {
  // The body's real length always wins over whatever `size` the caller left in the header, so a frame can never
  // announce a size it does not carry.
  const declared = header.size ?? 0;
  if (declared === bodyLength) return JSON.stringify(header);
  if (header.size !== undefined) return JSON.stringify({ ...header, size: bodyLength });
  // Appending the field to the text is several times cheaper than copying the object to add it.
  const json = JSON.stringify(header);
  return `${json.slice(0, -1)}${json.length > 2 ? "," : ""}"size":${bodyLength}}`;
}

const OK_PREFIX = bytesOf('{"id":');
const OK_MIDDLE = bytesOf(',"ok":true');
const SIZE_FIELD = bytesOf(',"size":');
const CLOSE_BRACE = 0x7d;

function bytesOf(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * Copies a few constant bytes to `pos`; returns the position after them. For the handful of bytes of a reply
 * header a plain loop beats `Buffer.set`, whose fixed cost per call was most of the encoder's time.
 */
function writeConstant(out: Buffer, pos: number, bytes: number[]): number {
  for (let i = 0; i < bytes.length; i += 1) out[pos + i] = bytes[i];
  return pos + bytes.length;
}

/** Decimal digits of a non-negative safe integer. */
function digitCount(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1_000) return 3;
  if (n < 10_000) return 4;
  if (n < 100_000) return 5;
  if (n < 1_000_000) return 6;
  if (n < 10_000_000) return 7;
  if (n < 100_000_000) return 8;
  if (n < 1_000_000_000) return 9;
  let count = 10;
  for (n = Math.floor(n / 1e10); n > 0; n = Math.floor(n / 10)) count += 1;
  return count;
}

/** Writes the `count` decimal digits of `n` at `pos`; returns the position after them. */
function writeDigits(out: Buffer, pos: number, n: number, count: number): number {
  let i = pos + count - 1;
  // Above 2^31 - 1 the integer operations below would wrap: take the high digits by float division first.
  for (; n > 0x7fffffff; i -= 1) {
    const next = Math.floor(n / 10);
    out[i] = 0x30 + (n - next * 10);
    n = next;
  }
  for (; i >= pos; i -= 1) {
    const next = (n / 10) | 0;
    out[i] = 0x30 + (n - next * 10);
    n = next;
  }
  return pos + count;
}

/** Header bytes of `{"id":N,"ok":true,"size":S}` (no size field when the body is empty). */
function okHeaderLength(idDigits: number, size: number, sizeDigits: number): number {
  return OK_PREFIX.length + idDigits + OK_MIDDLE.length + (size === 0 ? 0 : SIZE_FIELD.length + sizeDigits) + 1;
}

/** Writes the length prefix and header of an ok reply at `pos`; returns the position after them. */
function writeOkHead(out: Buffer, pos: number, id: number, idDigits: number, size: number, sizeDigits: number): number {
  const headerLength = okHeaderLength(idDigits, size, sizeDigits);
  // The header of this reply is far below 2^24 bytes: the length prefix is 0, 0, then two bytes.
  out[pos] = 0;
  out[pos + 1] = 0;
  out[pos + 2] = headerLength >>> 8;
  out[pos + 3] = headerLength & 0xff;
  pos = writeConstant(out, pos + LENGTH_PREFIX_SIZE, OK_PREFIX);
  pos = writeDigits(out, pos, id, idDigits);
  pos = writeConstant(out, pos, OK_MIDDLE);
  if (size > 0) {
    pos = writeConstant(out, pos, SIZE_FIELD);
    pos = writeDigits(out, pos, size, sizeDigits);
  }
  out[pos] = CLOSE_BRACE;
  return pos + 1;
}

/** The bytes of the whole frame {@link writeOkReply} writes for `id` and a body of `size` bytes. */
export function okReplyLength(id: number, size: number): number {
  return LENGTH_PREFIX_SIZE + okHeaderLength(digitCount(id), size, size === 0 ? 0 : digitCount(size)) + size;
}

/**
 * Writes the whole frame of a successful reply with no fields but its body, `{"id":N,"ok":true,"size":S}` and
 * the body, into `out` at `pos`; returns the position after it. `out` must have {@link okReplyLength} bytes
 * there. `id` must be a non-negative safe integer (the caller has validated it).
 */
export function writeOkReply(out: Buffer, pos: number, id: number, body: Uint8Array): number {
  const size = body.byteLength;
  pos = writeOkHead(out, pos, id, digitCount(id), size, size === 0 ? 0 : digitCount(size));
  if (size > 0) out.set(body, pos);
  return pos + size;
}

/**
 * Encodes the commonest frame, a successful reply with no fields but its body: `{"id":N,"ok":true,"size":S}`.
 * Written byte by byte, without JSON.stringify or a string: the reply of every small request goes through here.
 * `id` must be a non-negative safe integer (the caller has validated it).
 */
export function encodeOkReplyParts(id: number, body: Uint8Array = EMPTY): Buffer[] {
  const size = body.byteLength;
  if (size <= INLINE_BODY_LIMIT) {
    const frame = Buffer.allocUnsafe(okReplyLength(id, size));
    writeOkReply(frame, 0, id, body);
    return [frame];
  }
  const idDigits = digitCount(id);
  const sizeDigits = digitCount(size);
  const head = Buffer.allocUnsafe(LENGTH_PREFIX_SIZE + okHeaderLength(idDigits, size, sizeDigits));
  writeOkHead(head, 0, id, idDigits, size, sizeDigits);
  return [head, Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

/**
 * Encodes a frame as a list of buffers to be written in order: the length prefix and header, then (for a large
 * body) the body itself, uncopied. `size` is set from the body.
 *
 * Throws a WharfError with `E_FRAME_TOO_LARGE` when the header is longer than `maxHeaderSize`.
 *
 * @example
 * ```ts
 * socket.cork();
 * for (const part of encodeFrameParts({ type: "put", id: 7 }, bigBody)) socket.write(part);
 * socket.uncork();
 * ```
 */
export function encodeFrameParts(
  header: FrameHeader,
  body: Uint8Array = EMPTY,
  maxHeaderSize: number = DEFAULT_MAX_HEADER_SIZE,
): Buffer[] {
  const json = headerJson(header, body.byteLength);
  const headerLength = Buffer.byteLength(json);
  if (headerLength > maxHeaderSize) {
    throw new WharfError(
      ErrorCode.FRAME_TOO_LARGE,
      `header of ${headerLength} bytes exceeds the limit of ${maxHeaderSize} bytes`,
    );
  }
  const inline = body.byteLength <= INLINE_BODY_LIMIT;
  const head = Buffer.allocUnsafe(LENGTH_PREFIX_SIZE + headerLength + (inline ? body.byteLength : 0));
  head.writeUInt32BE(headerLength, 0);
  head.write(json, LENGTH_PREFIX_SIZE, "utf8");
  if (inline) {
    head.set(body, LENGTH_PREFIX_SIZE + headerLength);
    return [head];
  }
  return [head, Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

/**
 * Encodes a whole frame into one Buffer: 4-byte big-endian header length, UTF-8 JSON header, body.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "wharf/wire";
 * const frame = encodeFrame({ type: "ping", id: 1 }, Buffer.from("hi"));
 * // <00 00 00 1f 7b 22 74 79 70 65 22 ... 7d 68 69>  (31-byte header {"type":"ping","id":1,"size":2}, body "hi")
 * ```
 */
export function encodeFrame(header: FrameHeader, body?: Uint8Array, maxHeaderSize?: number): Buffer {
  const parts = encodeFrameParts(header, body, maxHeaderSize);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * Encodes only the length prefix and header of a frame whose `size` bytes of body the caller writes next
 * (a streamed body). `header.size` must already be set.
 */
export function encodeFrameHead(header: FrameHeader, maxHeaderSize: number = DEFAULT_MAX_HEADER_SIZE): Buffer {
  const json = JSON.stringify(header);
  const headerLength = Buffer.byteLength(json);
  if (headerLength > maxHeaderSize) {
    throw new WharfError(
      ErrorCode.FRAME_TOO_LARGE,
      `header of ${headerLength} bytes exceeds the limit of ${maxHeaderSize} bytes`,
    );
  }
  const head = Buffer.allocUnsafe(LENGTH_PREFIX_SIZE + headerLength);
  head.writeUInt32BE(headerLength, 0);
  head.write(json, LENGTH_PREFIX_SIZE, "utf8");
  return head;
}

/**
 * Encodes an event frame (one that answers no request): `{ ...fields, event }` and its body. Encode once and hand
 * the same parts to every receiver of a fan-out (ConnectionChannel.sendFrame), instead of once per receiver.
 */
export function encodeEvent(event: string, fields: Record<string, unknown> = {}, body?: Uint8Array, maxHeaderSize?: number): Buffer[] {
  return encodeFrameParts({ ...fields, event }, body, maxHeaderSize);
}
