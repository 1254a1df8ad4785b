import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { describe, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type Connection } from "../../../src/client/index.js";
import { AccountStore, login, registerAuth } from "../../../src/services/accounts/index.js";
import { registerStats, type StatsService, type StatsSnapshot } from "../../../src/services/stats/index.js";
import { tempDir } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";
import { codeOf } from "../files/helpers.js";

async function setup(t: TestContext, intervalMs?: number) {
  const dataDir = tempDir(t, "wharf-stats-");
  const accounts = new AccountStore(dataDir);
  await accounts.add("alice", "pw");
  let stats!: StatsService;
  const { server, url } = await startServer(t, {}, (s) => {
    registerAuth(s, accounts);
    stats = registerStats(s, intervalMs === undefined ? {} : { intervalMs });
  });
  t.after(() => stats.close());
  return { server, url, stats };
}

async function loggedIn(t: TestContext, url: string): Promise<Connection> {
  const conn = await connect(url);
  t.after(() => conn.destroy());
  await login(conn, "alice", "pw");
  return conn;
}

/** Collects the `stats` events of a connection, with when each arrived. */
function collect(conn: Connection): { at: number; snapshot: StatsSnapshot }[] {
  const events: { at: number; snapshot: StatsSnapshot }[] = [];
  conn.on("event", (header: Record<string, unknown>) => {
    if (header.event === "stats") events.push({ at: Date.now(), snapshot: header as unknown as StatsSnapshot });
  });
  return events;
}

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("stats.subscribe (issue 13)", () => {
  test("a subscriber gets a stats event every second with the snapshot's fields", async (t) => {
    const { url } = await setup(t);
    const conn = await loggedIn(t, url);
    const events = collect(conn);
    const reply = await conn.request("stats.subscribe");
    assert.equal(reply.header.intervalMs, 1000);
    const started = Date.now();
    await waitFor("three events", () => (events.length >= 3 ? true : undefined));
    const gaps = events.slice(1, 3).map((e, i) => e.at - events[i].at);
    for (const gap of gaps) assert.ok(gap > 600 && gap < 1600, `events about a second apart: ${gaps.join(", ")} ms`);
    assert.ok(events[0].at - started < 1600, "the first within about a second");
    const first = events[0].snapshot;
    for (const field of ["at", "intervalMs", "connections", "requests", "errors", "requestsPerSecond", "bytesIn", "bytesOut", "bytesInPerSecond", "bytesOutPerSecond", "latencySamples"] as const) {
      assert.equal(typeof first[field], "number", field);
    }
    assert.deepEqual(Object.keys(first.latencyMs).sort(), ["p50", "p90", "p99"]);
    assert.equal(typeof first.byType, "object");
    assert.ok(first.connections >= 1);
    assert.ok(Math.abs(first.at - Date.now()) < 5_000);
  });

  test("its counters move with traffic: per-type counts and rates, errors, latency and bytes", async (t) => {
    const { url } = await setup(t);
    const watcher = await loggedIn(t, url);
    const events = collect(watcher);
    await watcher.request("stats.subscribe");
    await waitFor("a first event", () => (events.length >= 1 ? true : undefined));
    const before = events.at(-1)!.snapshot;
    const worker = await connect(url);
    t.after(() => worker.destroy());
    await Promise.all(Array.from({ length: 200 }, () => worker.request("ping", {}, Buffer.alloc(4096))));
    for (let i = 0; i < 5; i += 1) await codeOf(worker.request("no.such.type"));
    const moved = await waitFor("an event counting the pings", () => events.map((e) => e.snapshot).find((s) => (s.byType.ping?.count ?? 0) >= (before.byType.ping?.count ?? 0) + 200));
    assert.ok(moved.requestsPerSecond > 0 || events.some((e) => e.snapshot.requestsPerSecond > 0), "a rate above 0");
    assert.ok(events.some((e) => (e.snapshot.byType.ping?.perSecond ?? 0) >= 100), "ping's rate shows the burst");
    assert.ok(moved.requests >= before.requests + 205);
    const other = moved.byType["(other)"];
    assert.ok(other !== undefined && other.errors >= 5, "unknown types count as errors under (other), not as a row each");
    assert.equal(moved.byType["no.such.type"], undefined);
    assert.ok(moved.errors >= 5);
    assert.ok(events.some((e) => e.snapshot.latencySamples > 0 && e.snapshot.latencyMs.p99 >= e.snapshot.latencyMs.p50 && e.snapshot.latencyMs.p50 >= 0));
    assert.ok(moved.bytesIn >= before.bytesIn + 200 * 4096, `bytes in: ${before.bytesIn} -> ${moved.bytesIn}`);
    assert.ok(moved.bytesOut >= before.bytesOut + 200 * 4096, `bytes out: ${before.bytesOut} -> ${moved.bytesOut}`);
    assert.ok(events.some((e) => e.snapshot.bytesInPerSecond >= 100 * 4096), "a byte rate shows the burst");
    assert.ok(moved.connections >= 2);
    await worker.close();
    await waitFor("the worker's connection to be gone from the count", () => (events.at(-1)!.snapshot.connections === 1 ? true : undefined));
  });

  test("needs a login; unsubscribe stops the events; a closed connection is forgotten", async (t) => {
    const { url, stats } = await setup(t, 100);
    const anonymous = await connect(url);
    t.after(() => anonymous.destroy());
    assert.equal(await codeOf(anonymous.request("stats.subscribe")), "E_AUTH");
    const conn = await loggedIn(t, url);
    const events = collect(conn);
    assert.equal(channel("wharf:request").hasSubscribers, false, "nobody watches yet");
    await conn.request("stats.subscribe");
    await conn.request("stats.subscribe"); // twice is once
    assert.equal(channel("wharf:request").hasSubscribers, true);
    await waitFor("events", () => (events.length >= 2 ? true : undefined));
    assert.equal(stats.subscribers, 1);
    assert.deepEqual((await conn.request("stats.unsubscribe")).header.subscribed, true);
    const count = events.length;
    await sleep(350);
    assert.ok(events.length <= count + 1, "no more events after unsubscribe (one may have been on its way)");
    assert.equal(stats.subscribers, 0);
    assert.equal(channel("wharf:request").hasSubscribers, false, "nobody watches: requests publish nothing");
    const other = await loggedIn(t, url);
    await other.request("stats.subscribe");
    assert.equal(stats.subscribers, 1);
    other.destroy();
    await waitFor("the closed connection to be dropped", () => (stats.subscribers === 0 ? true : undefined));
  });

  test("close() stops the timer: a subscriber gets nothing more", async (t) => {
    const { url, stats } = await setup(t, 100);
    const conn = await loggedIn(t, url);
    const events = collect(conn);
    await conn.request("stats.subscribe");
    await waitFor("an event", () => (events.length >= 1 ? true : undefined));
    await stats.close();
    const count = events.length;
    await sleep(400);
    assert.equal(events.length, count);
    assert.equal(await codeOf(conn.request("stats.subscribe")), "E_SHUTTING_DOWN");
    await stats.close(); // idempotent
  });
});
