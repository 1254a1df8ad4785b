import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "../../src/client/index.js";
import { DownloadLinks, LINK_KEY_FILE, MAX_LINK_TTL } from "../../src/gateway/download-links.js";
import { downloadRoute } from "../../src/gateway/download-route.js";
import { tempDir } from "../helpers/cli.js";
import { blake3Of, codeOf, session, startFilesServer } from "../services/files/helpers.js";
import { httpRequest, serveRoutes } from "./helpers.js";

/** A files server with alice and bob, the download route on HTTP, and alice's file `name` holding `content`. */
async function setup(t: TestContext, name = "docs/report é.bin", content: Buffer = randomBytes(3 * 1024 * 1024 + 5)) {
  const { server, url, dataDir, accounts } = await startFilesServer(t, { users: { alice: {}, bob: {} } });
  const base = await serveRoutes(t, { "/dl/": downloadRoute({ dataDir, accounts }) }, server);
  const alice = await session(t, url, "alice");
  const local = tempDir(t);
  const src = join(local, "src.bin");
  writeFileSync(src, content);
  await alice.files.put(src, name);
  const link = async (path = name, extra: Record<string, unknown> = {}, who = alice) => (await who.conn.request("files.link", { path, ...extra })).header as unknown as { url: string; expires: number; hash: string; fileSize: number; path: string };
  return { url, dataDir, base, alice, local, link, content, name };
}

/** How many descriptors of this (in-process) server are open on a file of that name. */
function openFilesNamed(name: string): number {
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).endsWith(`/${name}`)) count += 1;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

function looksLikeShortText(body: Buffer): void {
  const text = body.toString();
  assert.ok(text.length > 0 && text.length < 200, `a short text body: ${text}`);
  assert.doesNotMatch(text, /\bat .*\.js:\d+/, "no stack trace");
}

describe("files.link and GET /dl/<token> (issue 13)", () => {
  test("a link downloads the file's exact bytes, with ETag, length, disposition and safety headers", async (t) => {
    const { base, link, content, name } = await setup(t);
    const made = await link();
    assert.match(made.url, /^\/dl\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.equal(made.hash, blake3Of(content));
    assert.equal(made.fileSize, content.length);
    assert.ok(made.expires > Date.now() + 9 * 60_000 && made.expires <= Date.now() + 10 * 60_000, "10 minutes by default");
    const answer = await fetch(base + made.url);
    assert.equal(answer.status, 200);
    const body = Buffer.from(await answer.arrayBuffer());
    assert.ok(body.equals(content), "bytes equal");
    assert.equal(answer.headers.get("etag"), `"${blake3Of(content)}"`);
    assert.equal(answer.headers.get("content-length"), String(content.length));
    assert.equal(answer.headers.get("accept-ranges"), "bytes");
    assert.equal(answer.headers.get("cache-control"), "private, no-store");
    assert.equal(answer.headers.get("x-content-type-options"), "nosniff");
    assert.equal(answer.headers.get("content-type"), "application/octet-stream");
    assert.equal(answer.headers.get("content-disposition"), `attachment; filename="report _.bin"; filename*=UTF-8''${encodeURIComponent(name.split("/").at(-1)!)}`);
  });

  test("Range: one range gets 206 with its bytes and Content-Range; suffix and open ranges too; several ranges get 200", async (t) => {
    const { base, link, content } = await setup(t);
    const { url } = await link();
    const size = content.length;
    const cases: [string, number, number][] = [
      ["bytes=100-199", 100, 199],
      ["bytes=0-0", 0, 0],
      [`bytes=${size - 7}-`, size - 7, size - 1],
      ["bytes=-10", size - 10, size - 1],
      [`bytes=1000-${size * 2}`, 1000, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const answer = await httpRequest(base, url, { headers: { range } });
      assert.equal(answer.status, 206, range);
      assert.equal(answer.headers["content-range"], `bytes ${start}-${end}/${size}`, range);
      assert.equal(answer.headers["content-length"], String(end - start + 1), range);
      assert.ok(answer.body.equals(content.subarray(start, end + 1)), `${range}: bytes equal`);
    }
    const several = await httpRequest(base, url, { headers: { range: "bytes=0-1,5-9" } });
    assert.equal(several.status, 200);
    assert.ok(several.body.equals(content));
  });

  test("If-Range: the current ETag keeps the range, another tag or a date gets the whole file", async (t) => {
    const { base, link, content } = await setup(t);
    const { url, hash } = await link();
    const same = await httpRequest(base, url, { headers: { range: "bytes=10-19", "if-range": `"${hash}"` } });
    assert.equal(same.status, 206);
    assert.ok(same.body.equals(content.subarray(10, 20)));
    for (const ifRange of ['"blake3:0000"', new Date().toUTCString()]) {
      const other = await httpRequest(base, url, { headers: { range: "bytes=10-19", "if-range": ifRange } });
      assert.equal(other.status, 200, ifRange);
      assert.ok(other.body.equals(content));
    }
  });

  test("HEAD answers the headers of a GET without the body", async (t) => {
    const { base, link, content } = await setup(t);
    const { url, hash } = await link();
    const head = await httpRequest(base, url, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], String(content.length));
    assert.equal(head.headers.etag, `"${hash}"`);
    assert.equal(head.body.length, 0);
    const ranged = await httpRequest(base, url, { method: "HEAD", headers: { range: "bytes=0-9" } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers["content-length"], "10");
    assert.equal(ranged.body.length, 0);
  });

  test("If-None-Match with the ETag gets 304 and no body; another tag gets the file", async (t) => {
    const { base, link, content } = await setup(t);
    const { url, hash } = await link();
    const cached = await httpRequest(base, url, { headers: { "if-none-match": `W/"x", "${hash}"` } });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
    assert.equal(cached.headers.etag, `"${hash}"`);
    const stale = await httpRequest(base, url, { headers: { "if-none-match": '"sha256:abc"' } });
    assert.equal(stale.status, 200);
    assert.equal(stale.body.length, content.length);
  });

  test("an unsatisfiable range gets 416 with Content-Range bytes */SIZE", async (t) => {
    const { base, link, content } = await setup(t);
    const { url } = await link();
    for (const range of [`bytes=${content.length}-`, "bytes=-0"]) {
      const answer = await httpRequest(base, url, { headers: { range } });
      assert.equal(answer.status, 416, range);
      assert.equal(answer.headers["content-range"], `bytes */${content.length}`);
      looksLikeShortText(answer.body);
    }
  });

  test("an empty file downloads as 200 with length 0", async (t) => {
    const { base, link } = await setup(t, "empty.txt", Buffer.alloc(0));
    const answer = await httpRequest(base, (await link()).url);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["content-length"], "0");
    assert.equal(answer.body.length, 0);
  });

  test("an expired link gets 410 with a short text, a ttl over 24 hours is cut to 24 hours", async (t) => {
    const { base, link } = await setup(t, "a.txt", Buffer.from("hello"));
    const short = await link("a.txt", { ttl: 50 });
    await sleep(120);
    const answer = await httpRequest(base, short.url);
    assert.equal(answer.status, 410);
    looksLikeShortText(answer.body);
    const long = await link("a.txt", { ttl: 7 * 24 * 3600_000 });
    assert.ok(long.expires <= Date.now() + MAX_LINK_TTL);
    assert.ok(long.expires > Date.now() + MAX_LINK_TTL - 60_000);
  });

  test("a tampered, truncated or made-up token gets 404 and never a stack", async (t) => {
    const { base, link } = await setup(t, "a.txt", Buffer.from("hello"));
    const { url } = await link("a.txt");
    const token = url.slice("/dl/".length);
    const [payload, mac] = token.split(".");
    const grant = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    const forged = [
      `${flip(payload, 3)}.${mac}`,
      `${payload}.${flip(mac, 5)}`,
      `${Buffer.from(JSON.stringify({ ...grant, u: "bob" })).toString("base64url")}.${mac}`,
      `${Buffer.from(JSON.stringify({ ...grant, e: Date.now() + 10 * 365 * 86400_000 })).toString("base64url")}.${mac}`,
      payload,
      `${payload}.`,
      `${payload}.${mac}.x`,
      "nothing",
      "",
      "%00%2e%2e",
      "a".repeat(9_000), // over the 8 KiB a token may have, under the 16 KiB of a request head
    ];
    for (const bad of forged) {
      const answer = await httpRequest(base, `/dl/${bad}`);
      assert.equal(answer.status, 404, bad.slice(0, 40));
      looksLikeShortText(answer.body);
    }
  });

  test("a link grants one user's one file: bob's link to a.txt serves bob's file, and no path leaves his home", async (t) => {
    const { url, base, link, local } = await setup(t, "a.txt", Buffer.from("alice's"));
    const bob = await session(t, url, "bob");
    writeFileSync(join(local, "b.txt"), "bob's");
    await bob.files.put(join(local, "b.txt"), "a.txt");
    const bobs = await link("a.txt", {}, bob);
    assert.equal((await httpRequest(base, bobs.url)).body.toString(), "bob's");
    assert.equal((await httpRequest(base, (await link("a.txt")).url)).body.toString(), "alice's");
    for (const path of ["../alice/a.txt", "/etc/passwd", ".wharf/meta"]) {
      assert.equal(await codeOf(bob.conn.request("files.link", { path })), "E_PATH", path);
    }
    assert.equal(await codeOf(bob.conn.request("files.link", { path: "missing.txt" })), "E_NOT_FOUND");
    await bob.files.mkdir("dir");
    assert.equal(await codeOf(bob.conn.request("files.link", { path: "dir" })), "E_IS_DIR");
    assert.equal(await codeOf(bob.conn.request("files.link", { path: "a.txt", ttl: 0 })), "E_INVALID_PARAMS");
    const anonymous = await connect(url);
    t.after(() => anonymous.destroy());
    assert.equal(await codeOf(anonymous.request("files.link", { path: "a.txt" })), "E_AUTH");
  });

  test("a file replaced or removed after the link was made gets 410; one put back with the same bytes works again", async (t) => {
    const { base, link, alice, local } = await setup(t, "a.txt", Buffer.from("version 1"));
    const { url } = await link("a.txt");
    assert.equal((await httpRequest(base, url)).status, 200);
    writeFileSync(join(local, "v2.txt"), "version 2");
    await alice.files.put(join(local, "v2.txt"), "a.txt");
    const replaced = await httpRequest(base, url);
    assert.equal(replaced.status, 410);
    looksLikeShortText(replaced.body);
    await alice.files.rm("a.txt");
    assert.equal((await httpRequest(base, url)).status, 410);
    writeFileSync(join(local, "v1.txt"), "version 1");
    await alice.files.put(join(local, "v1.txt"), "a.txt");
    assert.equal((await httpRequest(base, url)).body.toString(), "version 1", "the link is for that content");
  });

  test("a file changed in place behind wharf's back is refused too", async (t) => {
    const { base, link, dataDir } = await setup(t, "a.txt", Buffer.from("original"));
    const { url } = await link("a.txt");
    writeFileSync(join(dataDir, "homes", "alice", "a.txt"), "tampered");
    assert.equal((await httpRequest(base, url)).status, 410);
  });

  test("other methods get 405 with Allow", async (t) => {
    const { base, link } = await setup(t, "a.txt", Buffer.from("x"));
    const { url } = await link("a.txt");
    for (const method of ["POST", "PUT", "DELETE"]) {
      const answer = await httpRequest(base, url, { method });
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers.allow, "GET, HEAD");
    }
  });

  test("the key is made once, 0600, in the data folder, and another process's DownloadLinks on it accepts the token", async (t) => {
    const { dataDir, link } = await setup(t, "a.txt", Buffer.from("x"));
    const { url } = await link("a.txt");
    assert.equal(statSync(join(dataDir, LINK_KEY_FILE)).mode & 0o777, 0o600);
    const check = await new DownloadLinks(dataDir).verify(url.slice("/dl/".length));
    assert.equal(check.ok, true);
    assert.equal(check.ok && check.grant.user, "alice");
    const elsewhere = await new DownloadLinks(tempDir(t)).verify(url.slice("/dl/".length));
    assert.deepEqual(elsewhere, { ok: false, reason: "forged" }, "another folder's key refuses it");
  });

  test("a client that goes away mid-download: the file is closed and the route goes on serving", async (t) => {
    const { base, link, content } = await setup(t, "big.bin", randomBytes(16 * 1024 * 1024));
    const { url } = await link("big.bin");
    const controller = new AbortController();
    const answer = await fetch(base + url, { signal: controller.signal });
    const reader = answer.body!.getReader();
    await reader.read();
    assert.equal(openFilesNamed("big.bin"), 1, "the route holds the file open while it sends it");
    controller.abort();
    await reader.cancel().catch(() => {});
    const deadline = Date.now() + 5_000;
    while (openFilesNamed("big.bin") > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(openFilesNamed("big.bin"), 0, "the file is closed once the client is gone");
    const again = await fetch(base + url);
    assert.equal(Buffer.from(await again.arrayBuffer()).length, content.length);
    assert.equal(openFilesNamed("big.bin"), 0);
  });
});
