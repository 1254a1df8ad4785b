import { ErrorCode, LENGTH_PREFIX_SIZE, ProtocolError } from "../wire/index.js";

/** `"size":` backwards, as bytes, and the two bytes that may come before it. */
const SIZE_KEY = Buffer.from('"size":', "latin1");
const OPEN_BRACE = 0x7b;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

/**
 * The `size` of a header that ends with it (`...,"size":123}` or `{"size":123}`, the shape wharf's encoders
 * write), read from the bytes without decoding or parsing; undefined when the header does not end so. A `size`
 * nested in an object or array would end in two closing brackets, and a string cannot end the header.
 */
function trailingSize(bytes: Uint8Array): number | undefined {
  let i = bytes.byteLength - 1;
  if (i < 0 || bytes[i] !== CLOSE_BRACE) return undefined;
  let size = 0;
  let scale = 1;
  let digits = 0;
  for (i -= 1; i >= 0 && bytes[i] >= 0x30 && bytes[i] <= 0x39; i -= 1) {
    size += (bytes[i] - 0x30) * scale;
    scale *= 10;
    digits += 1;
  }
  if (digits === 0 || digits > 16 || (digits > 1 && bytes[i + 1] === 0x30)) return undefined;
  for (let k = SIZE_KEY.length - 1; k >= 0; k -= 1, i -= 1) {
    if (i < 0 || bytes[i] !== SIZE_KEY[k]) return undefined;
  }
  if (i < 0 || (bytes[i] !== COMMA && bytes[i] !== OPEN_BRACE)) return undefined;
  return Number.isSafeInteger(size) ? size : undefined;
}

/**
 * The body size a frame header declares, or `undefined` when the header is not JSON or its `size` is not a
 * non-negative safe integer (the frame decoder then rejects the frame with the same error as on TCP). A header
 * that ends with its `size` (what wharf's encoders write) is read without parsing the JSON.
 */
export function declaredBodySize(headerBytes: Uint8Array, parse = false): number | undefined {
  const trailing = parse ? undefined : trailingSize(headerBytes);
  if (trailing !== undefined) return trailing;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return undefined;
  const size = (header as { size?: unknown }).size;
  if (size === undefined) return 0;
  return typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/** The `id` of a header, when it can be read: error frames about a message name the request they refuse. */
function headerId(headerBytes: Uint8Array): number | null {
  try {
    const header = JSON.parse(Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString("utf8")) as { id?: unknown };
    return typeof header.id === "number" && Number.isSafeInteger(header.id) && header.id >= 0 ? header.id : null;
  } catch {
    return null;
  }
}

/**
 * Checks that one WebSocket message carries exactly one frame. Returns the error to close the connection with,
 * or `null` when the message may go to the frame decoder, which then applies every check TCP applies (header
 * JSON, `type`, `id`, `size`, limits). Only what the decoder cannot see is checked here: where the message ends
 * relative to the frame it starts.
 */
export function checkOneFrame(message: Uint8Array, maxHeaderSize: number): ProtocolError | null {
  if (message.byteLength < LENGTH_PREFIX_SIZE) {
    return new ProtocolError(ErrorCode.TRUNCATED, `a message of ${message.byteLength} bytes is shorter than a frame's 4-byte header length`);
  }
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const headerLength = view.getUint32(0);
  if (headerLength > maxHeaderSize) return null; // the decoder answers E_FRAME_TOO_LARGE, as on TCP
  const available = message.byteLength - LENGTH_PREFIX_SIZE;
  if (headerLength > available) {
    return new ProtocolError(ErrorCode.TRUNCATED, `the message ends ${available} bytes into a header of ${headerLength}; each message carries exactly one whole frame`);
  }
  const headerBytes = message.subarray(LENGTH_PREFIX_SIZE, LENGTH_PREFIX_SIZE + headerLength);
  const bodyBytes = available - headerLength;
  let size = declaredBodySize(headerBytes);
  // A message that disagrees with its header's tail gets the header parsed whole: if it is not JSON at all, the
  // decoder's E_BAD_HEADER is the answer, as on TCP, not a size complaint.
  if (size !== undefined && size !== bodyBytes) size = declaredBodySize(headerBytes, true);
  if (size === undefined) return null; // the decoder names what is wrong with the header
  if (bodyBytes < size) {
    return new ProtocolError(ErrorCode.TRUNCATED, `the message ends ${bodyBytes} bytes into a body of ${size}; each message carries exactly one whole frame`, headerId(headerBytes));
  }
  if (bodyBytes > size) {
    return new ProtocolError(ErrorCode.BAD_SIZE, `the message carries ${bodyBytes - size} bytes after its frame; each message carries exactly one frame`, headerId(headerBytes));
  }
  return null;
}
