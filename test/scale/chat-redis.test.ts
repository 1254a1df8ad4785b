/**
 * Issue 14, with real processes: three `wharf serve --redis` nodes on 127.0.0.2, .3 and .4 (the shape of three
 * machines) and a real redis-server (appendonly yes, appendfsync always). Chat is one system across them: one
 * order for 10,000 messages from 4 senders; a `wharf chat` whose node is killed (kill -9) or drained (SIGTERM)
 * reconnects to another node and misses nothing acknowledged, shows nothing twice; a Redis restart mid-chat
 * loses nothing acknowledged and members carry on.
 */
import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { tempDir } from "../helpers/cli.js";
import { addUsers, cloneUser } from "../helpers/serve-process.js";
import { chatClient, type Recorder } from "../services/chat/helpers.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { accountsImported, assertOneOrder, chatCli, flood, patiently, startNode, type WharfNode } from "./chat-nodes.js";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { Connection } from "../../src/client/index.js";
import { login } from "../../src/services/accounts/index.js";
import { ChatClient, type ReceivedMessage } from "../../src/services/chat/index.js";
import { childPids, workerOfConnections } from "./chat-spread.js";

const PASSWORD = "pw";
const HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const USERS = ["reader", "writer", "m0", "m1", "m2", "m3", "m4", "m5"];

let redis: RedisServer;
let dataDir: string;

async function threeNodes(t: TestContext): Promise<WharfNode[]> {
  const nodes = await Promise.all(HOSTS.map((host) => startNode(host, dataDir, ["--redis", redis.url, "--chat-rate", "100000"])));
  t.after(() => Promise.all(nodes.map((node) => node.kill9())));
  for (const node of nodes) await accountsImported(node.url, USERS[0], PASSWORD);
  return nodes;
}


/** A logged-in member on a node (the login reads the account from Redis: patiently too). */
function member(t: TestContext, url: string, user: string): Promise<Recorder> {
  return patiently(() => chatClient(t, url, user));
}

/** Asserts that a member saw each msgId at most once, in increasing order, and every one of `acked`. */
function assertComplete(ids: number[], acked: number[], who: string): void {
  for (let i = 1; i < ids.length; i += 1) assert.ok(ids[i] > ids[i - 1], `${who}: msgId ${ids[i]} after ${ids[i - 1]} (none twice, in order)`);
  const seen = new Set(ids);
  const missing = acked.filter((id) => !seen.has(id));
  assert.deepEqual(missing, [], `${who} missed acknowledged messages`);
}

describe("chat across three nodes sharing Redis", { timeout: 600_000 }, () => {
  before(async () => {
    redis = await startRedis();
    dataDir = (await import("node:fs")).mkdtempSync(`${(await import("node:os")).tmpdir()}/wharf-chat-nodes-`);
    await addUsers(dataDir, [{ name: USERS[0], password: PASSWORD }]);
    cloneUser(dataDir, USERS[0], USERS.slice(1));
  });
  after(async () => {
    await redis.dispose();
    (await import("node:fs")).rmSync(dataDir, { recursive: true, force: true });
  });

  test("4 senders x 2,500 messages over 3 nodes: every member receives all 10,000 in one order, none twice", async (t) => {
    const nodes = await threeNodes(t);
    const members: Recorder[] = [];
    for (let i = 0; i < 6; i += 1) members.push(await member(t, nodes[i % 3].url, `m${i}`));
    for (const m of members) await patiently(() => m.client.join("flood"));
    const perSender = 2_500;
    const started = Date.now();
    await flood(members.slice(0, 4), "flood", perSender);
    const sendMs = Date.now() - started;
    const total = 4 * perSender;
    const received = await Promise.all(members.map((m) => m.waitFor(total, 120_000)));
    const allMs = Date.now() - started;
    t.diagnostic(`10,000 messages sent in ${sendMs} ms, all delivered to 6 members on 3 nodes in ${allMs} ms`);
    const order = assertOneOrder(received, total);
    assert.equal(new Set(order.map((line) => line.split(":")[1])).size, total, "every message once");
    assert.ok(sendMs < 60_000, `sending took ${sendMs} ms`);
  });

  test("kill -9 of a wharf chat's node: it reconnects to another node and, with since, misses nothing acknowledged", async (t) => {
    const nodes = await threeNodes(t);
    const reader = chatCli(["crash", "--server", nodes.map((n) => n.url).join(","), "--user", "reader", "--json", "--follow"], PASSWORD);
    reader.end(); // nothing to send: with --follow it prints until SIGTERM
    t.after(() => reader.child.kill("SIGKILL"));
    const writer = await member(t, nodes[1].url, "writer");
    await patiently(() => writer.client.join("crash"));
    const deadline = Date.now() + 30_000;
    while (!(await patiently(() => writer.client.who("crash"))).includes("reader")) {
      assert.ok(Date.now() < deadline, `reader joined: ${reader.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const acked: number[] = [];
    const sendSome = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i += 1) {
        const clientId = writer.client.nextClientId();
        const text = `c${acked.length}`;
        acked.push((await patiently(() => writer.client.send("crash", text, clientId))).msgId);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await sendSome(100);
    await nodes[0].kill9();
    await sendSome(100);
    const ids = (): number[] => reader.records.filter((r) => r.type === "message" && r.room === "crash").map((r) => Number(r.msgId));
    await reader.until(() => new Set(ids()).size >= acked.length, "every acknowledged message at the reader", 60_000);
    assertComplete(ids(), acked, "the reader");
    assert.match(reader.stderr(), /reconnected to tcp:\/\/127\.0\.0\.[34]/, "it moved to another node");
    reader.child.kill("SIGTERM");
    assert.equal(await reader.exited, 0, reader.stderr());
  });

  test("SIGTERM drains a node: its wharf chat clients get chat.reconnect, move, and nothing is lost or doubled", async (t) => {
    const nodes = await threeNodes(t);
    const servers = nodes.map((n) => n.url).join(",");
    const observer = await member(t, nodes[1].url, "m0");
    await patiently(() => observer.client.join("drain"));
    const reader = chatCli(["drain", "--server", servers, "--user", "reader", "--json", "--follow"], PASSWORD);
    const writer = chatCli(["drain", "--server", servers, "--user", "writer", "--json"], PASSWORD);
    reader.end();
    t.after(() => {
      reader.child.kill("SIGKILL");
      writer.child.kill("SIGKILL");
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const who = await patiently(() => observer.client.who("drain"));
      if (who.includes("reader") && who.includes("writer")) break;
      assert.ok(Date.now() < deadline, "both clients joined");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = 200;
    let stopped: Promise<number | null> | null = null;
    for (let i = 0; i < lines; i += 1) {
      writer.write(`d${i}`);
      if (i === 80) stopped = nodes[0].term();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    writer.end();
    assert.equal(await writer.exited, 0, writer.stderr());
    assert.equal(await stopped, 0, `the drained node stopped cleanly: ${nodes[0].stderr()}`);
    const texts = Array.from({ length: lines }, (_, i) => `d${i}`);
    await observer.waitFor(lines, 60_000);
    assert.deepEqual(observer.messages.map((m) => m.text), texts, "every line once, in order");
    const readerTexts = (): string[] => reader.records.filter((r) => r.type === "message").map((r) => String(r.text));
    await reader.until((records) => records.filter((r) => r.type === "message").length >= lines, "the reader got every line", 60_000);
    assert.deepEqual(readerTexts(), texts, "the reader: every line once, in order");
    assert.match(reader.stderr(), /draining/, "the reader was told to reconnect");
    reader.child.kill("SIGTERM");
    assert.equal(await reader.exited, 0);
  });

  test("Redis restarted mid-chat (appendonly, appendfsync always): no acknowledged message lost, members carry on", async (t) => {
    const nodes = await threeNodes(t);
    const members: Recorder[] = [];
    for (let i = 0; i < 3; i += 1) members.push(await member(t, nodes[i].url, `m${i}`));
    for (const m of members) await patiently(() => m.client.join("restart"));
    const acked: number[] = [];
    let failed = 0;
    let running = true;
    const sender = async (m: Recorder): Promise<void> => {
      while (running) {
        try {
          acked.push((await m.client.send("restart", `r${acked.length}`)).msgId);
        } catch (err) {
          assert.equal((err as { code?: string }).code, "E_UNAVAILABLE", String(err));
          failed += 1;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const senders = [sender(members[0]), sender(members[1])];
    while (acked.length < 100) await new Promise((resolve) => setTimeout(resolve, 20));
    await redis.restart();
    const afterRestart = acked.length;
    const deadline = Date.now() + 30_000;
    while (acked.length < afterRestart + 100) {
      assert.ok(Date.now() < deadline, "sends resume by themselves after the restart");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    running = false;
    await Promise.all(senders);
    t.diagnostic(`${acked.length} acknowledged, ${failed} refused with E_UNAVAILABLE while Redis restarted`);
    const top = Math.max(...acked);
    await Promise.all(members.map((m) => m.waitFor(acked.length, 60_000)));
    for (const [i, m] of members.entries()) {
      const deadlineAll = Date.now() + 30_000;
      while ((m.messages.at(-1)?.msgId ?? 0) < top && Date.now() < deadlineAll) await new Promise((resolve) => setTimeout(resolve, 50));
      assertComplete(m.messages.map((x) => x.msgId), acked, `member ${i}`);
    }
  });

  test("--workers 2 --redis: each worker serves chat from Redis; members on both workers and on another node share one order", async (t) => {
    const multi = await startNode(HOSTS[0], dataDir, ["--redis", redis.url, "--chat-rate", "100000", "--workers", "2"]);
    const single = await startNode(HOSTS[1], dataDir, ["--redis", redis.url, "--chat-rate", "100000"]);
    t.after(() => Promise.all([multi.term(), single.kill9()]));
    for (const node of [multi, single]) await accountsImported(node.url, USERS[0], PASSWORD);
    const port = Number(new URL(multi.url).port);
    const local: { client: ChatClient; port: number; got: ReceivedMessage[] }[] = [];
    for (let i = 0; i < 4; i += 1) {
      const socket = netConnect(port, multi.host);
      await once(socket, "connect");
      const conn = new Connection(socket);
      t.after(() => conn.destroy());
      await patiently(() => login(conn, `m${i}`, PASSWORD));
      const client = new ChatClient(conn);
      const got: ReceivedMessage[] = [];
      client.on("message", (m: ReceivedMessage) => got.push(m));
      local.push({ client, port: socket.localPort!, got });
    }
    const owners = workerOfConnections(childPids(multi.pid), port, local.map((m) => m.port));
    assert.equal(new Set(owners).size, 2, `members on both workers: ${JSON.stringify(owners)}`);
    const other = await member(t, single.url, "m5");
    for (const m of local) await patiently(() => m.client.join("mixed"));
    await patiently(() => other.client.join("mixed"));
    await Promise.all(
      [...local.slice(0, 2).map((m) => m.client), other.client].map((client, s) =>
        Promise.all(Array.from({ length: 100 }, (_, i) => {
          const clientId = client.nextClientId();
          return patiently(() => client.send("mixed", `s${s}-${i}`, clientId));
        })),
      ),
    );
    await other.waitFor(300, 60_000);
    const order = other.messages.map((m) => `${m.msgId}:${m.text}`);
    assert.deepEqual(other.messages.map((m) => m.msgId), Array.from({ length: 300 }, (_, i) => i + 1));
    const deadline = Date.now() + 60_000;
    while (local.some((m) => m.got.length < 300) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const m of local) assert.deepEqual(m.got.map((x) => `${x.msgId}:${x.text}`), order, "one order on every worker and node");
  });
});
