/**
 * A bounded soak of `wharf serve` (issue 11): many well-behaved clients (pings, time, RPC, JSON-RPC, chat, file
 * uploads and downloads, over TCP and UDP) in loops while a few hostile ones send garbage and cut connections.
 * The server must stay alive, keep its RSS bounded, give its fds back, and answer a probe's pings with a p99
 * under 250 ms (two shared cores). `WHARF_SOAK_MS` sets the duration (default 30 s).
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { addUsers, cloneUser, fdsSettle, startWharfServe, type WharfServe } from "../helpers/serve-process.js";
import { RawTcp, codeOf, describeFrame, frameOf, rawLogin, udpExchange, udpFire, type RawFrame } from "../helpers/wire-peer.js";

const MiB = 1024 * 1024;
const SOAK_MS = Number(process.env.WHARF_SOAK_MS ?? 30_000);
const RSS_LIMIT = 400 * MiB;
const P99_LIMIT_MS = 250;
const FD_SLACK = 6;
const PASSWORD = "soak-secret";
const CHAT_USERS = 6;
const FILE_USERS = 6;
const PLAIN_CLIENTS = 8;
const HOSTILE_CLIENTS = 4;

/** When the clients stop: the end of the soak, or at once when the server died or outgrew its bound. */
interface Run {
  until: number;
}

interface Stats {
  served: number;
  /** Clients that have logged in (the probe measures once every client is in: logins cost a scrypt hash each). */
  loggedIn: number;
  /** Unexpected failures of well-behaved clients, with what happened. */
  failures: string[];
  hostile: number;
}

function fail(stats: Stats, who: string, what: string): void {
  if (stats.failures.length < 50) stats.failures.push(`${who}: ${what}`);
}

function ok(reply: RawFrame): boolean {
  return reply.header?.ok === true;
}

/** Pings, time and RPC (wharf and JSON-RPC) on one connection, and ping/time over UDP. */
async function plainClient(server: WharfServe, n: number, stats: Stats, run: Run): Promise<void> {
  const peer = await RawTcp.open(server.tcpPort);
  let id = 1;
  try {
    while (Date.now() < run.until) {
      const which = id % 6;
      let reply: RawFrame;
      if (which === 0) reply = await peer.call({ type: "ping", id: id++ }, randomBytes(64), 5_000);
      else if (which === 1) reply = await peer.call({ type: "time", id: id++, t1: Date.now() * 1000 }, undefined, 5_000);
      else if (which === 2) reply = await peer.call({ type: "rpc.call", id: id++, method: "math.add", params: [id, 2] }, undefined, 5_000);
      else if (which === 3) reply = await peer.call({ type: "rpc.call", id: id++, method: "echo", params: ["soak"] }, undefined, 5_000);
      else if (which === 4) {
        const body = Buffer.from(JSON.stringify([{ jsonrpc: "2.0", method: "math.add", params: [1, 2], id: 1 }, { jsonrpc: "2.0", method: "health.check", id: 2 }]));
        reply = await peer.call({ type: "jsonrpc", id: id++ }, body, 5_000);
      } else {
        id += 1;
        const [datagram] = await udpExchange(server.udpPort, frameOf({ type: "time", id, t1: Date.now() * 1000 }), 1_000);
        if (datagram === undefined) fail(stats, `plain ${n}`, "a UDP time request got no answer within 1 s");
        else stats.served += 1;
        continue;
      }
      if (ok(reply)) stats.served += 1;
      else fail(stats, `plain ${n}`, describeFrame(reply));
      await sleep(10);
    }
  } catch (err) {
    fail(stats, `plain ${n}`, (err as Error).message);
  } finally {
    peer.destroy();
  }
}

/** A chat member: joins a room, sends a message every 100 ms (under the 20/s rate), reads what arrives. */
async function chatClient(server: WharfServe, user: string, stats: Stats, run: Run): Promise<void> {
  const peer = await RawTcp.open(server.tcpPort);
  let id = 1;
  try {
    await rawLogin(peer, id++, user, PASSWORD, 15_000);
    stats.loggedIn += 1;
    const joined = await peer.call({ type: "chat.join", id: id++, room: "soak" }, undefined, 5_000);
    if (!ok(joined)) fail(stats, user, `chat.join: ${describeFrame(joined)}`);
    while (Date.now() < run.until) {
      const reply = await peer.call({ type: "chat.send", id: id++, room: "soak", clientId: `${user}-${id}` }, Buffer.from(`hello from ${user} #${id}`), 5_000);
      if (ok(reply)) stats.served += 1;
      else if (codeOf(reply) !== "E_RATE_LIMITED") fail(stats, user, `chat.send: ${describeFrame(reply)}`);
      await sleep(100);
    }
  } catch (err) {
    fail(stats, user, (err as Error).message);
  } finally {
    peer.destroy();
  }
}

/** Uploads (begin, data, commit), stats and downloads small files, and removes some. */
async function filesClient(server: WharfServe, user: string, stats: Stats, run: Run): Promise<void> {
  const peer = await RawTcp.open(server.tcpPort);
  let id = 1;
  try {
    await rawLogin(peer, id++, user, PASSWORD, 15_000);
    stats.loggedIn += 1;
    let round = 0;
    while (Date.now() < run.until) {
      const path = `soak/f${round % 5}.bin`;
      const content = randomBytes(1 + Math.floor(Math.random() * 64 * 1024));
      const sha256 = createHash("sha256").update(content).digest("hex");
      const begin = await peer.call({ type: "files.put.begin", id: id++, path, fileSize: content.length }, undefined, 10_000);
      if (!ok(begin)) {
        fail(stats, user, `files.put.begin: ${describeFrame(begin)}`);
        break;
      }
      const upload = begin.header!.upload as string;
      const data = await peer.call({ type: "files.put.data", id: id++, upload, offset: 0 }, content, 10_000);
      if (!ok(data)) fail(stats, user, `files.put.data: ${describeFrame(data)}`);
      const commit = await peer.call({ type: "files.put.commit", id: id++, upload, sha256 }, undefined, 10_000);
      if (!ok(commit)) fail(stats, user, `files.put.commit: ${describeFrame(commit)}`);
      const got = await peer.call({ type: "files.get", id: id++, path }, undefined, 10_000);
      if (!ok(got) || !got.body.equals(content)) fail(stats, user, `files.get: ${describeFrame(got)}`);
      const stat = await peer.call({ type: "files.stat", id: id++, path }, undefined, 10_000);
      if (!ok(stat)) fail(stats, user, `files.stat: ${describeFrame(stat)}`);
      if (round % 4 === 3) {
        const rm = await peer.call({ type: "files.rm", id: id++, path }, undefined, 10_000);
        if (!ok(rm)) fail(stats, user, `files.rm: ${describeFrame(rm)}`);
      }
      stats.served += 5;
      round += 1;
      await sleep(20);
    }
  } catch (err) {
    fail(stats, user, (err as Error).message);
  } finally {
    peer.destroy();
  }
}

/** Hostile traffic: garbage, lying prefixes, unknown types, bodies cut off by FIN or RST, junk datagrams. */
async function hostileClient(server: WharfServe, n: number, stats: Stats, run: Run): Promise<void> {
  let round = n;
  while (Date.now() < run.until) {
    round += 1;
    const kind = round % 7;
    stats.hostile += 1;
    if (kind === 6) {
      await udpFire(server.udpPort, [randomBytes(200), frameOf({ type: "nope", id: round }), frameOf('{"type":"ping","id":1,"size":99}'), frameOf("{}", Buffer.alloc(0), 0xffff_ffff)]);
      await sleep(20);
      continue;
    }
    let peer: RawTcp;
    try {
      peer = await RawTcp.open(server.tcpPort);
    } catch {
      await sleep(50);
      continue;
    }
    peer.discard();
    if (kind === 0) peer.send(randomBytes(512));
    else if (kind === 1) peer.send(frameOf("{}", Buffer.alloc(0), 0xffff_ffff));
    else if (kind === 2) peer.send(frameOf({ type: "no.such.type", id: round }));
    else if (kind === 3) peer.send(frameOf({ type: "files.put.data", id: 1, upload: "x", offset: 0, size: 1000 }, Buffer.alloc(10)));
    else if (kind === 4) peer.send(frameOf({ type: "ping", id: 1, size: 1000 }, Buffer.alloc(300)));
    else peer.send(frameOf({ type: "rpc.call", id: 1, method: "demo.count", params: [2_000] }));
    await sleep(30);
    if (round % 2 === 0) peer.socket.end();
    else peer.socket.resetAndDestroy();
    await Promise.race([peer.closed, sleep(200)]);
    peer.destroy();
    await sleep(50);
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

test(`wharf serve stays alive, bounded and responsive under ${SOAK_MS / 1000} s of mixed traffic from many clients`, { timeout: SOAK_MS + 90_000 }, async (t) => {
  const usersDir = mkdtempSync(join(tmpdir(), "wharf-soak-users-"));
  t.after(() => rmSync(usersDir, { recursive: true, force: true }));
  const chatUsers = Array.from({ length: CHAT_USERS }, (_, i) => `chat${i}`);
  const fileUsers = Array.from({ length: FILE_USERS }, (_, i) => `files${i}`);
  await addUsers(usersDir, [{ name: chatUsers[0], password: PASSWORD }]);
  cloneUser(usersDir, chatUsers[0], [...chatUsers.slice(1), ...fileUsers]);
  const server = await startWharfServe({ rpcDemo: true, usersFrom: usersDir });
  t.after(() => server.stop(3_000));
  await sleep(300);
  const rssStart = server.rssBytes() ?? 0;
  const fdStart = server.fdCount() ?? 0;
  const stats: Stats = { served: 0, loggedIn: 0, failures: [], hostile: 0 };
  const started = Date.now();
  const run: Run = { until: started + SOAK_MS };

  // The probe: one good client pinging every 25 ms on its own connection.
  const latencies: number[] = [];
  let probeFailure: string | null = null;
  const probe = (async () => {
    const peer = await RawTcp.open(server.tcpPort);
    let id = 1;
    try {
      while (Date.now() < run.until) {
        const sent = performance.now();
        const reply = await peer.call({ type: "ping", id: id++ }, Buffer.from("probe"), 2_000);
        const warm = stats.loggedIn >= CHAT_USERS + FILE_USERS || Date.now() - started > 10_000;
        if (warm) latencies.push(performance.now() - sent);
        if (!ok(reply)) throw new Error(describeFrame(reply));
        await sleep(25);
      }
    } catch (err) {
      probeFailure = (err as Error).message;
    } finally {
      peer.destroy();
    }
  })();

  // RSS and liveness, sampled all along.
  let rssPeak = rssStart;
  let diedAt: number | null = null;
  const sampler = (async () => {
    while (Date.now() < run.until) {
      if (!server.alive()) {
        diedAt = Date.now() - started;
        run.until = 0;
        return;
      }
      rssPeak = Math.max(rssPeak, server.rssBytes() ?? 0);
      if (rssPeak > RSS_LIMIT) {
        run.until = 0;
        return;
      }
      await sleep(200);
    }
  })();

  await Promise.all([
    probe,
    sampler,
    ...Array.from({ length: PLAIN_CLIENTS }, (_, i) => plainClient(server, i, stats, run)),
    ...chatUsers.map((user) => chatClient(server, user, stats, run)),
    ...fileUsers.map((user) => filesClient(server, user, stats, run)),
    ...Array.from({ length: HOSTILE_CLIENTS }, (_, i) => hostileClient(server, i, stats, run)),
  ]);
  const elapsed = (Date.now() - started) / 1000;
  await sleep(500);
  const rssEnd = server.rssBytes() ?? 0;
  const fdEnd = await fdsSettle(server, fdStart + FD_SLACK, 3_000);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const figures =
    `RSS start ${(rssStart / MiB).toFixed(0)} MiB, peak ${(rssPeak / MiB).toFixed(0)} MiB, end ${(rssEnd / MiB).toFixed(0)} MiB; ` +
    `fds start ${fdStart}, end ${String(fdEnd)}; probe ping p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.length === 0 ? "NaN" : Math.max(...latencies).toFixed(1)} ms ` +
    `over ${latencies.length} pings (after the ${stats.loggedIn} logins); ` +
    `${stats.served} requests served to well-behaved clients, ${stats.hostile} hostile rounds, in ${elapsed.toFixed(1)} s`;
  t.diagnostic(figures);
  const stderr = server.stderr().trim().slice(-3_000);
  const context = `${figures}\nserver stderr (tail):\n${stderr.length === 0 ? "(empty)" : stderr}`;

  assert.equal(diedAt, null, `wharf serve died ${String(diedAt)} ms into the soak; ${context}`);
  assert.ok(server.alive(), `wharf serve died during the soak; ${context}`);
  assert.ok(rssPeak < RSS_LIMIT, `RSS peaked at ${(rssPeak / MiB).toFixed(0)} MiB (bound ${RSS_LIMIT / MiB} MiB); ${context}`);
  assert.equal(probeFailure, null, `the probe's ping failed: ${probeFailure}; ${context}`);
  assert.deepEqual(stats.failures, [], `well-behaved clients failed; ${context}`);
  assert.ok(fdEnd !== null && fdEnd <= fdStart + FD_SLACK, `fds did not come back to the baseline ${fdStart} (+${FD_SLACK}): ${String(fdEnd)}; ${context}`);
  assert.ok(p99 < P99_LIMIT_MS, `the probe's ping p99 is ${p99.toFixed(1)} ms (bound ${P99_LIMIT_MS} ms); ${context}`);
});
