import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { staticRoute, WEB_APP_CSP } from "../../src/gateway/static-route.js";
import { tempDir } from "../helpers/cli.js";
import { httpRequest, serveRoutes } from "./helpers.js";

const INDEX = "<!doctype html><title>wharf</title><script type=module src=/app-3F2A9C.js></script>";

/** A built web app like dist/web, a secret beside it, and the static route serving it. */
async function setup(t: TestContext) {
  const top = tempDir(t, "wharf-static-");
  const root = join(top, "web");
  mkdirSync(join(root, "assets"), { recursive: true });
  writeFileSync(join(root, "index.html"), INDEX);
  writeFileSync(join(root, "app-3F2A9C.js"), "console.log(1)");
  writeFileSync(join(root, "assets", "style-AB12CD34.css"), "body{}");
  writeFileSync(join(root, "hash-4XY7Q2MM.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d]));
  writeFileSync(join(root, "favicon.svg"), "<svg/>");
  writeFileSync(join(root, ".env"), "SECRET=1");
  writeFileSync(join(top, "secret.txt"), "outside the app");
  symlinkSync(join(top, "secret.txt"), join(root, "leak.txt"));
  symlinkSync(top, join(root, "up"));
  symlinkSync(join(root, "favicon.svg"), join(root, "icon.svg")); // a link inside the root is fine
  const base = await serveRoutes(t, { "/": staticRoute(root) });
  return { base, root };
}

function assertSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  assert.equal(headers["content-security-policy"], WEB_APP_CSP, what);
  assert.match(String(headers["content-security-policy"]), /default-src 'self'/);
  assert.match(String(headers["content-security-policy"]), /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(String(headers["content-security-policy"]), /script-src[^;]*'unsafe-inline'/, "no inline script");
  assert.equal(headers["x-content-type-options"], "nosniff", what);
  assert.equal(headers["referrer-policy"], "no-referrer", what);
}

describe("staticRoute: the web app's files (issue 13)", () => {
  test("index.html at / with no-cache, hashed assets immutable for a year, each with its Content-Type and the CSP", async (t) => {
    const { base } = await setup(t);
    const cases: [string, string, string, string][] = [
      ["/", "text/html; charset=utf-8", "no-cache", INDEX],
      ["/index.html", "text/html; charset=utf-8", "no-cache", INDEX],
      ["/app-3F2A9C.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "console.log(1)"],
      ["/assets/style-AB12CD34.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable", "body{}"],
      ["/favicon.svg", "image/svg+xml", "no-cache", "<svg/>"],
      ["/icon.svg?v=2", "image/svg+xml", "no-cache", "<svg/>"],
    ];
    for (const [path, type, cache, body] of cases) {
      const answer = await httpRequest(base, path);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers["content-type"], type, path);
      assert.equal(answer.headers["cache-control"], cache, path);
      assert.equal(answer.body.toString(), body, path);
      assert.equal(answer.headers["content-length"], String(Buffer.byteLength(body)), path);
      assertSecurityHeaders(answer.headers, path);
    }
    const wasm = await httpRequest(base, "/hash-4XY7Q2MM.wasm");
    assert.equal(wasm.headers["content-type"], "application/wasm", "WebAssembly.instantiateStreaming needs it");
  });

  test("paths without an extension are client-side routes and get index.html; unknown files get 404", async (t) => {
    const { base } = await setup(t);
    for (const path of ["/files", "/files/docs/reports", "/dashboard?x=1"]) {
      const answer = await httpRequest(base, path);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.body.toString(), INDEX, path);
    }
    for (const path of ["/missing.js", "/assets/nope.css", "/app-000000.js"]) {
      const answer = await httpRequest(base, path);
      assert.equal(answer.status, 404, path);
      assertSecurityHeaders(answer.headers, path);
    }
  });

  test("traversal, encoded traversal, NUL, backslashes, dot-files, directories and symlinks out of the root get 404", async (t) => {
    const { base } = await setup(t);
    const attempts = [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/%252e%252e/secret.txt",
      "/index.html%00.js",
      "/%00",
      "/.env",
      "/%2eenv",
      "/leak.txt",
      "/up/secret.txt",
      "/assets/",
      "/assets.txt",
      "/%E0%A4%A",
      "//etc/passwd",
    ];
    for (const path of attempts) {
      const answer = await httpRequest(base, path);
      assert.ok(answer.status === 404 || (answer.status === 200 && answer.body.toString() === INDEX), `${path}: ${answer.status}`);
      assert.doesNotMatch(answer.body.toString(), /outside the app|SECRET|root:/, path);
    }
    // The ones that are not client-side routes (they have an extension or are refused outright) are exactly 404.
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/.env", "/leak.txt", "/up/secret.txt", "/index.html%00.js", "/%00", "/%E0%A4%A"]) {
      assert.equal((await httpRequest(base, path)).status, 404, path);
    }
  });

  test("only GET and HEAD: HEAD has the headers and no body, anything else gets 405 with Allow", async (t) => {
    const { base } = await setup(t);
    const head = await httpRequest(base, "/app-3F2A9C.js", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], "14");
    assert.equal(head.body.length, 0);
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const answer = await httpRequest(base, "/index.html", { method });
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers.allow, "GET, HEAD");
      assertSecurityHeaders(answer.headers, method);
    }
  });

  test("index.html revalidates: its ETag answers 304", async (t) => {
    const { base } = await setup(t);
    const first = await httpRequest(base, "/");
    const etag = String(first.headers.etag);
    const again = await httpRequest(base, "/", { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test("a root that does not exist (the web app not built) answers 404, not an error", async (t) => {
    const base = await serveRoutes(t, { "/": staticRoute(join(tempDir(t), "not-built")) });
    const answer = await httpRequest(base, "/");
    assert.equal(answer.status, 404);
    assert.match(answer.body.toString(), /not built/);
  });
});
