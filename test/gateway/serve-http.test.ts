import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { connect } from "../../src/client/index.js";
import { login } from "../../src/services/accounts/index.js";
import { FilesClient } from "../../src/services/files/index.js";
import type { StatsSnapshot } from "../../src/services/stats/index.js";
import { encodeFrame } from "../../src/wire/index.js";
import { startServe, tempDir } from "../helpers/cli.js";
import { dataWithUsers } from "../services/files/helpers.js";
import { httpRequest } from "./helpers.js";

/** The header of a frame carried by one WebSocket message. */
function frameHeader(message: Buffer): Record<string, unknown> {
  const length = message.readUInt32BE(0);
  return JSON.parse(message.subarray(4, 4 + length).toString("utf8")) as Record<string, unknown>;
}

describe("wharf serve --http-port 0: links, the web app and stats through the gateway (issue 13)", () => {
  test("a link made over TCP downloads over the server's own HTTP port, whole and by range", async (t) => {
    const dataDir = await dataWithUsers(t);
    const serve = await startServe(t, ["--data", dataDir, "--http-port", "0"]);
    const http = serve.url("http");
    const conn = await connect(serve.url("tcp"));
    t.after(() => conn.destroy());
    await login(conn, "alice", "pw");
    const content = randomBytes(2 * 1024 * 1024 + 3);
    const src = join(tempDir(t), "f.bin");
    writeFileSync(src, content);
    await new FilesClient(conn).put(src, "f.bin");
    const { url } = (await conn.request("files.link", { path: "f.bin" })).header as unknown as { url: string };
    const whole = await fetch(http + url);
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(content), "bytes equal");
    const part = await httpRequest(http, url, { headers: { range: "bytes=1048576-1048675" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers["content-range"], `bytes 1048576-1048675/${content.length}`);
    assert.ok(part.body.equals(content.subarray(1048576, 1048676)));
    // "/" is the web app (or 404 when dist/web is not built): either way with its security headers.
    const page = await httpRequest(http, "/");
    assert.ok(page.status === 200 || page.status === 404, String(page.status));
    assert.match(String(page.headers["content-security-policy"]), /^default-src 'self'/);
    assert.equal((await httpRequest(http, "/../users.json")).status, 404);
    assert.equal((await httpRequest(http, "/dl/forged.token")).status, 404);
  });

  test("stats events reach a WebSocket subscriber each second and count its own traffic", async (t) => {
    const dataDir = await dataWithUsers(t);
    const serve = await startServe(t, ["--data", dataDir, "--http-port", "0"]);
    const ws = new WebSocket(`${serve.url("http").replace(/^http/, "ws")}/ws`, "wharf");
    t.after(() => ws.terminate());
    const frames: { at: number; header: Record<string, unknown> }[] = [];
    ws.on("message", (data: Buffer) => frames.push({ at: Date.now(), header: frameHeader(data) }));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const deadline = Date.now() + 15_000;
    const until = async (done: () => boolean) => {
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    };
    // Requests of one connection run at once: the login must be over before the subscription asks for it.
    ws.send(encodeFrame({ type: "auth", id: 1, user: "alice", password: "pw" }));
    await until(() => frames.some((f) => f.header.id === 1));
    ws.send(encodeFrame({ type: "stats.subscribe", id: 2 }));
    for (let id = 3; id < 53; id += 1) ws.send(encodeFrame({ type: "ping", id }, Buffer.alloc(1000)));
    const stats = () => frames.filter((f) => f.header.event === "stats");
    await until(() => stats().length >= 3);
    assert.equal(frames.find((f) => f.header.id === 1)?.header.ok, true, "logged in over the WebSocket");
    assert.equal(frames.find((f) => f.header.id === 2)?.header.ok, true, "subscribed");
    const events = stats();
    assert.ok(events.length >= 3, `${events.length} stats events in 15 s`);
    const gap = events[2].at - events[1].at;
    assert.ok(gap > 500 && gap < 2_000, `about a second apart: ${gap} ms`);
    const last = events.at(-1)!.header as unknown as StatsSnapshot;
    assert.ok((last.byType.ping?.count ?? 0) >= 50, JSON.stringify(last.byType));
    assert.equal(last.byType.auth, undefined, "the login came before anyone watched: requests are counted while watched");
    assert.ok(last.connections >= 1);
    assert.ok(last.bytesIn >= 50 * 1000, `bytesIn ${last.bytesIn}`);
    assert.ok(last.bytesOut >= 50 * 1000, `bytesOut ${last.bytesOut}`);
  });
});
