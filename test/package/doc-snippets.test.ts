/**
 * The TypeScript examples a user would copy, compiled and run (issue 11): every ```ts block of README.md, and
 * those of docs/files.md, docs/exec.md and docs/chat.md. They are written inside the package (under dist/) and
 * compiled by tsc against the built package, so `wharf/...` resolves through the package's own exports map,
 * as it does for a user. The README's are run as they are; the guides' ones, written for a server on
 * 127.0.0.1:9000, are run against a real server of this test's own.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { Server } from "../../src/server/index.js";
import { AccountStore, registerAuth } from "../../src/services/accounts/index.js";
import { DEFAULT_SERVICE_CONFIG } from "../../src/services/index.js";
import { registerExec } from "../../src/services/exec/index.js";
import { registerFiles } from "../../src/services/files/index.js";
import { registerDemoMethods, registerRpc } from "../../src/services/rpc/index.js";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { tempDir } from "../helpers/cli.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = join(root, "dist", "test", "doc-snippets-ts");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

/** The ```ts blocks of a markdown file, in order. */
function blocks(doc: string): string[] {
  const found: string[] = [];
  const lines = readFileSync(join(root, doc), "utf8").split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i]!.trim() !== "```ts") continue;
    const body: string[] = [];
    for (i += 1; i < lines.length && lines[i]!.trim() !== "```"; i += 1) body.push(lines[i]!);
    found.push(body.join("\n"));
  }
  return found;
}

function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, cwd: options.cwd, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Sources go to ts/, tsc writes js/ (an outDir may not hold its own inputs). */
const tsDir = join(dir, "ts");
const jsDir = join(dir, "js");
const runNode = (name: string, options?: { cwd?: string; env?: NodeJS.ProcessEnv }) => run(process.execPath, [join(jsDir, `${name}.js`)], options);

const readme = blocks("README.md");
const guides = {
  files: blocks("docs/files.md"),
  exec: blocks("docs/exec.md"),
  chat: blocks("docs/chat.md"),
  server: blocks("docs/server.md"),
  client: blocks("docs/client.md"),
  rpc: blocks("docs/rpc.md"),
};

/** A real server with auth, files and exec over a fresh data folder: user alice, password "pw", may exec. */
async function guideServer(t: TestContext): Promise<string> {
  const dataDir = tempDir(t, "wharf-doc-data-");
  const accounts = new AccountStore(dataDir);
  await accounts.add("alice", "pw", { canExec: true });
  const server = new Server();
  const services = [registerAuth(server, accounts), registerFiles(server, { dataDir, accounts }), registerExec(server, { dataDir, accounts, config: DEFAULT_SERVICE_CONFIG })];
  const url = await server.listenTcp({ host: "127.0.0.1", port: 0 });
  t.after(async () => {
    await server.close({ timeout: 1_000 });
    await Promise.all(services.map((service) => service.close()));
  });
  return url;
}

let compiled = { code: -1, stdout: "", stderr: "not compiled" };

describe("documented TypeScript examples", () => {
  before(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(tsDir, { recursive: true });
    mkdirSync(jsDir, { recursive: true });
    readme.forEach((code, i) => writeFileSync(join(tsDir, `readme-${i}.ts`), code));
    for (const [name, codes] of Object.entries(guides)) codes.forEach((code, i) => writeFileSync(join(tsDir, `${name}-${i}.ts`), code));
    // The README's pool example runs a task from ./work.js beside it.
    writeFileSync(join(jsDir, "work.js"), "export function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n");
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, skipLibCheck: true, types: ["node"], rootDir: "ts", outDir: "js" },
        include: ["ts/*.ts"],
      }),
    );
    // Compiled once for every test below: a type error fails the compile test, and the runs find what tsc emitted.
    compiled = await run(process.execPath, [tsc, "-p", dir]);
  });

  test("README.md and the guides have the examples this test expects", () => {
    assert.ok(readme.length >= 3, `README.md has ${readme.length} ts blocks`);
    assert.ok(readme.some((code) => code.includes("registerFiles(server")), "the README shows how to host the files service");
    assert.equal(guides.files.length, 1);
    assert.equal(guides.exec.length, 1);
    assert.equal(guides.chat.length, 1);
    assert.equal(guides.server.length, 2, "server.md: the server, the HTTP gateway");
    assert.equal(guides.client.length, 1);
    assert.equal(guides.rpc.length, 3, "rpc.md: the server, the pool method and the client");
  });

  test("every example compiles with tsc --strict against the built package", () => {
    assert.equal(compiled.code, 0, `tsc failed:\n${compiled.stdout}${compiled.stderr}`);
  });

  test("the README's first example upper-cases over TCP and exits", async () => {
    const { code, stdout, stderr } = await runNode("readme-0");
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "HELLO\n");
  });

  test("the README's pool example computes fib(30) on a thread and exits", async () => {
    const { code, stdout, stderr } = await runNode(`readme-${readme.findIndex((code) => code.includes("ThreadPoolExecutor"))}`);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^832040$/m);
    assert.match(stdout, /done: finished/);
  });

  test("the README's hosting example serves the files service from code and closes it", async (t) => {
    const tmp = tempDir(t, "wharf-readme-");
    const index = readme.findIndex((code) => code.includes("registerFiles(server"));
    const { code, stdout, stderr } = await runNode(`readme-${index}`, { env: { TMPDIR: tmp } });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^blake3:[0-9a-f]{64} \[ 'hello\.txt' \]\n$/);
  });

  test("the files guide's example puts, lists, gets, moves and removes against a real server", async (t) => {
    const url = await guideServer(t);
    const cwd = tempDir(t, "wharf-doc-cwd-");
    const content = Buffer.alloc(200_000, "wharf");
    writeFileSync(join(cwd, "big.iso"), content);
    const source = readFileSync(join(jsDir, "files-0.js"), "utf8").replaceAll("tcp://127.0.0.1:9000", url);
    writeFileSync(join(jsDir, "files-0.js"), source);
    const { code, stdout, stderr } = await runNode("files-0", { cwd, env: { WHARF_PASSWORD: "pw" } });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /big\.iso 200000 blake3:[0-9a-f]{64}/);
    assert.deepEqual(readFileSync(join(cwd, "copy.iso")), content, "the download is the upload");
  });

  test("the exec guide's example runs a command on a real server and streams its output", async (t) => {
    const url = await guideServer(t);
    const source = readFileSync(join(jsDir, "exec-0.js"), "utf8").replaceAll("tcp://127.0.0.1:9000", url);
    writeFileSync(join(jsDir, "exec-0.js"), source);
    const { code, stdout, stderr } = await runNode("exec-0", { env: { WHARF_PASSWORD: "pw" } });
    // grep finds no README.md in alice's fresh home: its complaint comes through the example's stderr, and
    // its exit code 2 is the result.
    assert.equal(code, 0, stderr);
    assert.match(stderr, /grep: README\.md: No such file or directory/);
    assert.equal(stdout, "2\n");
  });

  test("server.md's gateway example listens for HTTP and WebSockets, then closes and exits", async () => {
    const { code, stdout, stderr } = await runNode("server-1");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^http:\/\/127\.0\.0\.1:\d+\/ws speaks wharf frames; http:\/\/127\.0\.0\.1:\d+\/healthz answers ok\n$/);
  });

  test("server.md's example serves buffered, failing and streamed replies over TCP and UDP, then closes", async () => {
    const { code, stdout, stderr } = await runNode("server-0");
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'true 2 HI\nE_INVALID_PARAMS {"field":"b"}\n1,2,3\nUDP\n');
  });

  test("client.md's example pings, gets a coded error, logs in with a token and asks over UDP", async (t) => {
    const tmp = tempDir(t, "wharf-client-doc-");
    const { code, stdout, stderr } = await runNode("client-0", { env: { TMPDIR: tmp } });
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "true hello\nE_UNKNOWN_TYPE\nalice\nover udp\n");
  });

  test("rpc.md's client example runs against a server with rpc.md's methods", async (t) => {
    const server = new Server();
    const rpc = registerRpc(server);
    registerDemoMethods(rpc);
    rpc.method("files.checksum", ([data]: [Buffer]) => createHash("sha256").update(data).digest());
    rpc.method("clock.watch", async function* ([intervalMs]: [number], ctx) {
      while (!ctx.signal.aborted) {
        yield new Date().toISOString();
        await sleep(intervalMs, undefined, { signal: ctx.signal }).catch(() => {});
      }
    });
    const url = await server.listenTcp({ host: "127.0.0.1", port: 0 });
    t.after(async () => {
      await server.close({ timeout: 1_000 });
      await rpc.close();
    });
    const source = readFileSync(join(jsDir, "rpc-2.js"), "utf8").replaceAll("tcp://127.0.0.1:9000", url);
    writeFileSync(join(jsDir, "rpc-2.js"), source);
    const { code, stdout, stderr } = await runNode("rpc-2");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^\d{4}-\d\d-\d\dT[^\n]+Z\n\d{4}-\d\d-\d\dT[^\n]+Z\n/);
    assert.match(stdout, /\n0\n1\n2\n$/, "demo.count(3) streams 0, 1, 2");
  });
});
