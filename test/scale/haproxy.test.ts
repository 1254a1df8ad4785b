/**
 * Three wharf nodes behind a real HAProxy running deploy/haproxy.cfg (issue 14): the client's address crosses the
 * balancer, /metrics moves, a SIGTERM drains a node without failing a request, and a `wharf put` whose node is
 * killed resumes on another node by itself.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, WharfError, type Connection } from "../../src/client/index.js";
import { encodeFrame, FrameDecoder, type FrameHeader } from "../../src/wire/index.js";
import { startCluster, type Cluster, type ClusterNode } from "../helpers/cluster.js";
import { parsePrometheus, sumOf } from "../helpers/prometheus.js";
import { blake3File, jsonLines, makeSparseFile, sha256File, wharfAs } from "../services/files/helpers.js";
import { tempDir } from "../helpers/cli.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Sends one frame from `localAddress` to host:port and resolves the first frame back (or null on a bare close). */
async function oneExchange(host: string, port: number, localAddress: string, bytes: Buffer): Promise<FrameHeader | null> {
  const socket = netConnect({ host, port, localAddress });
  socket.on("error", () => {});
  await once(socket, "connect");
  const frames: FrameHeader[] = [];
  const decoder = new FrameDecoder({ onFrame: (header) => void frames.push(header) });
  socket.on("data", (chunk: Buffer) => decoder.push(chunk));
  socket.write(bytes);
  const deadline = Date.now() + 10_000;
  while (frames.length === 0 && !socket.destroyed && Date.now() < deadline) await sleep(10);
  socket.destroy();
  return frames[0] ?? null;
}

async function nodeMetrics(node: ClusterNode): Promise<ReturnType<typeof parsePrometheus>["samples"]> {
  const { status, body } = await node.httpGet("/metrics");
  assert.equal(status, 200, `${node.name} /metrics`);
  return parsePrometheus(body).samples;
}

async function totalOver(nodes: ClusterNode[], name: string, labels: Record<string, string>): Promise<number> {
  let total = 0;
  for (const node of nodes) total += sumOf(await nodeMetrics(node), name, labels);
  return total;
}

const RETRYABLE = new Set(["E_SHUTTING_DOWN", "E_CONNECTION_CLOSED", "E_CONNECT"]);

describe("three nodes behind HAProxy", { timeout: 240_000 }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ users: [{ name: "alice", password: "pw" }] });
  });
  after(() => cluster?.stop());

  test("a node sees the client's own address through HAProxy (PROXY v2); a direct connection gets E_PROXY_HEADER", async () => {
    const { hostname, port } = new URL(cluster.url);
    const wrong = encodeFrame({ type: "auth", id: 1, user: "alice", password: "not this one" });
    const viaBalancer = await oneExchange(hostname, Number(port), "127.0.0.9", wrong);
    assert.equal((viaBalancer?.error as { code: string } | undefined)?.code, "E_AUTH");
    const deadline = Date.now() + 5_000;
    const logged = (): boolean => cluster.nodes.some((node) => /"peer":"127\.0\.0\.9".*failed login|failed login.*"peer":"127\.0\.0\.9"/.test(node.stderr()));
    while (!logged() && Date.now() < deadline) await sleep(20);
    assert.ok(logged(), "the failed login is logged with the client's address, not HAProxy's");

    const node = cluster.nodes[0]!;
    const untrusted = await oneExchange(node.host, node.tcpPort, "127.0.0.9", encodeFrame({ type: "ping", id: 1 }));
    assert.equal((untrusted?.error as { code: string }).code, "E_PROXY_HEADER");
    assert.match((untrusted?.error as { message: string }).message, /127\.0\.0\.9 is not a trusted proxy/);
    const headerless = await oneExchange(node.host, node.tcpPort, "127.0.0.1", encodeFrame({ type: "ping", id: 1 }));
    assert.equal((headerless?.error as { code: string }).code, "E_PROXY_HEADER");
  });

  test("/metrics parses as Prometheus text on every node, and its counters move with traffic through HAProxy", async () => {
    const viaBalancer = await fetch(`${cluster.httpUrl}/metrics`);
    assert.equal(viaBalancer.status, 200);
    parsePrometheus(await viaBalancer.text());
    assert.equal((await fetch(`${cluster.httpUrl}/readyz`)).status, 200);
    const before = await totalOver(cluster.nodes, "wharf_requests_total", { type: "ping", code: "ok" });
    const conns = await Promise.all([0, 1, 2].map(() => connect(cluster.url)));
    for (let i = 0; i < 30; i += 1) await conns[i % 3]!.request("ping", {}, Buffer.from(String(i)));
    const open = await totalOver(cluster.nodes, "wharf_connections_open", { transport: "tcp" });
    await Promise.all(conns.map((c) => c.close()));
    const afterCount = await totalOver(cluster.nodes, "wharf_requests_total", { type: "ping", code: "ok" });
    assert.equal(afterCount - before, 30);
    assert.equal(open, 3, "three connections open over the nodes while they ran");
    const durations = await totalOver(cluster.nodes, "wharf_request_duration_seconds_count", { type: "ping" });
    assert.ok(durations >= 30);
  });

  test("SIGTERM to a node under load: HAProxy stops routing to it (readyz), no request fails, its clients resume on other nodes", async () => {
    const victim = cluster.nodes[1]!;
    let stop = false;
    const stats = { ok: 0, retries: 0, failures: [] as unknown[] };
    const client = async (id: number): Promise<void> => {
      let conn: Connection = await connect(cluster.url);
      try {
        for (let n = 0; !stop; n += 1) {
          const body = Buffer.from(`${id}:${n}`);
          for (let attempt = 0; ; attempt += 1) {
            try {
              const reply = await conn.request("ping", {}, body, { timeout: 15_000 });
              assert.equal(reply.body.toString(), body.toString());
              stats.ok += 1;
              break;
            } catch (err) {
              if (!(err instanceof WharfError) || !RETRYABLE.has(err.code) || attempt >= 20) {
                stats.failures.push(err);
                return;
              }
              stats.retries += 1;
              conn.destroy();
              await sleep(20 * (attempt + 1));
              conn = await connect(cluster.url).catch((e: unknown) => {
                throw e;
              });
            }
          }
        }
      } finally {
        conn.destroy();
      }
    };
    const clients = Array.from({ length: 12 }, (_, id) => client(id).catch((err: unknown) => void stats.failures.push(err)));
    await sleep(1_000);
    const onVictim = sumOf(await nodeMetrics(victim), "wharf_connections_open", { transport: "tcp" });
    assert.ok(onVictim > 0, "leastconn gave the victim some of the clients");
    const okBefore = stats.ok;
    victim.child.kill("SIGTERM");
    await cluster.waitForStatus(victim.name, /^DOWN/, 10_000);
    assert.ok(victim.alive(), "HAProxy saw the node down while it still served (its drain delay)");
    assert.equal((await victim.httpGet("/readyz")).status, 503);
    const exit = await victim.exited;
    assert.equal(exit, 0, `the node exited cleanly: ${victim.stderr()}`);
    await sleep(1_000);
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(stats.failures, [], "no request failed");
    assert.ok(stats.ok > okBefore + 100, `requests went on after the SIGTERM (${stats.ok - okBefore} more)`);
    assert.ok(stats.retries >= 1, "the victim's clients reconnected");
    const others = cluster.nodes.filter((node) => node !== victim);
    // The clients' closes reach the nodes through HAProxy a moment later: wait for them (bounded), then insist on 0.
    let open = await totalOver(others, "wharf_connections_open", { transport: "tcp" });
    for (const deadline = Date.now() + 10_000; open > 0 && Date.now() < deadline; open = await totalOver(others, "wharf_connections_open", { transport: "tcp" })) await sleep(100);
    assert.equal(open, 0, "every client closed");
    const served = await totalOver(others, "wharf_connections_opened_total", { transport: "tcp" });
    assert.ok(served >= 12, `the other nodes took the clients over (${served} connections)`);
  });
});

function partialBytes(data: string): number {
  const dir = join(data, "homes", "alice", ".wharf", "partials");
  let total = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) if (name.endsWith(".part")) total += statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

describe("kill -9 of the node serving a 1 GiB wharf put", { timeout: 600_000 }, () => {
  // tmpfs when there is one: the test is about the cut, not about this machine's disk.
  const parent = existsSync("/dev/shm") ? "/dev/shm" : undefined;

  test("the put reconnects through HAProxy to another node, resumes (resumedFrom > 0) and the stored hash is right", async (t) => {
    // With --redis the killed node's upload lease holds the name for its TTL (15 s): the put waits it out (E_BUSY).
    const cluster = await startCluster({ users: [{ name: "alice", password: "pw" }], dataParent: parent, redis: true });
    t.after(() => cluster.stop());
    const dir = parent === undefined ? tempDir(t) : tempDir(t, "wharf-big-");
    const local = join(parent ?? dir, `wharf-put-${process.pid}.bin`);
    t.after(async () => (await import("node:fs/promises")).rm(local, { force: true }));
    await makeSparseFile(local, GiB, 14);
    const putting = wharfAs(cluster.url, "alice", ["put", local, "big.bin", "--json"], { timeout: 400_000 });
    const deadline = Date.now() + 120_000;
    while (partialBytes(cluster.dataDir) < 96 * MiB && Date.now() < deadline) await sleep(10);
    const landed = partialBytes(cluster.dataDir);
    assert.ok(landed >= 96 * MiB, `the upload is under way (${landed} bytes)`);
    let serving: ClusterNode | undefined;
    for (const node of cluster.nodes) if (sumOf(await nodeMetrics(node), "wharf_connections_open", { transport: "tcp" }) > 0) serving = node;
    assert.ok(serving !== undefined, "one node serves the put");
    serving.child.kill("SIGKILL");
    await serving.exited;
    assert.equal(serving.alive(), false);
    const run = await putting;
    t.diagnostic(`wharf put said: ${run.stderr.trim()}`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /reconnecting in .* to resume \(retry 1 of 8\)/);
    const [result] = jsonLines(run.stdout);
    assert.ok(Number(result!.resumedFrom) > 0, `resumed from ${String(result!.resumedFrom)}`);
    assert.ok(Number(result!.resumedFrom) < GiB);
    assert.equal(result!.size, GiB);
    assert.equal(result!.hash, await blake3File(local));
    assert.equal(await sha256File(join(cluster.dataDir, "homes", "alice", "big.bin")), await sha256File(local));
  });
});

describe("SIGTERM (--shutdown-timeout 0) to the node serving a wharf put -r of eight files", { timeout: 600_000 }, () => {
  const parent = existsSync("/dev/shm") ? "/dev/shm" : undefined;

  test("the cut transfer goes on over one new connection through HAProxy, the rest follow on it, and every file lands whole", async (t) => {
    // No time to finish in flight: with the default 10 s, the eight transfers would simply complete (a graceful drain).
    const cluster = await startCluster({ users: [{ name: "alice", password: "pw" }], dataParent: parent, nodeArgs: ["--shutdown-timeout", "0", "--drain-delay", "0.3"] });
    t.after(() => cluster.stop());
    const dir = join(tempDir(t, "wharf-tree-"), "tree");
    await (await import("node:fs/promises")).mkdir(dir);
    const names = Array.from({ length: 8 }, (_, i) => `f${i}.bin`);
    for (const [i, name] of names.entries()) await makeSparseFile(join(dir, name), 96 * MiB, 100 + i);
    const putting = wharfAs(cluster.url, "alice", ["put", "-r", dir, "tree", "--json"], { timeout: 400_000 });
    const deadline = Date.now() + 120_000;
    while (partialBytes(cluster.dataDir) < 32 * MiB && Date.now() < deadline) await sleep(10);
    let serving: ClusterNode | undefined;
    for (const node of cluster.nodes) if (sumOf(await nodeMetrics(node), "wharf_connections_open", { transport: "tcp" }) > 0) serving = node;
    assert.ok(serving !== undefined, "one node serves the put");
    const others = cluster.nodes.filter((node) => node !== serving);
    const openedBefore = await totalOver(others, "wharf_connections_opened_total", { transport: "tcp" });
    serving.child.kill("SIGTERM");
    const run = await putting;
    t.diagnostic(`wharf put said: ${run.stderr.trim()}`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /E_SHUTTING_DOWN|E_CONNECTION_CLOSED/);
    assert.equal(await serving.exited, 0);
    const opened = (await totalOver(others, "wharf_connections_opened_total", { transport: "tcp" })) - openedBefore;
    assert.equal(opened, 1, "one new connection for the rest of the tree");
    const lines = jsonLines(run.stdout).filter((line) => line.summary !== true);
    assert.equal(lines.length, 8);
    for (const name of names) {
      assert.equal(await sha256File(join(cluster.dataDir, "homes", "alice", "tree", name)), await sha256File(join(dir, name)), name);
    }
  });
});
