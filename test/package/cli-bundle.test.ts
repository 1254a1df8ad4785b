/**
 * The shipped `wharf` is a set of CommonJS bundles (scripts/build-cli.mjs, issue 15): dist/bin/wharf.cjs picks the
 * bundle of argv[2]'s verb group (dist/bin/wharf-files.cjs, ...), and each bundled module's `import.meta.url` is
 * replaced by the URL of the module tsc wrote in dist/src. These tests prove that every verb reaches its own bundle and that the bundles
 * still find what lives beside those modules: a wrong rewrite does not fail a command, it falls back (JavaScript
 * chunker, sha256) with one warning line, so they look for that line.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { VERB_GROUPS } from "../../src/cli/verb-groups.js";
import { runWharf, startServe, tempDir, WHARF_BIN } from "../helpers/cli.js";
import { blake3Of, dataWithUsers, jsonLines, wharfAs } from "../services/files/helpers.js";

const binDir = dirname(WHARF_BIN);
const root = fileURLToPath(new URL("../../../", import.meta.url));

test("package.json's bin is the bundle the tests run", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: { wharf: string } };
  assert.equal(join(root, pkg.bin.wharf), WHARF_BIN);
  assert.match(readFileSync(WHARF_BIN, "utf8"), /^#!\/usr\/bin\/env node\n/);
});

test("every verb is sent to the bundle of its group, which runs it", async () => {
  const dispatcher = readFileSync(WHARF_BIN, "utf8");
  const bundles = JSON.parse(/const BUNDLES = (\{.*\});/.exec(dispatcher)?.[1] ?? "{}") as Record<string, string>;
  for (const group of VERB_GROUPS) {
    for (const verb of group.verbs) {
      assert.equal(bundles[verb], group.needsAll === true ? "./wharf-all.cjs" : `./wharf-${group.module.slice(2, -3)}.cjs`, verb);
      assert.ok(existsSync(join(binDir, bundles[verb])), `${bundles[verb]} was built`);
      const help = await runWharf([verb, "--help"]);
      assert.equal(help.code, 0, `${verb} --help: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: wharf ${verb} `), verb);
    }
  }
  // --help and unknown verbs: the bundle of every group, for the full listing and suggestions.
  const all = await runWharf(["--help"]);
  assert.equal(all.code, 0, all.stderr);
  for (const verb of VERB_GROUPS.flatMap((group) => group.verbs)) assert.match(all.stdout, new RegExp(`^  ${verb}\\b`, "m"), `--help lists ${verb}`);
  const unknown = await runWharf(["lss"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'lss'\n\(Did you mean ls\?\)/);
});

test("every module URL the bundle rewrote names a module tsc wrote, and the bundle imports no module of dist/src", () => {
  const chunks = readdirSync(binDir).filter((name) => name.endsWith(".cjs"));
  assert.ok(chunks.length > 10, chunks.join(", "));
  const rewritten = new Set<string>();
  for (const chunk of chunks) {
    const text = readFileSync(join(binDir, chunk), "utf8");
    for (const match of text.matchAll(/__wharfModuleUrl\("(\.\.\/src\/[^"]+)"\)/g)) rewritten.add(match[1]);
    assert.doesNotMatch(text, /(?:require|import)\(\s*"\.\.\/src\//, `${chunk} loads dist/src at run time`);
    assert.doesNotMatch(text, /import\.meta/, `${chunk} has no import.meta left (a CommonJS bundle has none)`);
  }
  // The modules that find files beside themselves: the wasm chunker, the web app, package.json's version.
  for (const expected of ["../src/services/files/chunker-wasm.js", "../src/cli/serve-http.js", "../src/cli/version.js"]) {
    assert.ok(rewritten.has(expected), `${expected} among ${[...rewritten].join(", ")}`);
  }
  for (const path of rewritten) assert.ok(existsSync(join(binDir, path)), `${path} exists beside the bundle's modules`);
});

test("wharf --version from the bundle reads package.json's version", async () => {
  const run = await runWharf(["--version"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version);
});

test("a delta put through the bundle chunks with WebAssembly and hashes with native BLAKE3 (no fallback line)", { timeout: 120_000 }, async (t) => {
  const data = await dataWithUsers(t);
  const url = (await startServe(t, ["--data", data, "--no-udp", "--no-http"])).url("tcp");
  const local = join(tempDir(t), "big.bin");
  const content = randomBytes(4 * 1024 * 1024);
  writeFileSync(local, content);
  const first = await wharfAs(url, "alice", ["put", local, "big.bin", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, "");
  randomBytes(64 * 1024).copy(content, 2 * 1024 * 1024);
  writeFileSync(local, content);
  const second = await wharfAs(url, "alice", ["put", local, "big.bin", "--json"]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stderr, "", "no 'not available' fallback line");
  const [report] = jsonLines(second.stdout);
  assert.equal(report.hash, blake3Of(content));
  assert.ok(typeof report.sent === "number" && report.sent < content.length / 2, `a delta was sent: ${String(report.sent)} of ${content.length} bytes`);
  assert.deepEqual(readFileSync(join(data, "homes", "alice", "big.bin")), content);
});
