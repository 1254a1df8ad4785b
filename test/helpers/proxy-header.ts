/** PROXY header encoders (HAProxy's spec), for tests that play the balancer. */
import { isIP } from "node:net";
import { PROXY_V2_SIGNATURE } from "../../src/server/proxy-protocol.js";

/** A v1 line: `PROXY TCP4 src dst sport dport\r\n`. */
export function proxyV1(src: string, dst: string, sport: number, dport: number): Buffer {
  const protocol = isIP(src) === 6 ? "TCP6" : "TCP4";
  return Buffer.from(`PROXY ${protocol} ${src} ${dst} ${sport} ${dport}\r\n`, "latin1");
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split(".").map(Number));
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const left = head === "" ? [] : head!.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}

/** A v2 header: PROXY command over TCP (or LOCAL with `local`), with optional raw TLV bytes. */
export function proxyV2(src: string, dst: string, sport: number, dport: number, options: { local?: boolean; tlv?: Buffer } = {}): Buffer {
  const v6 = isIP(src) === 6;
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sport, 0);
  ports.writeUInt16BE(dport, 2);
  const body = Buffer.concat([ipBytes(src), ipBytes(dst), ports, options.tlv ?? Buffer.alloc(0)]);
  const fixed = Buffer.alloc(4);
  fixed[0] = options.local === true ? 0x20 : 0x21;
  fixed[1] = v6 ? 0x21 : 0x11;
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, body]);
}
