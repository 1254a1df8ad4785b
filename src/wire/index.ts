/**
 * `wharf/wire`: the frame format shared by every transport. A frame is a 4-byte big-endian header length N,
 * N bytes of UTF-8 JSON (an object), then exactly `size` bytes of body. See docs/protocol.md.
 *
 * @module
 */
export { FrameDecoder, type BodyMode, type FrameDecoderOptions, type FrameHandlers } from "./decoder.js";
export { encodeEvent, encodeFrame, encodeFrameHead, encodeFrameParts, encodeOkReplyParts } from "./encoder.js";
export { decodeDatagram, encodeDatagram, MAX_DATAGRAM_SIZE, type DecodedFrame } from "./datagram.js";
export {
  ERROR_CODES,
  ErrorCode,
  ProtocolError,
  WharfError,
  describeErrorCode,
  quote,
  type ErrorCodeInfo,
  type ErrorLayer,
  type WireErrorBody,
} from "./errors.js";
export {
  assertRequestHeader,
  headerSize,
  isWireInteger,
  type FrameHeader,
  type ReplyHeader,
  type RequestHeader,
} from "./header.js";
export {
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_MAX_STREAM_SIZE,
  LENGTH_PREFIX_SIZE,
  resolveLimits,
  type FrameLimits,
  type ResolvedFrameLimits,
} from "./limits.js";
export { parseHeader } from "./parse-header.js";
export { formatEndpoint, parseEndpoint, type Endpoint, type UrlTransport } from "./address.js";
export { FrameWriter, StreamedBodyFailedAfterEnd, type FrameWriterOptions, type StreamedBody } from "./frame-writer.js";
export { BodyInlet, IncomingBody, STREAMED_BODY_HIGH_WATER, type BodySink } from "./body-inlet.js";
