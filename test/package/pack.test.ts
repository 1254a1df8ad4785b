/**
 * `npm pack` from a fresh clone gives a working package (issue 12): the tarball is built by `prepack` and holds
 * dist/, and a global install of it gives a `wharf` that runs. The install is laid out as npm lays it out
 * (lib/node_modules/wharf, bin/wharf linked to the package's bin) with the dependencies linked from this
 * checkout, so that the test needs no network; `npm install -g ./wharf-*.tgz` was run by hand too (see the
 * issue's note).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/cli.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

test("npm pack on a fresh clone builds dist/ (prepack) and a global install of the tarball gives a working wharf", { timeout: 300_000 }, async (t) => {
  const clone = tempDir(t, "wharf-clone-");
  // What a fresh clone holds: the tracked files, no dist/.
  const { stdout: tracked } = await run("git", ["-C", root, "ls-files"], { maxBuffer: 16 * 1024 * 1024 });
  for (const file of tracked.split("\n").filter(Boolean)) {
    mkdirSync(join(clone, file, ".."), { recursive: true });
    cpSync(join(root, file), join(clone, file));
  }
  symlinkSync(join(root, "node_modules"), join(clone, "node_modules"));
  const out = tempDir(t, "wharf-pack-");
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", out], { cwd: clone, maxBuffer: 64 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  const paths = packed.files.map((file) => file.path);
  assert.ok(paths.includes("dist/bin/wharf.cjs"), "the CLI's bundle is in the tarball");
  assert.ok(paths.includes("dist/src/services/files/wasm/chunker.wasm"), "with the files its modules find beside them");
  assert.ok(paths.includes("dist/src/client/index.d.ts"), "with its types");
  assert.ok(!paths.some((path) => path.startsWith("dist/test/") || path.startsWith("src/")), "and no tests or sources");

  // npm's global layout: <prefix>/lib/node_modules/wharf and <prefix>/bin/wharf.
  const prefix = tempDir(t, "wharf-prefix-");
  const lib = join(prefix, "lib", "node_modules");
  mkdirSync(lib, { recursive: true });
  await run("tar", ["xzf", join(out, packed.filename), "-C", lib]);
  renameSync(join(lib, "package"), join(lib, "wharf"));
  symlinkSync(join(root, "node_modules"), join(lib, "wharf", "node_modules"));
  const pkg = JSON.parse(readFileSync(join(lib, "wharf", "package.json"), "utf8")) as { bin: { wharf: string }; type: string; engines: { node: string } };
  assert.equal(pkg.type, "module");
  assert.equal(pkg.engines.node, ">=20");
  mkdirSync(join(prefix, "bin"));
  symlinkSync(join(lib, "wharf", pkg.bin.wharf), join(prefix, "bin", "wharf"));
  chmodSync(join(lib, "wharf", pkg.bin.wharf), 0o755); // as npm does for every bin it links
  assert.match(readFileSync(join(prefix, "bin", "wharf"), "utf8"), /^#!\/usr\/bin\/env node\n/);
  assert.ok(statSync(join(prefix, "bin", "wharf")).isFile());
  const version = await run(join(prefix, "bin", "wharf"), ["--version"]);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
  // A verb's own chunk loads from the installed bundle too.
  assert.match((await run(join(prefix, "bin", "wharf"), ["put", "--help"])).stdout, /^Usage: wharf put /);
  // A program beside the install imports the package by name (ESM only).
  const app = join(prefix, "lib", "app.mjs");
  writeFileSync(app, 'import { connect } from "wharf/client";\nimport { WharfError } from "wharf/wire";\nconsole.log(typeof connect, typeof WharfError);\n');
  assert.equal((await run(process.execPath, [app])).stdout, "function function\n");
  assert.deepEqual(readdirSync(out), [packed.filename]);
});

test("the README says the package is ESM-only and needs Node >= 20", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  assert.match(readme, /\*\*ESM-only\*\*/);
  assert.match(readme, /\*\*Node\.js >= 20\*\*/);
  assert.match(readme, /npm install -g \.\/wharf-\*\.tgz/);
});
