/**
 * The PROXY protocol (HAProxy's spec, versions 1 and 2): the few bytes a load balancer writes first on a
 * connection it opens to a node, saying who the real client is. A node behind HAProxy reads them before the first
 * wharf frame, so that logs, throttles and limits see the client and not the balancer.
 *
 * The reader is an explicit state machine: each `push()` consumes what it can and says whether it needs more.
 * Limits are checked as soon as a length is known (v2) or as soon as a v1 line runs past 107 bytes, before
 * anything more is buffered. It never throws on hostile bytes: it returns a failure with a reason.
 *
 * @module
 */
import { isIP } from "node:net";
import { ErrorCode, WharfError } from "../wire/index.js";

/** What a PROXY header said about the connection. */
export interface ProxyHeader {
  /** 1 or 2. */
  version: 1 | 2;
  /**
   * "proxy": the connection relays a client, described below. "local": the balancer speaks for itself (a v2
   * LOCAL command, e.g. a health check, or v1 `UNKNOWN`): keep the socket's own address.
   */
  command: "proxy" | "local";
  /** The real client: absent for "local" and for address families wharf does not use (unix, unspecified). */
  source?: { address: string; port: number; family: "IPv4" | "IPv6" };
  /** The address the client connected to (the balancer's front end). */
  destination?: { address: string; port: number };
}

/** The outcome of {@link ProxyHeaderReader.push}. */
export type ProxyReadResult =
  | { state: "more" }
  | { state: "done"; header: ProxyHeader; rest: Buffer }
  | { state: "failed"; reason: string };

/** Options of a {@link ProxyHeaderReader}. */
export interface ProxyHeaderReaderOptions {
  /** Largest v2 header accepted, fixed 16 bytes included (TLVs count). Default 1,024 (HAProxy sends ~30-100). */
  maxV2Size?: number;
}

/** The 12 bytes every v2 header starts with. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from("PROXY ", "latin1");
/** The spec's longest v1 line, CRLF included. */
const V1_MAX = 107;
const V2_FIXED = 16;

type Phase = "detect" | "v1" | "v2-fixed" | "v2-body" | "over";

/**
 * Reads one PROXY header (v1 or v2) off the start of a byte stream.
 *
 * @example
 * ```ts
 * const reader = new ProxyHeaderReader();
 * socket.on("data", (chunk) => {
 *   const result = reader.push(chunk);
 *   if (result.state === "done") console.log(result.header.source, result.rest.length);
 * });
 * ```
 */
export class ProxyHeaderReader {
  #maxV2Size: number;
  #phase: Phase = "detect";
  #buffered: Buffer = Buffer.alloc(0);
  #v2Size = 0;

  constructor(options: ProxyHeaderReaderOptions = {}) {
    const max = options.maxV2Size ?? 1_024;
    if (!Number.isSafeInteger(max) || max < V2_FIXED + 12 || max > V2_FIXED + 65_535) {
      throw new RangeError(`options.maxV2Size must be an integer from ${V2_FIXED + 12} to ${V2_FIXED + 65_535}, got ${String(max)}`);
    }
    this.#maxV2Size = max;
  }

  /** Feeds bytes; after "done" or "failed" the reader takes nothing more. */
  push(chunk: Buffer): ProxyReadResult {
    if (this.#phase === "over") return { state: "failed", reason: "the header was already read" };
    // A header is at most ~1 KiB, so concatenating partial input costs nothing worth a chunk list.
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    for (;;) {
      const step = this.#step();
      if (step === "again") continue;
      if (step.state !== "more") this.#phase = "over";
      return step;
    }
  }

  #step(): ProxyReadResult | "again" {
    const data = this.#buffered;
    switch (this.#phase) {
      case "detect": {
        const v2 = startsLike(data, PROXY_V2_SIGNATURE);
        const v1 = startsLike(data, V1_PREFIX);
        if (!v1 && !v2) return fail("the connection did not start with a PROXY header");
        if (v2 && data.length >= PROXY_V2_SIGNATURE.length) this.#phase = "v2-fixed";
        else if (v1 && data.length >= V1_PREFIX.length) this.#phase = "v1";
        else return { state: "more" };
        return "again";
      }
      case "v1": {
        const end = data.indexOf("\r\n", 0, "latin1");
        if (end === -1) return data.length >= V1_MAX ? fail(`a PROXY v1 line longer than ${V1_MAX} bytes`) : { state: "more" };
        if (end + 2 > V1_MAX) return fail(`a PROXY v1 line longer than ${V1_MAX} bytes`);
        const parsed = parseV1(data.subarray(0, end).toString("latin1"));
        return typeof parsed === "string" ? fail(parsed) : { state: "done", header: parsed, rest: data.subarray(end + 2) };
      }
      case "v2-fixed": {
        if (data.length < V2_FIXED) return { state: "more" };
        const size = V2_FIXED + data.readUInt16BE(14);
        if (size > this.#maxV2Size) return fail(`a PROXY v2 header of ${size} bytes (at most ${this.#maxV2Size})`);
        this.#v2Size = size;
        this.#phase = "v2-body";
        return "again";
      }
      case "v2-body": {
        if (data.length < this.#v2Size) return { state: "more" };
        const parsed = parseV2(data.subarray(0, this.#v2Size));
        return typeof parsed === "string" ? fail(parsed) : { state: "done", header: parsed, rest: data.subarray(this.#v2Size) };
      }
      case "over":
        return fail("the header was already read");
    }
  }
}

/** The WharfError a connection is refused with when its PROXY header is missing, bad or not trusted. */
export function proxyHeaderError(reason: string): WharfError {
  return new WharfError(ErrorCode.PROXY_HEADER, reason);
}

function fail(reason: string): ProxyReadResult {
  return { state: "failed", reason };
}

/** True when what arrived so far agrees with `prefix` (either may be the shorter). */
function startsLike(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return data.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(line: string): ProxyHeader | string {
  const parts = line.split(" ");
  if (parts[1] === "UNKNOWN") return { version: 1, command: "local" };
  if (parts.length !== 6) return "a PROXY v1 line without its six fields";
  const [, protocol, src, dst, srcPort, dstPort] = parts as [string, string, string, string, string, string];
  const family = protocol === "TCP4" ? 4 : protocol === "TCP6" ? 6 : 0;
  if (family === 0) return `a PROXY v1 line with protocol ${JSON.stringify(protocol.slice(0, 16))}`;
  if (isIP(src) !== family || isIP(dst) !== family) return "a PROXY v1 line with an address that does not match its protocol";
  const sport = portOf(srcPort);
  const dport = portOf(dstPort);
  if (sport === null || dport === null) return "a PROXY v1 line with a port that is not 0-65535";
  const fam = family === 4 ? "IPv4" : "IPv6";
  return { version: 1, command: "proxy", source: { address: src, port: sport, family: fam }, destination: { address: dst, port: dport } };
}

function portOf(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const port = Number(text);
  return port <= 65_535 ? port : null;
}

function parseV2(header: Buffer): ProxyHeader | string {
  const versionCommand = header[12]!;
  if (versionCommand >> 4 !== 2) return `a PROXY v2 header of version ${versionCommand >> 4}`;
  const command = versionCommand & 0x0f;
  if (command > 1) return `a PROXY v2 header with command ${command}`;
  const family = header[13]! >> 4;
  const protocol = header[13]! & 0x0f;
  if (family > 3 || protocol > 2) return "a PROXY v2 header with an unknown address family or protocol";
  if (command === 0) return { version: 2, command: "local" };
  const body = header.subarray(V2_FIXED);
  if (family === 1) {
    if (body.length < 12) return "a PROXY v2 IPv4 header shorter than its addresses";
    const source = { address: ipv4(body.subarray(0, 4)), port: body.readUInt16BE(8), family: "IPv4" as const };
    return { version: 2, command: "proxy", source, destination: { address: ipv4(body.subarray(4, 8)), port: body.readUInt16BE(10) } };
  }
  if (family === 2) {
    if (body.length < 36) return "a PROXY v2 IPv6 header shorter than its addresses";
    const source = { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32), family: "IPv6" as const };
    return { version: 2, command: "proxy", source, destination: { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) } };
  }
  // AF_UNSPEC or AF_UNIX: a relayed connection whose client has no IP address; keep the socket's own.
  if (family === 3 && body.length < 216) return "a PROXY v2 unix header shorter than its addresses";
  return { version: 2, command: "proxy" };
}

function ipv4(bytes: Buffer): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Shortest form as Node's socket.remoteAddress gives it (RFC 5952: the longest run of zeros becomes "::").
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j += 1;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best === -1) return groups.join(":");
  const v4mapped = best === 0 && bestLength === 5 && groups[5] === "ffff";
  if (v4mapped) return `::ffff:${ipv4(bytes.subarray(12, 16))}`;
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLength).join(":")}`;
}
