import { ErrorCode, ProtocolError } from "./errors.js";
import { encodeFrame } from "./encoder.js";
import { headerSize, isWireInteger, type FrameHeader } from "./header.js";
import { LENGTH_PREFIX_SIZE, resolveLimits, type FrameLimits } from "./limits.js";
import { parseHeader } from "./parse-header.js";

/** The largest UDP payload over IPv4 (65,535 − 8 bytes UDP header − 20 bytes IP header). */
export const MAX_DATAGRAM_SIZE = 65_507;

/** A frame decoded from one datagram. */
export interface DecodedFrame {
  header: FrameHeader;
  body: Buffer;
}

/**
 * Decodes one datagram that must hold exactly one whole frame, nothing more and nothing less.
 * Throws a ProtocolError (`E_TRUNCATED`, `E_BAD_HEADER`, `E_BAD_SIZE`, `E_FRAME_TOO_LARGE`) otherwise.
 *
 * @example
 * ```ts
 * udp.on("message", (msg) => {
 *   const { header, body } = decodeDatagram(msg);
 * });
 * ```
 */
export function decodeDatagram(datagram: Buffer, limits?: FrameLimits): DecodedFrame {
  const { maxHeaderSize, maxBodySize } = resolveLimits(limits);
  if (datagram.length < LENGTH_PREFIX_SIZE) {
    throw new ProtocolError(ErrorCode.TRUNCATED, `datagram of ${datagram.length} bytes has no header length`);
  }
  const headerLength = datagram.readUInt32BE(0);
  if (headerLength > maxHeaderSize) {
    throw new ProtocolError(
      ErrorCode.FRAME_TOO_LARGE,
      `header length ${headerLength} exceeds the limit of ${maxHeaderSize} bytes`,
    );
  }
  const headerEnd = LENGTH_PREFIX_SIZE + headerLength;
  if (headerEnd > datagram.length) {
    throw new ProtocolError(ErrorCode.TRUNCATED, `header length ${headerLength} runs past the datagram's end`);
  }
  const header = parseHeader(datagram, LENGTH_PREFIX_SIZE, headerEnd);
  const size = headerSize(header);
  const id = isWireInteger(header.id) ? header.id : null;
  if (size > maxBodySize) {
    throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, `body size ${size} exceeds the limit of ${maxBodySize} bytes`, id);
  }
  const actual = datagram.length - headerEnd;
  if (size !== actual) {
    throw new ProtocolError(ErrorCode.BAD_SIZE, `size ${size} does not match the ${actual} body bytes in the datagram`, id);
  }
  return { header, body: datagram.subarray(headerEnd) };
}

/**
 * Encodes one frame as one datagram. Throws a ProtocolError with `E_FRAME_TOO_LARGE` when it would not fit in
 * `maxDatagramSize` bytes.
 */
export function encodeDatagram(header: FrameHeader, body?: Uint8Array, maxDatagramSize = MAX_DATAGRAM_SIZE): Buffer {
  const frame = encodeFrame(header, body);
  if (frame.length > maxDatagramSize) {
    const id = isWireInteger(header.id) ? header.id : null;
    throw new ProtocolError(
      ErrorCode.FRAME_TOO_LARGE,
      `frame of ${frame.length} bytes does not fit in one datagram of at most ${maxDatagramSize} bytes`,
      id,
    );
  }
  return frame;
}
