/**
 * Issue 14: `wharf serve --workers 3` without Redis serves chat as one system. The cluster primary owns the rooms
 * and the workers relay; members land on every worker (checked in /proc), and the chat scenarios of
 * test/services/chat/chat.test.ts hold across them: one order, direct messages, retries, replay, presence.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { after, before, describe, test } from "node:test";
import { Connection } from "../../src/client/index.js";
import { login } from "../../src/services/accounts/index.js";
import { ChatClient, type PresenceEvent, type ReceivedMessage } from "../../src/services/chat/index.js";
import { addUsers, cloneUser, startWharfServe, type WharfServe } from "../helpers/serve-process.js";
import { childPids, workerOfConnections } from "./chat-spread.js";
import { rawConnect } from "../helpers/raw.js";
import { encodeFrame } from "../../src/wire/index.js";

const PASSWORD = "pw";
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank"];

interface Member {
  user: string;
  client: ChatClient;
  localPort: number;
  messages: ReceivedMessage[];
  presence: PresenceEvent[];
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
}

let serve: WharfServe;
const open: Connection[] = [];

async function member(user: string): Promise<Member> {
  const socket = netConnect(serve.tcpPort, "127.0.0.1");
  await once(socket, "connect");
  const conn = new Connection(socket);
  open.push(conn);
  await login(conn, user, PASSWORD);
  const client = new ChatClient(conn);
  const messages: ReceivedMessage[] = [];
  const presence: PresenceEvent[] = [];
  client.on("message", (m: ReceivedMessage) => messages.push(m));
  client.on("presence", (p: PresenceEvent) => presence.push(p));
  return {
    user,
    client,
    localPort: socket.localPort!,
    messages,
    presence,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`${user}: ${messages.length} of ${n} messages arrived`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return messages;
    },
  };
}

/** The worker pid of each member's connection: asserts that they are spread over every worker. */
function assertSpread(members: Member[], workers: number): void {
  const pids = childPids(serve.pid);
  assert.equal(pids.length, workers, `${workers} workers run`);
  const owners = workerOfConnections(pids, serve.tcpPort, members.map((m) => m.localPort));
  assert.ok(owners.every((pid) => pid !== null), `every connection found in a worker: ${JSON.stringify(owners)}`);
  assert.equal(new Set(owners).size, workers, `members on every worker: ${JSON.stringify(owners)}`);
}

describe("chat with wharf serve --workers 3 (no redis): one system", () => {
  before(async () => {
    serve = await startWharfServe({ args: ["--workers", "3", "--chat-rate", "100000"], users: [{ name: "alice", password: PASSWORD }], timeoutMs: 60_000 });
    cloneUser(serve.dataDir, "alice", USERS.slice(1));
    void addUsers;
  });
  after(async () => {
    for (const conn of open) conn.destroy();
    await serve.stop();
  });

  test("members on every worker receive the room's messages in one order, numbered 1, 2, 3, ...", async () => {
    const members = await Promise.all(USERS.map((user) => member(user)));
    assertSpread(members, 3);
    for (const m of members) await m.client.join("lobby");
    const perSender = 100;
    const senders = members.slice(0, 3);
    const sends = await Promise.all(senders.map((s) => Promise.all(Array.from({ length: perSender }, (_, i) => s.client.send("lobby", `${s.user}-${i}`)))));
    const total = perSender * senders.length;
    const received = await Promise.all(members.map((m) => m.waitFor(total)));
    const order = received[0].map((m) => `${m.msgId}:${m.from}:${m.text}`);
    assert.deepEqual(received[0].map((m) => m.msgId), Array.from({ length: total }, (_, i) => i + 1));
    for (const r of received) assert.deepEqual(r.map((m) => `${m.msgId}:${m.from}:${m.text}`), order, "one order for all");
    for (const s of senders) {
      assert.deepEqual(received[0].filter((m) => m.from === s.user).map((m) => m.text), Array.from({ length: perSender }, (_, i) => `${s.user}-${i}`));
    }
    const byText = new Map(received[0].map((m) => [m.text, m.msgId]));
    sends[0].forEach((reply, i) => assert.equal(reply.msgId, byText.get(`alice-${i}`)));
    assert.deepEqual(await members[5].client.who("lobby"), [...USERS].sort());
  });

  test("direct messages, retries from another connection, replay with since, presence: across workers", async () => {
    const clients = await Promise.all(["alice", "bob", "bob", "carol", "alice", "dave"].map((user) => member(user)));
    assertSpread(clients, 3);
    const [alice, bob1, bob2, carol, alice2, dave] = clients;
    for (const c of clients) await c.client.rooms();
    const sent = await alice.client.sendTo("bob", "psst");
    await Promise.all([bob1.waitFor(1), bob2.waitFor(1), alice.waitFor(1), alice2.waitFor(1)]);
    for (const c of [bob1, bob2, alice, alice2]) assert.deepEqual([c.messages[0].to, c.messages[0].text, c.messages[0].msgId], ["bob", "psst", sent.msgId]);
    assert.equal(carol.messages.length, 0);

    await alice.client.join("dev");
    await carol.client.join("dev");
    const first = await alice.client.send("dev", "only once", "retry-1");
    const again = await alice2.client.join("dev").then(() => alice2.client.send("dev", "only once", "retry-1"));
    assert.equal(again.msgId, first.msgId);
    assert.equal(again.duplicate, true);
    for (let i = 2; i <= 6; i += 1) await alice.client.send("dev", `m${i}`);
    const joined = await dave.client.join("dev", { since: 3 });
    assert.equal(joined.lastMsgId, 6);
    assert.equal(joined.replayed, 3);
    await alice.client.send("dev", "m7");
    const got = await dave.waitFor(4);
    assert.deepEqual(got.map((m) => [m.msgId, m.replay === true]), [[4, true], [5, true], [6, true], [7, false]]);
    await carol.waitFor(7);
    assert.deepEqual(carol.messages.map((m) => m.text), ["only once", "m2", "m3", "m4", "m5", "m6", "m7"], "the retry was delivered once");
    assert.ok(carol.presence.some((p) => p.user === "dave" && p.action === "join"), "presence crosses workers");
    dave.client.conn.destroy();
    const deadline = Date.now() + 10_000;
    while ((await carol.client.who("dev")).includes("dave")) {
      assert.ok(Date.now() < deadline, "a closed connection leaves its rooms on the primary");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  test("a member that does not read is cut off by its worker (E_SLOW_CONSUMER) and leaves the room; the others get everything", async () => {
    const [alice, bob] = await Promise.all([member("alice"), member("bob")]);
    await alice.client.join("slow");
    await bob.client.join("slow");
    const sloth = await rawConnect(serve.tcpUrl);
    sloth.socket.write(encodeFrame({ type: "auth", id: 1, user: "carol", password: PASSWORD }));
    assert.equal((await sloth.nextFrame(10_000)).header.ok, true);
    sloth.socket.write(encodeFrame({ type: "chat.join", id: 2, room: "slow" }));
    assert.equal((await sloth.nextFrame(10_000)).header.ok, true);
    sloth.socket.pause();
    const text = "z".repeat(4000);
    let sent = 0;
    while (sent < 20_000) {
      await Promise.all(Array.from({ length: 50 }, () => alice.client.send("slow", text)));
      sent += 50;
      if (!(await alice.client.who("slow")).includes("carol")) break;
    }
    assert.ok(!(await alice.client.who("slow")).includes("carol"), "the slow member was dropped from the room");
    const cutAt = Date.now();
    // Read now: the server gives a cut connection a few seconds to take its last frames, then drops it.
    sloth.socket.resume();
    await sloth.closed;
    await bob.waitFor(sent, 60_000);
    assert.deepEqual(bob.messages.map((m) => m.msgId), Array.from({ length: sent }, (_, i) => i + 1), "the others missed nothing");
    const last = sloth.frames.at(-1);
    assert.equal((last?.header.error as { code: string } | undefined)?.code, "E_SLOW_CONSUMER", `${sent} sent, ${sloth.frames.length} frames, ${Date.now() - cutAt} ms: ${JSON.stringify(sloth.frames.slice(-2).map((f) => f.header))}`);
    sloth.socket.destroy();
  });

  test("SIGTERM: every chat member, on every worker, is told to reconnect (chat.reconnect) before its connection closes", async () => {
    const members = await Promise.all(USERS.map((user) => member(user)));
    assertSpread(members, 3);
    for (const m of members) await m.client.join("bye");
    const told = members.map((m) => new Promise<{ reason: string }>((resolve) => m.client.once("reconnect", resolve)));
    const closed = members.map((m) => new Promise<void>((resolve) => m.client.conn.once("close", () => resolve())));
    serve.child.kill("SIGTERM");
    const reasons = await Promise.all(told);
    assert.deepEqual(reasons.map((r) => r.reason), USERS.map(() => "draining"));
    await Promise.all(closed);
    await new Promise<void>((resolve) => (serve.child.exitCode !== null ? resolve() : serve.child.once("exit", () => resolve())));
    assert.equal(serve.child.exitCode, 0, serve.stderr());
  });
});
