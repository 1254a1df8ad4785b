/**
 * Issue 14 through the real load balancer: three `wharf serve --redis` nodes behind HAProxy running
 * deploy/haproxy.cfg (test/helpers/cluster.ts). `wharf chat --server <haproxy>` has one address only; when its
 * node is killed (kill -9) or drained (SIGTERM), it reconnects through HAProxy to another node and, with since,
 * misses nothing acknowledged and shows nothing twice.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { startCluster, type Cluster, type ClusterNode } from "../helpers/cluster.js";
import { accountsImported, chatCli, type ChatCli } from "./chat-nodes.js";

const PASSWORD = "pw";
const USERS = ["reader", "writer", "watcher"].map((name) => ({ name, password: PASSWORD }));

/** Established connections to a node's wharf port (from HAProxy), read in /proc/net/tcp. */
function connectionsTo(node: ClusterNode): number {
  const ip = node.host.split(".").reverse().map((part) => Number(part).toString(16).padStart(2, "0")).join("").toUpperCase();
  const local = `${ip}:${node.tcpPort.toString(16).toUpperCase().padStart(4, "0")}`;
  return readFileSync("/proc/net/tcp", "utf8").split("\n").filter((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[1] === local && cols[3] === "01";
  }).length;
}

/** The node each new long-lived connection went to: the one whose count grew. */
async function nodeOfNewClient(cluster: Cluster, before: number[], what: string): Promise<ClusterNode> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const grown = cluster.nodes.filter((node, i) => connectionsTo(node) > before[i]);
    if (grown.length === 1) return grown[0];
    if (Date.now() > deadline) throw new Error(`could not tell which node ${what} is on`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function messageIds(cli: ChatCli, room: string): number[] {
  return cli.records.filter((r) => r.type === "message" && r.room === room).map((r) => Number(r.msgId));
}

async function joined(watcher: ChatCli, room: string, users: string[]): Promise<void> {
  // The watcher asks /who until every user is in the room (its answers are "who" records).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const before = watcher.records.length;
    watcher.write("/who");
    await watcher.until((records) => records.length > before && records.slice(before).some((r) => r.type === "who"), "a /who answer");
    const who = watcher.records.slice(before).find((r) => r.type === "who") as { users: string[] };
    if (users.every((user) => who.users.includes(user))) return;
    assert.ok(Date.now() < deadline, `${users.join(", ")} joined ${room}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("wharf chat through HAProxy", { timeout: 600_000 }, () => {
  test("kill -9 of the reader's node, then SIGTERM of the writer's: both move through HAProxy, every line once, in order", async (t) => {
    const cluster = await startCluster({ redis: true, users: USERS, nodeArgs: ["--chat-rate", "100000"] });
    t.after(() => cluster.stop());
    await accountsImported(cluster.url, "reader", PASSWORD);
    const clis: ChatCli[] = [];
    t.after(() => {
      for (const cli of clis) cli.child.kill("SIGKILL");
    });
    const start = async (user: string, follow: boolean): Promise<{ cli: ChatCli; node: ClusterNode }> => {
      const before = cluster.nodes.map(connectionsTo);
      const cli = chatCli(["lobby", "--server", cluster.url, "--user", user, "--json", ...(follow ? ["--follow"] : [])], PASSWORD);
      clis.push(cli);
      return { cli, node: await nodeOfNewClient(cluster, before, user) };
    };
    const reader = await start("reader", true);
    reader.cli.end();
    const writer = await start("writer", false);
    const watcher = await start("watcher", true);
    assert.notEqual(writer.node, reader.node, "leastconn put the writer on another node");
    await joined(watcher.cli, "lobby", ["reader", "writer", "watcher"]);

    const lines = 300;
    for (let i = 0; i < lines; i += 1) {
      writer.cli.write(`line ${i}`);
      if (i === 50) reader.node.child.kill("SIGKILL");
      // SIGTERM: /readyz says 503 for the drain delay (2 s), then the chat clients are told to move.
      if (i === 100) writer.node.child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    writer.cli.end();
    assert.equal(await writer.cli.exited, 0, writer.cli.stderr());
    const texts = Array.from({ length: lines }, (_, i) => `line ${i}`);
    for (const [name, cli] of [["reader", reader.cli], ["watcher", watcher.cli]] as const) {
      await cli.until(() => cli.records.filter((r) => r.type === "message").length >= lines, `${name} got every line`, 90_000);
      const got = cli.records.filter((r) => r.type === "message").map((r) => String(r.text));
      assert.deepEqual(got, texts, `${name}: every line once, in order`);
      const ids = messageIds(cli, "lobby");
      for (let i = 1; i < ids.length; i += 1) assert.equal(ids[i], ids[i - 1] + 1, `${name}: dense msgIds`);
    }
    assert.match(reader.cli.stderr(), /reconnected to tcp:\/\/127\.0\.0\.1/, "the reader came back through HAProxy");
    assert.match(writer.cli.stderr(), /draining/, `the writer was told to move: ${writer.cli.stderr()}`);
    assert.equal(await writer.node.exited, 0, "the drained node stopped cleanly");
    watcher.cli.end();
    await new Promise((resolve) => setTimeout(resolve, 500)); // past its stdin loop, into --follow's wait
    for (const cli of [reader.cli, watcher.cli]) {
      cli.child.kill("SIGTERM");
      assert.equal(await cli.exited, 0, cli.stderr());
    }
  });
});
