import { LENGTH_PREFIX_SIZE, MAX_DATAGRAM_SIZE } from "../wire/index.js";

/**
 * The request size that lets any reply through a server's anti-amplification rule (a UDP reply is at most 3x its
 * request): a third of the largest datagram, rounded up.
 */
export const MAX_USEFUL_PADDING = Math.ceil(MAX_DATAGRAM_SIZE / 3);

const SPACE = 0x20;

/**
 * Pads an encoded one-frame datagram to at least `minSize` bytes (capped at {@link MAX_DATAGRAM_SIZE}) by
 * appending spaces to its JSON header, which JSON.parse, and so every server and handler, ignores. Returns the
 * datagram itself when it is already that large. Over UDP a server answers at most 3x the bytes it received, so a
 * client that expects a large reply pays for it with a large request (docs/protocol.md §5).
 *
 * @example
 * ```ts
 * const datagram = padDatagram(encodeDatagram({ type: "time", id: 1 }), 64);
 * datagram.length; // 64
 * ```
 */
export function padDatagram(datagram: Buffer, minSize: number): Buffer {
  const target = Math.min(minSize, MAX_DATAGRAM_SIZE);
  if (datagram.length >= target) return datagram;
  const headerEnd = LENGTH_PREFIX_SIZE + datagram.readUInt32BE(0);
  const pad = target - datagram.length;
  const padded = Buffer.allocUnsafe(target);
  padded.writeUInt32BE(headerEnd - LENGTH_PREFIX_SIZE + pad, 0);
  datagram.copy(padded, LENGTH_PREFIX_SIZE, LENGTH_PREFIX_SIZE, headerEnd);
  padded.fill(SPACE, headerEnd, headerEnd + pad);
  datagram.copy(padded, headerEnd + pad, headerEnd);
  return padded;
}
