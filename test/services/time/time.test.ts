import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { describe, test } from "node:test";
import { connect, udpRequest } from "../../../src/client/index.js";
import {
  createClock,
  estimate,
  isSntpRequest,
  listenSntp,
  queryTime,
  readNtpTimestamp,
  registerTime,
  sntpReply,
  writeNtpTimestamp,
  NTP_UNIX_DELTA,
} from "../../../src/services/time/index.js";
import { runWharf, startServe } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";

const SHIFT_MS = 5_000;

/** A client request as RFC 4330 §4 describes it: LI 0, VN 4, mode 3, the client's transmit timestamp. */
function sntpRequest(transmitUs: number): Buffer {
  const packet = Buffer.alloc(48);
  packet[0] = (0 << 6) | (4 << 3) | 3;
  packet[2] = 6; // poll 2^6 s
  writeNtpTimestamp(packet, 40, transmitUs);
  return packet;
}

/** Sends one datagram and resolves the first answer, or null after `waitMs`. */
async function askUdp(port: number, host: string, packet: Buffer, waitMs = 2_000): Promise<Buffer | null> {
  const socket = createSocket("udp4");
  try {
    socket.send(packet, port, host);
    const answer = once(socket, "message").then(([msg]) => msg as Buffer);
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs).unref());
    return await Promise.race([answer, timeout]);
  } finally {
    socket.close();
  }
}

/** The offset a client measured must contain the injected shift within its error bound (plus anchoring jitter). */
function assertShift(offsetUs: number, errorUs: number, shiftMs: number): void {
  const slackUs = errorUs + 5_000; // two clocks anchored on Date.now() may differ by its 1 ms resolution; be generous
  assert.ok(Math.abs(offsetUs - shiftMs * 1000) <= slackUs, `offset ${offsetUs} µs, expected ${shiftMs * 1000} ± ${slackUs}`);
}

describe("NTP timestamps and formulas", () => {
  test("write and read back Unix µs, across the 2036 era rollover", () => {
    const buffer = Buffer.alloc(8);
    for (const us of [0, 1_767_225_600_123_456, 2_085_978_495_999_999, 2_085_978_496_000_001, 4_000_000_000_000_000]) {
      writeNtpTimestamp(buffer, 0, us);
      assert.ok(Math.abs(readNtpTimestamp(buffer, 0, us) - us) <= 1, `round trip of ${us}`);
    }
    writeNtpTimestamp(buffer, 0, 2_085_978_496_000_000); // 2036-02-07T06:28:16Z: era 1 begins
    assert.equal(buffer.readUInt32BE(0), 0);
    writeNtpTimestamp(buffer, 0, 0);
    assert.equal(buffer.readUInt32BE(0), NTP_UNIX_DELTA);
    writeNtpTimestamp(buffer, 0, 500_000);
    assert.equal(buffer.readUInt32BE(4), 2 ** 31, "half a second is half of 2^32");
  });

  test("offset and delay follow the NTP formulas; the error bound is half the delay", () => {
    assert.deepEqual(estimate({ t1: 1_000, t2: 6_010, t3: 6_012, t4: 1_022 }), { offsetUs: 5_000, delayUs: 20, errorUs: 10 });
    assert.deepEqual(estimate({ t1: 0, t2: -3_000, t3: -2_990, t4: 30 }), { offsetUs: -3_010, delayUs: 20, errorUs: 10 });
  });
});

describe("time request", () => {
  test("answers t2 <= t3 in µs over TCP and UDP, echoing t1", async (t) => {
    const { url, udpUrl } = await startServer(t, {}, (server) => registerTime(server));
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const before = Date.now() * 1000;
    for (const reply of [await conn.request("time", { t1: 42 }), await udpRequest(udpUrl, "time", { t1: 42 })]) {
      const { t1, t2, t3 } = reply.header as unknown as { t1: number; t2: number; t3: number };
      assert.equal(t1, 42);
      assert.ok(Number.isSafeInteger(t2) && Number.isSafeInteger(t3));
      assert.ok(t2 <= t3);
      assert.ok(Math.abs(t2 - before) < 5_000_000, "close to the system time");
    }
  });

  test("a client measures an injected clock shift within its error bound, over TCP and UDP", async (t) => {
    const { url, udpUrl } = await startServer(t, {}, (server) => registerTime(server, { clock: createClock({ offsetMs: SHIFT_MS }) }));
    for (const target of [url, udpUrl]) {
      const result = await queryTime(target, { samples: 6 });
      assert.equal(result.answered, 6);
      assert.ok(result.delayUs >= 0 && result.errorUs === result.delayUs / 2);
      assertShift(result.offsetUs, result.errorUs, SHIFT_MS);
    }
  });

  test("wharf time prints the offset and delay, and --json for scripts", async (t) => {
    const { url, udpUrl } = await startServer(t, {}, (server) => registerTime(server, { clock: createClock({ offsetMs: -SHIFT_MS }) }));
    const json = await runWharf(["time", "--server", udpUrl, "--samples", "5", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as { offsetUs: number; errorUs: number; delayUs: number; answered: number; serverTime: string };
    assert.equal(result.answered, 5);
    assertShift(result.offsetUs, result.errorUs, -SHIFT_MS);
    assert.ok(Math.abs(Date.parse(result.serverTime) - (Date.now() - SHIFT_MS)) < 10_000);
    const text = await runWharf(["time", "--server", url, "--samples", "3"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^server time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/m);
    assert.match(text.stdout, /^offset +-[45]\d{3}\.\d{3} ms ± \d+\.\d{3} ms/m);
    assert.match(text.stdout, /^delay +\d+\.\d{3} ms \(least of 3 samples answered out of 3\)$/m);
  });

  test("wharf time against nothing fails with one line", async () => {
    const result = await runWharf(["time", "--server", "tcp://127.0.0.1:1", "--samples", "1"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^wharf: E_CONNECT: /);
    assert.equal(result.stderr.split("\n").length, 2);
  });
});

describe("SNTP", () => {
  test("wharf serve --ntp-port answers an RFC 4330 client request and ignores anything else", async (t) => {
    const serve = await startServe(t, ["--ntp-port", "0"]);
    const ntp = new URL(serve.url("ntp"));
    const port = Number(ntp.port);
    const t1 = Date.now() * 1000;
    const request = sntpRequest(t1);
    const reply = await askUdp(port, ntp.hostname, request);
    assert.ok(reply !== null, "answered");
    assert.equal(reply.length, 48);
    assert.equal(reply[0] & 7, 4, "mode 4: server");
    assert.equal((reply[0] >> 3) & 7, 4, "the request's version");
    assert.equal(reply[0] >> 6, 0, "leap indicator: synchronised");
    assert.equal(reply[1], 1, "stratum 1");
    assert.equal(reply.toString("ascii", 12, 16), "WHRF");
    assert.deepEqual(reply.subarray(24, 32), request.subarray(40, 48), "originate = the client's transmit timestamp");
    const t2 = readNtpTimestamp(reply, 32);
    const t3 = readNtpTimestamp(reply, 40);
    assert.ok(t2 <= t3);
    assert.ok(Math.abs(t2 - t1) < 5_000_000);

    const notClient = Buffer.from(request);
    notClient[0] = (4 << 3) | 4; // a server-mode packet must not be answered (no reflection loops)
    assert.equal(await askUdp(port, ntp.hostname, notClient, 500), null);
    assert.equal(await askUdp(port, ntp.hostname, request.subarray(0, 47), 500), null, "short packets are ignored");
    assert.ok((await askUdp(port, ntp.hostname, request)) !== null, "still answering after garbage");
    assert.equal(await serve.stop(), 0, "shuts down cleanly with the SNTP socket open");
  });

  test("isSntpRequest and sntpReply agree with the RFC layout", () => {
    const request = sntpRequest(1_767_225_600_000_000);
    assert.equal(isSntpRequest(request), true);
    assert.equal(isSntpRequest(Buffer.alloc(48)), false, "mode 0");
    const reply = sntpReply(request, 1_767_225_600_000_100, 1_767_225_600_000_200, { stratum: 2, refId: "ABCD" });
    assert.equal(reply[1], 2);
    assert.equal(reply.readInt8(3), -20, "precision about a microsecond");
    assert.equal(reply.toString("ascii", 12, 16), "ABCD");
  });

  test("ntpdig (Debian ntpsec-ntpdig) measures the shift of a wharf SNTP responder", async (t) => {
    // ntpdig always asks port 123, so the responder listens on 123 of a loopback address of its own.
    const host = `127.${10 + (process.pid % 200)}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
    const listener = await listenSntp({ host, port: 123, clock: createClock({ offsetMs: SHIFT_MS }) });
    t.after(() => listener.close());
    // Asynchronously: the responder runs in this process and must keep answering while ntpdig waits.
    const run = await promisify(execFile)("ntpdig", ["-j", "-t", "3", host], { encoding: "utf8", timeout: 20_000 }).catch((err: NodeJS.ErrnoException & { stdout?: string; stderr?: string }) => {
      if (err.code === "ENOENT") assert.fail("ntpdig must be installed: apt-get install ntpsec-ntpdig");
      assert.fail(`ntpdig failed: ${err.message} ${err.stdout ?? ""} ${err.stderr ?? ""}`);
    });
    const report = JSON.parse(run.stdout) as { offset: number; delay: number; stratum: number };
    assert.equal(report.stratum, 1);
    assert.ok(Math.abs(report.offset - SHIFT_MS / 1000) < 0.1, `ntpdig offset ${report.offset} s`);
    assert.equal(listener.answered, 1);
  });
});
