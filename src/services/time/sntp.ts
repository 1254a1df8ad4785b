/**
 * The SNTP packet of RFC 4330 (48 bytes, big-endian), as far as a server needs it: recognise a client request and
 * build the server's answer. Timestamps are NTP's: seconds since 1900 in 32 bits (wrapping every 136 years: the
 * "era", so 2036 works) and a 32-bit binary fraction.
 */

/** Length of an SNTP packet without extensions or authenticator. */
export const SNTP_PACKET_SIZE = 48;
/** Seconds from 1900-01-01 (NTP's epoch) to 1970-01-01 (Unix's). */
export const NTP_UNIX_DELTA = 2_208_988_800;
const MODE_CLIENT = 3;
const MODE_SERVER = 4;
/** log2 of the clock's resolution in seconds: 2^-20 s ≈ 0.95 µs. */
const PRECISION = -20;
/** Root dispersion, 16.16 fixed-point seconds: about 1 ms (66 / 65536 s). */
const ROOT_DISPERSION = 66;

/** How the server describes itself in its answers. */
export interface SntpIdentity {
  /** 1 for a primary reference (a clock of its own); 2–15 for a server synchronised to another. Default 1. */
  stratum?: number;
  /** Four ASCII characters naming the reference (stratum 1). Default "WHRF": wharf's own clock. */
  refId?: string;
}

/** Writes a Unix time in µs as an NTP timestamp (era seconds + fraction) at `offset`. */
export function writeNtpTimestamp(buffer: Buffer, offset: number, unixUs: number): void {
  const seconds = Math.floor(unixUs / 1e6);
  const micros = unixUs - seconds * 1e6;
  buffer.writeUInt32BE((seconds + NTP_UNIX_DELTA) % 2 ** 32, offset);
  buffer.writeUInt32BE(Math.min(2 ** 32 - 1, Math.floor((micros * 2 ** 32) / 1e6)), offset + 4);
}

/**
 * Reads an NTP timestamp as Unix µs, taking the era nearest to `nearUs` (a timestamp means a point within
 * 68 years of now).
 */
export function readNtpTimestamp(buffer: Buffer, offset: number, nearUs = Date.now() * 1000): number {
  const eraSeconds = buffer.readUInt32BE(offset);
  const fraction = buffer.readUInt32BE(offset + 4);
  const nearNtp = Math.floor(nearUs / 1e6) + NTP_UNIX_DELTA;
  const era = Math.round((nearNtp - eraSeconds) / 2 ** 32);
  const unixSeconds = eraSeconds + era * 2 ** 32 - NTP_UNIX_DELTA;
  return unixSeconds * 1e6 + Math.floor((fraction * 1e6) / 2 ** 32);
}

/** True when a datagram is an SNTP client request (mode 3, version 1–4, at least 48 bytes). */
export function isSntpRequest(packet: Buffer): boolean {
  if (packet.length < SNTP_PACKET_SIZE) return false;
  const version = (packet[0] >> 3) & 7;
  return (packet[0] & 7) === MODE_CLIENT && version >= 1 && version <= 4;
}

/**
 * The server's answer to a client request: mode 4, the request's version and poll, the request's transmit
 * timestamp as originate, `receiveUs` and `transmitUs` as receive and transmit timestamps (Unix µs).
 *
 * @example
 * ```ts
 * if (isSntpRequest(msg)) socket.send(sntpReply(msg, t2, clock()), rinfo.port, rinfo.address);
 * ```
 */
export function sntpReply(request: Buffer, receiveUs: number, transmitUs: number, identity: SntpIdentity = {}): Buffer {
  const stratum = identity.stratum ?? 1;
  const refId = identity.refId ?? "WHRF";
  const reply = Buffer.alloc(SNTP_PACKET_SIZE);
  const version = (request[0] >> 3) & 7;
  reply[0] = (0 << 6) | (version << 3) | MODE_SERVER; // leap indicator 0: no warning, clock synchronised
  reply[1] = stratum;
  reply[2] = request[2]; // poll: echoed
  reply.writeInt8(PRECISION, 3);
  reply.writeUInt32BE(0, 4); // root delay: this is the reference
  reply.writeUInt32BE(ROOT_DISPERSION, 8);
  reply.write(refId.padEnd(4, "\0").slice(0, 4), 12, "ascii");
  writeNtpTimestamp(reply, 16, receiveUs); // reference: the clock is its own reference, current as of now
  request.copy(reply, 24, 40, 48); // originate = the client's transmit timestamp, bit for bit
  writeNtpTimestamp(reply, 32, receiveUs);
  writeNtpTimestamp(reply, 40, transmitUs);
  return reply;
}
