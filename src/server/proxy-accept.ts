/**
 * The accept step of a listener behind a load balancer: only trusted balancers may connect, and each must open
 * with a PROXY header (v1 or v2) naming the real client. Used by the stream listeners of {@link Server} and by
 * the HTTP gateway's listener.
 *
 * @module
 */
import { BlockList, isIP, type Socket } from "node:net";
import { ProxyHeaderReader, type ProxyHeader } from "./proxy-protocol.js";

/** `--proxy-protocol` as the server takes it. */
export interface ProxyProtocolOptions {
  /** Addresses and CIDR blocks (`10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`) allowed to connect and send a header. */
  trusted: string[];
  /** Largest v2 header accepted; default 1,024. */
  maxV2Size?: number;
}

/**
 * The set of trusted balancer addresses. An IPv4 address also matches in its IPv4-mapped IPv6 form
 * (`::ffff:127.0.0.1`), as a dual-stack listener reports it.
 *
 * @example
 * ```ts
 * const trusted = new TrustedProxies(["127.0.0.1", "10.0.0.0/8"]);
 * trusted.has("10.1.2.3"); // true
 * ```
 */
export class TrustedProxies {
  #list = new BlockList();
  readonly entries: readonly string[];

  constructor(entries: string[]) {
    for (const entry of entries) this.#add(entry);
    this.entries = Object.freeze([...entries]);
  }

  /** True when `address` is one of the trusted addresses or inside one of the trusted blocks. */
  has(address: string | undefined): boolean {
    if (address === undefined || address === "") return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped ? mapped[1]! : address;
    const family = isIP(plain);
    if (family === 0) return false;
    return this.#list.check(plain, family === 4 ? "ipv4" : "ipv6");
  }

  #add(entry: string): void {
    const slash = entry.indexOf("/");
    const address = slash === -1 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    if (family === 0) throw new TypeError(`a trusted proxy must be an IP address or a CIDR block, got ${JSON.stringify(entry)}`);
    const type = family === 4 ? "ipv4" : "ipv6";
    if (slash === -1) {
      this.#list.addAddress(address, type);
      return;
    }
    const bits = entry.slice(slash + 1);
    const prefix = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) {
      throw new TypeError(`a trusted proxy's prefix length must be 0-${family === 4 ? 32 : 128}, got ${JSON.stringify(entry)}`);
    }
    this.#list.addSubnet(address, prefix, type);
  }
}

/** What {@link readProxyHeader} calls back with: the header and the bytes after it, or why it failed. */
export type ProxyAcceptResult = { ok: true; header: ProxyHeader; rest: Buffer } | { ok: false; reason: string };

/**
 * Reads the PROXY header off a freshly accepted socket, then calls `done` once: with the header and the bytes that
 * came after it (the socket is paused then, its own listeners removed: attach yours, then `unshift`/`resume`), or
 * with a reason (untrusted peer, bad header, header not complete within `timeout` ms, socket closed first).
 */
export function readProxyHeader(socket: Socket, trusted: TrustedProxies, options: { timeout: number; maxV2Size?: number }, done: (result: ProxyAcceptResult) => void): void {
  if (!trusted.has(socket.remoteAddress)) {
    done({ ok: false, reason: `${socket.remoteAddress ?? "this peer"} is not a trusted proxy` });
    return;
  }
  const reader = new ProxyHeaderReader({ maxV2Size: options.maxV2Size });
  let settled = false;
  const finish = (result: ProxyAcceptResult): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onClose);
    socket.off("error", onError);
    socket.pause();
    done(result);
  };
  const onData = (chunk: Buffer): void => {
    const result = reader.push(chunk);
    if (result.state === "done") finish({ ok: true, header: result.header, rest: result.rest });
    else if (result.state === "failed") finish({ ok: false, reason: result.reason });
  };
  const onClose = (): void => finish({ ok: false, reason: "the connection closed before its PROXY header" });
  const onError = (): void => {};
  const timer = setTimeout(() => finish({ ok: false, reason: "no complete PROXY header in time" }), options.timeout > 0 ? options.timeout : 30_000);
  timer.unref();
  socket.on("data", onData);
  socket.on("close", onClose);
  socket.on("error", onError);
}
