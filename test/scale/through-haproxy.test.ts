/**
 * The scenarios that chat-redis.test.ts and redis-shared-state.test.ts prove against the nodes directly, run
 * again the way clients meet production (issue 14): through HAProxy (deploy/haproxy.cfg, leastconn, PROXY v2),
 * three `wharf serve --redis` nodes on 127.0.0.2-4 and one redis-server. Each test checks that HAProxy really
 * spread its connections over the nodes, from the nodes' own /metrics.
 */
import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type Connection } from "../../src/client/index.js";
import { login, revokeToken } from "../../src/services/accounts/index.js";
import { startCluster, type Cluster } from "../helpers/cluster.js";
import { parsePrometheus, sumOf } from "../helpers/prometheus.js";
import { chatClient, type Recorder } from "../services/chat/helpers.js";
import { codeOf } from "../services/files/helpers.js";
import { assertOneOrder, flood, patiently } from "./chat-nodes.js";

const USERS = ["m0", "m1", "m2", "m3", "m4", "m5", "alice", "bob"].map((name) => ({ name, password: "pw" }));

/** Open stream connections per node, from each node's /metrics. */
async function openPerNode(cluster: Cluster): Promise<number[]> {
  const counts: number[] = [];
  for (const node of cluster.nodes) counts.push(sumOf(parsePrometheus((await node.httpGet("/metrics")).body).samples, "wharf_connections_open", { transport: "tcp" }));
  return counts;
}

/** Waits until no node has a stream connection open (an earlier test's are closed). */
async function idle(cluster: Cluster): Promise<void> {
  for (let i = 0; i < 250 && (await openPerNode(cluster)).some((n) => n > 0); i += 1) await sleep(20);
}

/** `n` connections through HAProxy, opened one after another: leastconn gives each to the emptiest node. */
async function spread(t: TestContext, cluster: Cluster, n: number): Promise<Connection[]> {
  const conns: Connection[] = [];
  for (let i = 0; i < n; i += 1) conns.push(await connect(cluster.url));
  t.after(() => conns.forEach((c) => c.destroy()));
  // The node counts its connection once HAProxy has relayed it; give the relay a moment.
  for (let i = 0; i < 50 && (await openPerNode(cluster)).reduce((a, b) => a + b, 0) < n; i += 1) await sleep(20);
  return conns;
}

describe("the scale scenarios through HAProxy", { timeout: 600_000 }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ users: USERS, redis: true, nodeArgs: ["--chat-rate", "100000"] });
  });
  after(() => cluster?.stop());

  test("chat: 4 senders x 2,500 messages to members HAProxy spread over 3 nodes; all 10,000 in one order, none twice", async (t) => {
    const members: Recorder[] = [];
    for (let i = 0; i < 6; i += 1) members.push(await patiently(() => chatClient(t, cluster.url, `m${i}`)));
    const perNode = await openPerNode(cluster);
    assert.deepEqual(perNode, [2, 2, 2], "leastconn put two members on each node");
    for (const m of members) await patiently(() => m.client.join("flood"));
    const perSender = 2_500;
    await flood(members.slice(0, 4), "flood", perSender);
    const total = 4 * perSender;
    const received = await Promise.all(members.map((m) => m.waitFor(total, 180_000)));
    assertOneOrder(received, total);
  });

  test("a token issued through one node works on the others; revoked, it fails on all at once", async (t) => {
    await idle(cluster);
    const first = await spread(t, cluster, 3);
    assert.deepEqual(await openPerNode(cluster), [1, 1, 1], "one connection on each node");
    const issued = await patiently(() => login(first[0]!, { user: "alice", password: "pw", issueToken: true }));
    assert.ok(issued.token);
    for (const conn of first.slice(1)) assert.equal((await patiently(() => login(conn, { token: issued.token! }))).user, "alice");
    first.forEach((c) => c.destroy());
    await idle(cluster);
    const second = await spread(t, cluster, 3);
    assert.equal(await patiently(() => revokeToken(second[1]!, issued.token!)), true);
    const third = await spread(t, cluster, 3);
    assert.ok((await openPerNode(cluster)).every((n) => n >= 2), "the third round reached every node too");
    for (const conn of third) assert.equal(await codeOf(patiently(() => login(conn, { token: issued.token! }))), "E_AUTH");
  });

  test("five wrong passwords spread by HAProxy over the three nodes trigger E_AUTH_THROTTLED", async (t) => {
    await idle(cluster);
    const conns = await spread(t, cluster, 6);
    assert.deepEqual(await openPerNode(cluster), [2, 2, 2]);
    const codes: string[] = [];
    // conns[0..2] sit on three different nodes, as do conns[3..5].
    for (let i = 0; i < 5; i += 1) codes.push(await codeOf(patiently(() => login(conns[i]!, "bob", "wrong"))));
    assert.deepEqual(codes.slice(0, 3), ["E_AUTH", "E_AUTH", "E_AUTH"], "three free failures, counted across nodes");
    assert.ok(codes.slice(3).every((code) => code === "E_AUTH_THROTTLED"), `the 4th and 5th are throttled: ${codes.join(" ")}`);
    assert.equal(await codeOf(patiently(() => login(conns[5]!, "bob", "pw"))), "E_AUTH_THROTTLED", "the right password waits too");
  });

  test("Redis stopped: HAProxy finds no node ready, yet ping and time go through while logins fail fast; Redis back: all recovers", async (t) => {
    const redis = cluster.redis!;
    await redis.stop();
    for (const node of cluster.nodes) await cluster.waitForStatus(node.name, /^DOWN/, 15_000);
    const conn = await connect(cluster.url);
    t.after(() => conn.destroy());
    assert.equal((await conn.request("ping", {}, Buffer.from("still"))).body.toString(), "still", "alive nodes take clients");
    assert.equal(typeof (await conn.request("time", {})).header.t2, "number");
    const started = Date.now();
    assert.equal(await codeOf(login(conn, "alice", "pw")), "E_UNAVAILABLE");
    assert.ok(Date.now() - started < 3_000, `failed fast (${Date.now() - started} ms)`);
    assert.equal((await fetch(`${cluster.httpUrl}/readyz`)).status, 503, "a node says why it is not ready");
    await redis.restart();
    for (const node of cluster.nodes) await cluster.waitForStatus(node.name, /^UP/, 30_000);
    const again = await connect(cluster.url);
    t.after(() => again.destroy());
    assert.equal((await patiently(() => login(again, "alice", "pw"))).user, "alice");
  });
});
