import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ProxyHeaderReader, type ProxyReadResult } from "../../src/server/proxy-protocol.js";
import { TrustedProxies } from "../../src/server/proxy-accept.js";
import { proxyV1, proxyV2 } from "../helpers/proxy-header.js";

/** Feeds `bytes` cut at `cuts`; returns the last result, its `rest` followed by the bytes not fed yet. */
function feed(bytes: Buffer, cuts: number[] = [], reader = new ProxyHeaderReader()): ProxyReadResult {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  let result: ProxyReadResult = { state: "more" };
  for (const to of [...points, bytes.length]) {
    if (to <= from && to !== bytes.length) continue;
    result = reader.push(bytes.subarray(from, to));
    from = to;
    if (result.state === "done") return { ...result, rest: Buffer.concat([result.rest, bytes.subarray(from)]) };
    if (result.state !== "more") break;
  }
  return result;
}

const ipv4 = fc.ipV4();
const ipv6 = fc.tuple(...Array.from({ length: 8 }, () => fc.integer({ min: 0, max: 0xffff }))).map((groups) => groups.map((g) => g.toString(16)).join(":"));
const port = fc.integer({ min: 0, max: 65_535 });
const rest = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));

/** The canonical text Node gives an IPv6 address, to compare with the reader's. */
function canonical6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

describe("ProxyHeaderReader", () => {
  test("HAProxy's v2 bytes for 127.0.0.1:40000 -> 127.0.0.1:9000 (hex fixture)", () => {
    const bytes = Buffer.from("0d0a0d0a000d0a515549540a" + "2111000c" + "7f000001" + "7f000001" + "9c40" + "2328", "hex");
    const result = feed(Buffer.concat([bytes, Buffer.from("wharf")]));
    assert.equal(result.state, "done");
    if (result.state !== "done") return;
    assert.deepEqual(result.header, { version: 2, command: "proxy", source: { address: "127.0.0.1", port: 40_000, family: "IPv4" }, destination: { address: "127.0.0.1", port: 9000 } });
    assert.equal(result.rest.toString(), "wharf");
  });

  test("a v2 LOCAL header (a balancer's own health check) names no client", () => {
    const result = feed(proxyV2("10.0.0.1", "10.0.0.2", 1, 2, { local: true }));
    assert.equal(result.state, "done");
    if (result.state === "done") assert.deepEqual(result.header, { version: 2, command: "local" });
  });

  test("v1 UNKNOWN names no client", () => {
    const result = feed(Buffer.from("PROXY UNKNOWN\r\nxyz"));
    assert.equal(result.state, "done");
    if (result.state === "done") {
      assert.equal(result.header.command, "local");
      assert.equal(result.rest.toString(), "xyz");
    }
  });

  test("v1 and v2 over IPv4, cut anywhere, give the addresses, ports and the bytes after", () => {
    fc.assert(
      fc.property(fc.boolean(), ipv4, ipv4, port, port, rest, fc.array(fc.nat(200), { maxLength: 6 }), (v2, src, dst, sport, dport, after, cuts) => {
        const header = v2 ? proxyV2(src, dst, sport, dport) : proxyV1(src, dst, sport, dport);
        const result = feed(Buffer.concat([header, after]), cuts);
        assert.equal(result.state, "done");
        if (result.state !== "done") return;
        assert.deepEqual(result.header.source, { address: src, port: sport, family: "IPv4" });
        assert.deepEqual(result.header.destination, { address: dst, port: dport });
        assert.deepEqual(result.rest, after);
      }),
      { numRuns: 500 },
    );
  });

  test("v1 and v2 over IPv6 give the address in Node's canonical form", () => {
    fc.assert(
      fc.property(fc.boolean(), ipv6, ipv6, port, port, fc.array(fc.nat(200), { maxLength: 4 }), (v2, src, dst, sport, dport, cuts) => {
        const header = v2 ? proxyV2(src, dst, sport, dport) : proxyV1(canonical6(src), canonical6(dst), sport, dport);
        const result = feed(header, cuts);
        assert.equal(result.state, "done");
        if (result.state !== "done") return;
        assert.deepEqual(result.header.source, { address: canonical6(src), port: sport, family: "IPv6" });
      }),
      { numRuns: 300 },
    );
  });

  test("v2 TLVs are skipped; a header over maxV2Size fails as soon as its length is read", () => {
    const tlv = Buffer.concat([Buffer.from([0x04, 0x00, 0x10]), Buffer.alloc(16, 7)]);
    const ok = feed(proxyV2("1.2.3.4", "5.6.7.8", 1, 2, { tlv }));
    assert.equal(ok.state, "done");
    const big = proxyV2("1.2.3.4", "5.6.7.8", 1, 2, { tlv: Buffer.alloc(2_000) });
    const reader = new ProxyHeaderReader({ maxV2Size: 1_024 });
    const result = reader.push(big.subarray(0, 16));
    assert.equal(result.state, "failed");
    if (result.state === "failed") assert.match(result.reason, /2028 bytes \(at most 1024\)/);
  });

  const bad: [string, Buffer][] = [
    ["a wharf frame instead of a header", Buffer.from('\x00\x00\x00\x0d{"type":"x"}')],
    ["an HTTP request", Buffer.from("GET / HTTP/1.1\r\n\r\n")],
    ["a v1 line of seven fields", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n")],
    ["a v1 TCP4 line with IPv6 addresses", Buffer.from("PROXY TCP4 ::1 ::1 1 2\r\n")],
    ["a v1 port of 65536", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n")],
    ["a v1 port with a leading zero", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n")],
    ["a v1 line without CRLF in 107 bytes", Buffer.from(`PROXY TCP4 ${"1".repeat(120)}`)],
    ["a v2 header of version 3", Buffer.concat([proxyV2("1.2.3.4", "5.6.7.8", 1, 2).subarray(0, 12), Buffer.from([0x31, 0x11, 0, 12]), Buffer.alloc(12)])],
    ["a v2 command 2", Buffer.concat([proxyV2("1.2.3.4", "5.6.7.8", 1, 2).subarray(0, 12), Buffer.from([0x22, 0x11, 0, 12]), Buffer.alloc(12)])],
    ["a v2 IPv4 header shorter than its addresses", Buffer.concat([proxyV2("1.2.3.4", "5.6.7.8", 1, 2).subarray(0, 12), Buffer.from([0x21, 0x11, 0, 4]), Buffer.alloc(4)])],
    ["a v2 family 5", Buffer.concat([proxyV2("1.2.3.4", "5.6.7.8", 1, 2).subarray(0, 12), Buffer.from([0x21, 0x51, 0, 12]), Buffer.alloc(12)])],
  ];
  for (const [name, bytes] of bad) {
    test(`fails on ${name}`, () => {
      assert.equal(feed(bytes).state, "failed");
    });
  }

  test("any bytes: never throws, decides within 107 bytes (v1) or maxV2Size (v2), and takes nothing after", () => {
    const prefix = fc.constantFrom(Buffer.alloc(0), Buffer.from("PROXY "), proxyV2("1.1.1.1", "2.2.2.2", 1, 1).subarray(0, 12));
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 1_500 }), fc.array(fc.nat(1_600), { maxLength: 8 }), (head, tail, cuts) => {
        const bytes = Buffer.concat([head, Buffer.from(tail)]);
        const reader = new ProxyHeaderReader({ maxV2Size: 1_024 });
        const result = feed(bytes, cuts, reader);
        if (result.state === "more") assert.ok(bytes.length < 1_024, `still undecided after ${bytes.length} bytes`);
        if (result.state !== "more") assert.equal(reader.push(Buffer.from("x")).state, "failed");
      }),
      { numRuns: 1_000 },
    );
  });

  test("a bad maxV2Size is a RangeError naming the option", () => {
    assert.throws(() => new ProxyHeaderReader({ maxV2Size: 3 }), /options\.maxV2Size/);
  });
});

describe("TrustedProxies", () => {
  test("matches addresses, CIDR blocks and IPv4-mapped IPv6", () => {
    const trusted = new TrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);
    assert.equal(trusted.has("127.0.0.1"), true);
    assert.equal(trusted.has("::ffff:127.0.0.1"), true);
    assert.equal(trusted.has("127.0.0.2"), false);
    assert.equal(trusted.has("10.200.1.1"), true);
    assert.equal(trusted.has("11.0.0.1"), false);
    assert.equal(trusted.has("fd12::1"), true);
    assert.equal(trusted.has("fe80::1"), false);
    assert.equal(trusted.has(undefined), false);
  });

  test("refuses what is neither an address nor a block", () => {
    assert.throws(() => new TrustedProxies(["localhost"]), TypeError);
    assert.throws(() => new TrustedProxies(["10.0.0.0/33"]), TypeError);
    assert.throws(() => new TrustedProxies(["10.0.0.0/x"]), TypeError);
  });
});
