import { ErrorCode, MAX_DATAGRAM_SIZE, type WireErrorBody } from "../wire/index.js";
import { errorFrame } from "./reply.js";

/**
 * A reply datagram is at most this many times the size of the request datagram it answers (QUIC's
 * anti-amplification rule, RFC 9000 §8.1). UDP source addresses can be forged, so without it a small request
 * with someone else's address would make the server send that someone a large reply.
 */
export const AMPLIFICATION_FACTOR = 3;

/** The code of the small error that replaces a reply too large for its request (docs/errors.md). */
export const USE_STREAM = ErrorCode.USE_STREAM;

const USE_STREAM_MESSAGE = "the reply is larger than 3x the request; use tcp, or pad the request header with spaces";

/** The most bytes a reply to a request datagram of `requestSize` bytes may have. */
export function replyBudget(requestSize: number): number {
  return Math.min(MAX_DATAGRAM_SIZE, requestSize * AMPLIFICATION_FACTOR);
}

/**
 * The datagram to send in answer to a request of `requestSize` bytes, given the reply the handler produced:
 * the reply itself when it fits the budget; an error reply with its message cut to fit; else a small
 * `E_USE_STREAM` error; else nothing (null), when even that is larger than the budget allows.
 *
 * @example
 * ```ts
 * const out = fitReply(7, encodeDatagram({ id: 7, ok: true }, big), request.length);
 * if (out !== null) socket.send(out, port, address);
 * ```
 */
export function fitReply(id: number, reply: Buffer, requestSize: number, error?: WireErrorBody): Buffer | null {
  const budget = replyBudget(requestSize);
  if (reply.length <= budget) return reply;
  if (error !== undefined) {
    const cut = cutMessage(id, error, budget);
    if (cut !== null) return cut;
  }
  for (const message of [USE_STREAM_MESSAGE, ""]) {
    const frame = errorFrame(id, { code: USE_STREAM, message });
    if (frame.length <= budget) return frame;
  }
  return null;
}

/** The error without its data and with as much of its message as fits in `budget` bytes, or null. */
function cutMessage(id: number, error: WireErrorBody, budget: number): Buffer | null {
  let length = Math.min(error.message.length, budget);
  for (;;) {
    const frame = errorFrame(id, { code: error.code, message: error.message.slice(0, length) });
    if (frame.length <= budget) return frame;
    if (length === 0) return null;
    // JSON escaping may make a character cost up to 6 bytes: shrink by what is over, at least by half a step.
    length = Math.max(0, Math.min(length - (frame.length - budget), Math.floor(length / 2)));
  }
}
