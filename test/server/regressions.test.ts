/**
 * One regression test per case of issue 11 ("no frame from anyone can take `wharf serve` down"), each against a
 * real `wharf serve` child (case 3: an in-process Server) with raw frames. Every wait is time-boxed, so a case
 * that still misbehaves fails with a message saying how, instead of hanging.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test, type TestContext } from "node:test";
import { Server } from "../../src/server/index.js";
import { addUserWithCli, addUsers, cloneUser, startWharfServe, type StartServeOptions, type UserSpec, type WharfServe } from "../helpers/serve-process.js";
import {
  RawTcp,
  codeOf,
  describeFrame,
  frameOf,
  parseDatagram,
  rawLogin,
  tcpPing,
  udpExchange,
  udpPing,
  type RawFrame,
} from "../helpers/wire-peer.js";

const MiB = 1024 * 1024;
const ALICE: UserSpec = { name: "alice", password: "alice-secret-1", canExec: true };
/** Chat senders: the chat rate limit is per user (20/s, bursts of 40), so a flood needs several users. */
const SENDERS: UserSpec[] = Array.from({ length: 12 }, (_, i) => ({ name: `sender${i}`, password: "sender-secret" }));

let usersDir = "";
before(async () => {
  usersDir = mkdtempSync(join(tmpdir(), "wharf-users-"));
  await addUserWithCli(usersDir, ALICE); // one through the CLI, as an operator would
  await addUsers(usersDir, [SENDERS[0]]);
  cloneUser(usersDir, SENDERS[0].name, SENDERS.slice(1).map((user) => user.name));
});
after(() => rmSync(usersDir, { recursive: true, force: true }));

/** A `wharf serve` child stopped (SIGKILL if it does not stop) when the test ends. */
async function serve(t: TestContext, options: StartServeOptions = {}): Promise<WharfServe> {
  const server = await startWharfServe({ usersFrom: usersDir, ...options });
  t.after(() => server.stop(2_000));
  return server;
}

function tail(server: WharfServe): string {
  const text = server.stderr().trim();
  return text.length === 0 ? "(its stderr is empty)" : `its stderr ends with:\n${text.slice(-3_000)}`;
}

/** Fails with the server's stderr unless it is alive (a zombie counts as dead). */
function assertAlive(server: WharfServe, after: string): void {
  assert.ok(server.alive(), `wharf serve died after ${after} (exit ${String(server.child.exitCode ?? server.child.signalCode)}); ${tail(server)}`);
}

/** Alive, and a fresh TCP ping and a UDP ping are answered within 1 s. */
async function assertServing(server: WharfServe, after: string): Promise<void> {
  assertAlive(server, after);
  try {
    await tcpPing(server.tcpPort, 1_000);
    await udpPing(server.udpPort, 1_000);
  } catch (err) {
    assert.fail(`after ${after}, a well-behaved client was not served: ${(err as Error).message}; alive: ${server.alive()}; ${tail(server)}`);
  }
}

async function pingOn(peer: RawTcp, id: number, what: string): Promise<void> {
  const reply = await peer.request({ type: "ping", id }, Buffer.from("still-there"), 1_000).catch((err: Error) => {
    assert.fail(`${what}: ${err.message}`);
  });
  assert.equal(reply.body.toString(), "still-there", `${what}: got ${describeFrame(reply)}`);
}

async function openTcp(server: WharfServe, options: { localAddress?: string } = {}): Promise<RawTcp> {
  const peer = await RawTcp.open(server.tcpPort, options);
  return peer;
}

describe("issue 11, case 1: an error reply too large to encode", () => {
  const hugeType = { type: '"'.repeat(30_000), id: 1 };

  test("case 1: a 30,000-quote type over TCP gets a bounded E_UNKNOWN_TYPE and the server keeps serving", { timeout: 30_000 }, async (t) => {
    const server = await serve(t);
    const peer = await openTcp(server);
    t.after(() => peer.destroy());
    peer.send(frameOf(hugeType));
    const reply = await peer.reply(1, 3_000, "the error reply to the 30,000-quote type").catch((err: Error) => {
      assert.fail(`${err.message}; server alive: ${server.alive()}; ${tail(server)}`);
    });
    assert.equal(codeOf(reply), "E_UNKNOWN_TYPE", `got ${describeFrame(reply)}`);
    assert.equal(reply.header?.ok, false);
    assert.ok(reply.headerBytes < 16 * 1024, `the error reply's header is ${reply.headerBytes} bytes: the quoted type must be truncated`);
    await pingOn(peer, 2, "a ping on the same connection after the 30,000-quote type");
    await assertServing(server, "a 30,000-quote type over TCP");
  });

  test("case 1: a 30,000-quote type in one UDP datagram leaves the server alive and answering UDP", { timeout: 30_000 }, async (t) => {
    const server = await serve(t);
    const request = frameOf(hugeType);
    const replies = await udpExchange(server.udpPort, request, 1_000);
    for (const datagram of replies) {
      const frame = parseDatagram(datagram);
      assert.ok(datagram.length <= 3 * request.length, `a ${datagram.length}-byte reply to a ${request.length}-byte datagram`);
      assert.ok(["E_UNKNOWN_TYPE", "E_USE_STREAM"].includes(codeOf(frame) ?? ""), `got ${describeFrame(frame)}`);
      assert.ok(frame!.headerBytes < 16 * 1024, `the error reply's header is ${frame!.headerBytes} bytes`);
    }
    await sleep(100);
    await assertServing(server, "a 30,000-quote type in a UDP datagram");
  });

  test("case 1: rpc.call of a 30,000-quote method gets a bounded error and the server keeps serving", { timeout: 30_000 }, async (t) => {
    const server = await serve(t, { rpcDemo: true });
    const peer = await openTcp(server);
    t.after(() => peer.destroy());
    peer.send(frameOf({ type: "rpc.call", id: 1, method: '"'.repeat(30_000) }));
    const reply = await peer.reply(1, 3_000, "the error reply to the 30,000-quote method").catch((err: Error) => {
      assert.fail(`${err.message}; server alive: ${server.alive()}; ${tail(server)}`);
    });
    assert.equal(reply.header?.ok, false, `got ${describeFrame(reply)}`);
    assert.equal(typeof codeOf(reply), "string", `got ${describeFrame(reply)}`);
    assert.ok(reply.headerBytes < 16 * 1024, `the error reply's header is ${reply.headerBytes} bytes`);
    await pingOn(peer, 2, "a ping on the same connection after the 30,000-quote method");
    await assertServing(server, "rpc.call of a 30,000-quote method");
  });
});

describe("issue 11, case 2: a streamed body its handler never reads, then the connection is cut", () => {
  const cuts = [
    { how: "FIN", close: (peer: RawTcp) => peer.socket.end() },
    { how: "RST", close: (peer: RawTcp) => peer.socket.resetAndDestroy() },
  ];

  /** Sends files.put.data for an unknown upload with 10 of its 1000 body bytes, then cuts the connection. */
  async function cutUpload(server: WharfServe, loggedIn: boolean, close: (peer: RawTcp) => void): Promise<void> {
    const peer = await openTcp(server);
    try {
      if (loggedIn) await rawLogin(peer, 1, ALICE.name, ALICE.password);
      peer.send(frameOf({ type: "files.put.data", id: 2, upload: "x", offset: 0, size: 1000 }, Buffer.alloc(10, 0x61)));
      // The refusal (E_AUTH or E_INVALID_PARAMS) shows that the handler ran; cut the connection after it.
      await peer.reply(2, 1_000).catch(() => {});
      close(peer);
      await Promise.race([peer.closed, sleep(1_000)]);
    } finally {
      peer.destroy();
    }
  }

  for (const { how, close } of cuts) {
    for (const loggedIn of [false, true]) {
      const when = loggedIn ? "after login" : "before login";
      test(`case 2: files.put.data cut off by ${how} ${when}: the server lives and serves others`, { timeout: 30_000 }, async (t) => {
        const server = await serve(t);
        const bystander = await openTcp(server);
        t.after(() => bystander.destroy());
        await pingOn(bystander, 1, "the bystander's first ping");
        await cutUpload(server, loggedIn, close);
        await sleep(300);
        await assertServing(server, `files.put.data cut off by ${how} ${when}`);
        await pingOn(bystander, 2, `the bystander's connection after files.put.data was cut off by ${how} ${when}`);
      });
    }
  }

  test("case 2: with --workers 2, cut-off uploads kill no worker and cut no other client", { timeout: 60_000 }, async (t) => {
    const server = await serve(t, { args: ["--workers", "2"] });
    // Several bystanders, so that each worker (connections are spread round-robin) serves at least one.
    const bystanders = await Promise.all([0, 1, 2, 3].map(() => openTcp(server)));
    t.after(() => bystanders.forEach((peer) => peer.destroy()));
    for (const [i, peer] of bystanders.entries()) await pingOn(peer, 1, `bystander ${i}'s first ping`);
    for (const { how, close } of cuts) {
      for (const loggedIn of [false, true]) {
        // Twice each, so that both workers get every kind.
        await cutUpload(server, loggedIn, close);
        await cutUpload(server, loggedIn, close);
      }
    }
    await sleep(500);
    assert.doesNotMatch(server.stderr(), /worker died/, `a worker died: ${tail(server)}`);
    for (const [i, peer] of bystanders.entries()) await pingOn(peer, 2, `bystander ${i}'s connection after the cut-off uploads (a worker died?)`);
    await assertServing(server, "cut-off uploads with --workers 2");
    assert.doesNotMatch(server.stderr(), /worker died/, `a worker died: ${tail(server)}`);
  });
});

describe("issue 11, case 3: a UDP request still running when close() is called", () => {
  test("case 3: close() waits for the in-flight UDP request and nothing is thrown", { timeout: 10_000 }, async () => {
    const uncaught: unknown[] = [];
    const onError = (err: unknown): void => {
      uncaught.push(err);
    };
    process.on("uncaughtException", onError);
    process.on("unhandledRejection", onError);
    try {
      const server = new Server();
      let started!: () => void;
      const handlerStarted = new Promise<void>((resolve) => (started = resolve));
      let handlerFinishedAt = 0;
      server.handle("slow", async () => {
        started();
        await sleep(200);
        handlerFinishedAt = performance.now();
        return { header: { done: true } };
      });
      const url = await server.listenUdp({ host: "127.0.0.1", port: 0 });
      const port = Number(new URL(url).port);
      const exchange = udpExchange(port, frameOf({ type: "slow", id: 1 }), 1_500);
      await Promise.race([handlerStarted, sleep(2_000).then(() => assert.fail("the UDP handler did not start within 2 s"))]);
      let closedAt = 0;
      const closing = server.close({ timeout: 5_000 }).then(() => (closedAt = performance.now()));
      await Promise.race([closing, sleep(3_000).then(() => assert.fail("close() did not resolve within 3 s"))]);
      await exchange;
      await sleep(300); // a failing send would surface by now
      assert.deepEqual(uncaught.map(String), [], "an exception escaped after close()");
      assert.ok(handlerFinishedAt > 0, "the handler never finished");
      assert.ok(closedAt >= handlerFinishedAt, `close() resolved ${(handlerFinishedAt - closedAt).toFixed(0)} ms before the in-flight UDP handler finished`);
    } finally {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    }
  });
});

describe("issue 11, case 4: a JSON-RPC batch as a memory bomb", () => {
  test("case 4: 300 demo.count [10000, 0] calls get a bounded E_RPC_BUDGET answer, RSS stays low, others are served", { timeout: 60_000 }, async (t) => {
    const server = await serve(t, { rpcDemo: true });
    await sleep(300);
    const rssBefore = server.rssBytes() ?? 0;
    const batch = Array.from({ length: 300 }, (_, i) => ({ jsonrpc: "2.0", method: "demo.count", params: [10_000, 0], id: i + 1 }));
    const body = Buffer.from(JSON.stringify(batch));
    const peer = await openTcp(server);
    const other = await openTcp(server);
    t.after(() => {
      peer.destroy();
      other.destroy();
    });
    let peakRss = rssBefore;
    let stop = false;
    let worstPing = 0;
    let pingFailure: string | null = null;
    const watcher = (async () => {
      let id = 100;
      while (!stop) {
        const rss = server.rssBytes();
        if (rss !== null) peakRss = Math.max(peakRss, rss);
        if (peakRss - rssBefore > 100 * MiB) break; // fail fast rather than let the child eat the machine
        const started = performance.now();
        try {
          await other.request({ type: "ping", id: id++ }, Buffer.from("p"), 1_000);
          worstPing = Math.max(worstPing, performance.now() - started);
        } catch (err) {
          pingFailure ??= (err as Error).message;
          break;
        }
        await sleep(50);
      }
    })();
    peer.send(frameOf({ type: "jsonrpc", id: 1, size: body.length }, body));
    let reply: RawFrame | null = null;
    const deadline = Date.now() + 30_000;
    while (reply === null && Date.now() < deadline && peakRss - rssBefore <= 100 * MiB && pingFailure === null && server.alive()) {
      reply = await peer.reply(1, 200).catch(() => null);
      const rss = server.rssBytes();
      if (rss !== null) peakRss = Math.max(peakRss, rss);
    }
    stop = true;
    await watcher;
    const grown = (peakRss - rssBefore) / MiB;
    t.diagnostic(`RSS before ${(rssBefore / MiB).toFixed(0)} MiB, peak +${grown.toFixed(0)} MiB; worst ping ${worstPing.toFixed(0)} ms`);
    if (grown > 100) await server.stop(0);
    assert.ok(grown < 100, `the batch grew the server's RSS by ${grown.toFixed(0)} MiB (bound: 100 MiB)`);
    assert.equal(pingFailure, null, `another client's ping was not answered within 1 s while the batch ran: ${pingFailure}`);
    assert.ok(reply !== null, `no answer to the batch within 30 s; alive: ${server.alive()}; ${tail(server)}`);
    const replyBytes = 4 + reply.headerBytes + reply.body.length;
    assert.ok(replyBytes < 4 * MiB, `the batch's answer is ${(replyBytes / MiB).toFixed(1)} MiB (bound: 4 MiB)`);
    assert.match(`${reply.headerText}\n${reply.body.toString("utf8")}`, /E_RPC_BUDGET/, `the answer does not name E_RPC_BUDGET: ${describeFrame(reply)}`);
    await assertServing(server, "a 300-call demo.count batch");
  });

  test("case 4: without --rpc-demo, demo.count is not a method", { timeout: 30_000 }, async (t) => {
    const server = await serve(t);
    const peer = await openTcp(server);
    t.after(() => peer.destroy());
    const body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", method: "demo.count", params: [3], id: 1 }));
    const reply = await peer.request({ type: "jsonrpc", id: 1 }, body, 3_000);
    assert.equal(reply.header?.ok, true, `got ${describeFrame(reply)}`);
    const answer = JSON.parse(reply.body.toString("utf8"));
    assert.equal(answer.error?.code, -32601, `demo.count answered ${reply.body.toString("utf8").slice(0, 200)} without --rpc-demo`);
  });
});

describe("issue 11, case 5: UDP amplification", () => {
  function checkAmplification(request: Buffer, replies: Buffer[], what: string): RawFrame | null {
    assert.ok(replies.length <= 1, `${what}: ${replies.length} reply datagrams`);
    if (replies.length === 0) return null;
    const [datagram] = replies;
    assert.ok(
      datagram.length <= 3 * request.length,
      `${what}: a ${request.length}-byte request got a ${datagram.length}-byte reply (x${(datagram.length / request.length).toFixed(1)}; at most x3)`,
    );
    return parseDatagram(datagram);
  }

  test("case 5: no UDP reply is larger than 3x its request; too-large answers become E_USE_STREAM", { timeout: 30_000 }, async (t) => {
    const server = await serve(t, { rpcDemo: true });
    const call = Buffer.from(JSON.stringify({ jsonrpc: "2.0", method: "demo.count", params: [10_000, 0], id: 1 }));
    const jsonrpc = frameOf({ type: "jsonrpc", id: 1, size: call.length }, call);
    const jsonrpcReply = checkAmplification(jsonrpc, await udpExchange(server.udpPort, jsonrpc, 1_000), "jsonrpc demo.count [10000, 0]");
    // The real answer (~49 KB) does not fit x3: E_USE_STREAM, as the wharf error or inside the JSON-RPC error.
    if (jsonrpcReply !== null) assert.match(`${jsonrpcReply.headerText}${jsonrpcReply.body.toString("utf8")}`, /E_USE_STREAM/, `got ${describeFrame(jsonrpcReply)}`);

    const list = frameOf({ type: "rpc.call", id: 2, method: "rpc.list" });
    const listReply = checkAmplification(list, await udpExchange(server.udpPort, list, 1_000), "rpc.call rpc.list");
    if (listReply !== null && listReply.header?.ok !== true) assert.equal(codeOf(listReply), "E_USE_STREAM", `got ${describeFrame(listReply)}`);

    const unknown = frameOf({ type: "no.such.type", id: 3 });
    const unknownReply = checkAmplification(unknown, await udpExchange(server.udpPort, unknown, 1_000), "an unknown type");
    if (unknownReply !== null) assert.ok(["E_UNKNOWN_TYPE", "E_USE_STREAM"].includes(codeOf(unknownReply) ?? ""), `got ${describeFrame(unknownReply)}`);
    await assertServing(server, "the amplification probes");
  });

  test("case 5: a request padded with spaces in its header may get a reply up to 3x: rpc.list then succeeds over UDP", { timeout: 30_000 }, async (t) => {
    const server = await serve(t, { rpcDemo: true });
    const padded = frameOf(`{"type":"rpc.call","id":7,"method":"rpc.list"}${" ".repeat(3_000)}`);
    const replies = await udpExchange(server.udpPort, padded, 1_000);
    const reply = checkAmplification(padded, replies, "a padded rpc.list");
    assert.ok(reply !== null, "a padded rpc.list got no reply");
    assert.equal(reply.header?.ok, true, `got ${describeFrame(reply)}`);
    assert.ok(Array.isArray(reply.header?.result), `rpc.list's result is not a list: ${describeFrame(reply)}`);
    assert.ok((reply.header!.result as { name: string }[]).some((method) => method.name === "rpc.list"), "rpc.list does not list itself");
  });
});

describe("issue 11, case 6: a slow chat member", () => {
  test("case 6: a member that does not read gets a fatal E_SLOW_CONSUMER frame at a frame boundary", { timeout: 60_000 }, async (t) => {
    const server = await serve(t, { args: ["--chat-history", "0"] });
    const room = "flood";
    const slow = await openTcp(server);
    t.after(() => slow.destroy());
    await rawLogin(slow, 1, ALICE.name, ALICE.password);
    const joined = await slow.request({ type: "chat.join", id: 2, room }, undefined, 3_000);
    assert.equal(joined.header?.ok, true, `chat.join: ${describeFrame(joined)}`);
    slow.socket.pause(); // from now on the slow member reads nothing

    const senders = await Promise.all(SENDERS.map(() => openTcp(server)));
    t.after(() => senders.forEach((peer) => peer.destroy()));
    for (const [i, peer] of senders.entries()) {
      await rawLogin(peer, 1, SENDERS[i].name, SENDERS[i].password);
      const reply = await peer.request({ type: "chat.join", id: 2, room }, undefined, 3_000);
      assert.equal(reply.header?.ok, true, `chat.join of ${SENDERS[i].name}: ${describeFrame(reply)}`);
      // The senders read their copies of the room's messages, as well-behaved members do; drop them as they come.
      peer.socket.on("data", () => {
        if (peer.frames.length < 256) return;
        const replies = peer.frames.filter((frame) => frame.header?.event === undefined);
        peer.frames.splice(0, peer.frames.length, ...replies);
      });
    }
    const text = Buffer.alloc(4000, "x");
    const watcher = await openTcp(server);
    t.after(() => watcher.destroy());
    await rawLogin(watcher, 1, SENDERS[0].name, SENDERS[0].password);

    // Flood the room until the slow member is dropped from it (or 20 s pass).
    let dropped = false;
    let sent = 0;
    let nextId = 10;
    const flooding = Date.now();
    while (!dropped && Date.now() - flooding < 20_000) {
      const round = senders.map(async (peer, i) => {
        const id = nextId++;
        const reply = await peer.request({ type: "chat.send", id, room, clientId: `c${id}` }, text, 5_000).catch(() => null);
        if (reply?.header?.ok === true) sent += 1;
        else if (codeOf(reply) === "E_RATE_LIMITED") await sleep(Number(reply!.header!.error.data?.retryAfterMs ?? 50));
        else if (reply !== null) assert.fail(`chat.send by ${SENDERS[i].name}: ${describeFrame(reply)}`);
      });
      await Promise.all(round);
      if (sent % 60 < SENDERS.length) {
        const id = nextId++;
        const who = await watcher.request({ type: "chat.who", id, room }, undefined, 3_000);
        dropped = !JSON.parse(who.body.toString("utf8") || "[]").includes(ALICE.name);
      }
    }
    assertAlive(server, "the chat flood");
    assert.ok(dropped, `the slow member was still in the room after ${sent} messages of 4000 bytes in 20 s`);
    t.diagnostic(`the slow member was dropped after ${sent} messages`);

    // A slow peer: it starts reading 3 s after it was cut off, then reads everything there is.
    await sleep(3_000);
    slow.socket.resume();
    await Promise.race([slow.closed, sleep(15_000)]);
    assert.ok(slow.isClosed, "the server did not close the slow member's connection");
    assert.equal(slow.pendingBytes, 0, `the stream ended inside a frame: ${slow.pendingBytes} bytes of an incomplete frame after ${slow.frames.length} whole ones`);
    const last = slow.frames.at(-1);
    assert.ok(last !== undefined, "the slow member received no frame at all");
    assert.equal(codeOf(last), "E_SLOW_CONSUMER", `the last frame is ${describeFrame(last)}`);
    assert.equal(last.header?.fatal, true, `the last frame is not fatal: ${describeFrame(last)}`);
    assert.equal(last.header?.id, null);
    assert.equal(last.header?.ok, false);
    await assertServing(server, "cutting off a slow chat member");
  });
});

describe("issue 11, case 7: exec with an argv the OS rejects", () => {
  const cases = [
    { name: "an argument with a NUL byte", argv: ["echo", "a\u0000b"] },
    { name: "a 300-byte program name", argv: ["p".repeat(300)] },
  ];
  for (const { name, argv } of cases) {
    test(`case 7: exec.run with ${name} answers E_INVALID_PARAMS, not E_INTERNAL`, { timeout: 30_000 }, async (t) => {
      const server = await serve(t);
      const peer = await openTcp(server);
      t.after(() => peer.destroy());
      await rawLogin(peer, 1, ALICE.name, ALICE.password);
      peer.send(frameOf({ type: "exec.run", id: 2, argv }));
      const reply = await peer.finalReply(2, 5_000);
      assert.equal(reply.header?.ok, false, `got ${describeFrame(reply)}`);
      assert.equal(codeOf(reply), "E_INVALID_PARAMS", `got ${describeFrame(reply)}`);
      await assertServing(server, `exec.run with ${name}`);
    });
  }
});

describe("issue 11, case 8: the login throttle cannot lock a user out", () => {
  test("case 8: failures from 127.0.0.2 throttle 127.0.0.2, not alice's correct password from 127.0.0.3", { timeout: 30_000 }, async (t) => {
    const server = await serve(t);
    const attacker = await openTcp(server, { localAddress: "127.0.0.2" });
    t.after(() => attacker.destroy());
    const codes: string[] = [];
    for (let id = 1; id <= 5; id += 1) {
      const reply = await attacker.request({ type: "auth", id, user: ALICE.name, password: `wrong-${id}` }, undefined, 5_000);
      codes.push(codeOf(reply) ?? "ok");
    }
    assert.ok(codes.every((code) => code === "E_AUTH" || code === "E_AUTH_THROTTLED"), `wrong passwords got ${codes.join(", ")}`);

    const owner = await openTcp(server, { localAddress: "127.0.0.3" });
    t.after(() => owner.destroy());
    const login = await owner.request({ type: "auth", id: 1, user: ALICE.name, password: ALICE.password }, undefined, 5_000);
    assert.equal(login.header?.ok, true, `alice's correct password from 127.0.0.3 was refused: ${describeFrame(login)}`);

    // Still throttled: refused at once, or (if its first wait ran out meanwhile: it is 1 s after the third
    // failure) this failure is counted on top of the earlier ones, so the next attempt is refused.
    const again = await attacker.request({ type: "auth", id: 6, user: ALICE.name, password: "wrong-6" }, undefined, 5_000);
    if (codeOf(again) !== "E_AUTH_THROTTLED") {
      assert.equal(codeOf(again), "E_AUTH", `got ${describeFrame(again)}`);
      const third = await attacker.request({ type: "auth", id: 7, user: ALICE.name, password: "wrong-7" }, undefined, 5_000);
      assert.equal(codeOf(third), "E_AUTH_THROTTLED", `127.0.0.2 is no longer throttled after alice logged in from 127.0.0.3: ${describeFrame(third)}`);
    }
  });
});
