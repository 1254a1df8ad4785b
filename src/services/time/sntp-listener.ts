import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import type { Logger } from "pino";
import { pino } from "pino";
import { formatEndpoint } from "../../wire/index.js";
import { systemClock, type Clock } from "./clock.js";
import { isSntpRequest, sntpReply, type SntpIdentity } from "./sntp.js";

/** Options of {@link listenSntp}. */
export interface SntpListenOptions extends SntpIdentity {
  host?: string;
  /** UDP port; 123 is the standard one (binding it needs privileges); 0 picks a free one. */
  port: number;
  clock?: Clock;
  logger?: Logger;
}

/** A UDP socket answering SNTP requests. */
export interface SntpListener {
  /** Where it listens, as `ntp://host:port`. */
  readonly url: string;
  readonly port: number;
  /** Requests answered so far. */
  readonly answered: number;
  close(): Promise<void>;
}

/**
 * Answers RFC 4330 SNTP client requests on a UDP port, so `ntpdig`, `ntpdate -q`, `chronyd` or any SNTP client can
 * ask this process for the time. Datagrams that are not client-mode requests of at least 48 bytes are ignored
 * (no reply: the answer is never larger than the question, so the socket cannot be used as an amplifier).
 *
 * @example
 * ```ts
 * const ntp = await listenSntp({ host: "0.0.0.0", port: 123 });
 * // ... later
 * await ntp.close();
 * ```
 */
export async function listenSntp(options: SntpListenOptions): Promise<SntpListener> {
  const host = options.host ?? "127.0.0.1";
  if (!Number.isSafeInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError("options.port must be a port number (0-65535)");
  }
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ level: "silent" });
  const identity: SntpIdentity = { stratum: options.stratum, refId: options.refId };
  const socket: Socket = createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
  let answered = 0;
  socket.on("message", (msg, rinfo) => {
    const received = clock();
    if (!isSntpRequest(msg)) return;
    const reply = sntpReply(msg, received, clock(), identity);
    socket.send(reply, rinfo.port, rinfo.address, (err) => {
      if (err) logger.debug({ err, peer: rinfo.address }, "sntp reply not sent");
    });
    answered += 1;
  });
  socket.on("error", (err) => logger.warn({ err }, "sntp socket error"));
  const listening = once(socket, "listening");
  socket.bind(options.port, host);
  try {
    await listening;
  } catch (err) {
    socket.close();
    throw err;
  }
  const port = socket.address().port;
  let closed: Promise<void> | null = null;
  return {
    url: formatEndpoint("udp", host, port).replace(/^udp:/, "ntp:"),
    port,
    get answered() {
      return answered;
    },
    close() {
      closed ??= new Promise((resolve) => socket.close(() => resolve()));
      return closed;
    },
  };
}
