import { ErrorCode, LENGTH_PREFIX_SIZE, ProtocolError } from "../wire/index.js";

/** `,"size":123}` or `{"size":123}` closing a header: the shape every wharf encoder writes `size` in. */
const SIZE_TAIL = /[{,]"size":(\d{1,16})}$/;

/**
 * The body size a frame header declares, or `undefined` when the header is not JSON or its `size` is not a
 * non-negative safe integer (the frame decoder then rejects the frame with the same error as on TCP). A header
 * that ends with its `size` (what wharf's encoders write) is read without parsing the JSON: a `size` nested in an
 * object or array would end in two closing brackets, and a string cannot end the header.
 */
export function declaredBodySize(headerBytes: Uint8Array): number | undefined {
  const tail = Buffer.from(headerBytes.buffer, headerBytes.byteOffset + Math.max(0, headerBytes.byteLength - 28), Math.min(28, headerBytes.byteLength)).toString("latin1");
  const match = SIZE_TAIL.exec(tail);
  if (match !== null) {
    const size = Number(match[1]);
    return Number.isSafeInteger(size) ? size : undefined;
  }
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
  const size = declaredBodySize(headerBytes);
  if (size === undefined) return null; // the decoder names what is wrong with the header
  const bodyBytes = available - headerLength;
  if (bodyBytes < size) {
    return new ProtocolError(ErrorCode.TRUNCATED, `the message ends ${bodyBytes} bytes into a body of ${size}; each message carries exactly one whole frame`, headerId(headerBytes));
  }
  if (bodyBytes > size) {
    return new ProtocolError(ErrorCode.BAD_SIZE, `the message carries ${bodyBytes - size} bytes after its frame; each message carries exactly one frame`, headerId(headerBytes));
  }
  return null;
}
