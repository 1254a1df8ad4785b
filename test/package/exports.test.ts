import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("package.json", `file://${root}`), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>;
  bin: Record<string, string>;
};

test("every subpath of the exports map imports by name from the project folder (self-reference)", () => {
  const subpaths = Object.keys(pkg.exports).filter((key) => key !== "./package.json");
  assert.ok(subpaths.includes("./wire") && subpaths.includes("./server") && subpaths.includes("./client"));
  for (const subpath of subpaths) {
    const name = `wharf/${subpath.slice(2)}`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(name)}); console.log(Object.keys(m).length);`], { cwd: root }).toString();
    assert.ok(Number(out) > 0, `${name} exports something`);
    const entry = pkg.exports[subpath] as { types: string };
    assert.doesNotThrow(() => readFileSync(new URL(entry.types, `file://${root}`)), `${name} has type declarations`);
  }
});

test("the wharf bin is the built CLI", () => {
  const out = execFileSync(process.execPath, [new URL(pkg.bin.wharf, `file://${root}`).pathname, "--version"]).toString().trim();
  assert.match(out, /^\d+\.\d+\.\d+$/);
});
