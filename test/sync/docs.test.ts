/**
 * Runs every `js` block of docs/sync.md and docs/pool.md as its own program, so that the documented examples
 * keep working. Snippets are written inside the package (under dist/) so that `wharf/sync` and `wharf/pool`
 * resolve to the build through the package's own exports.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = new URL("../../../", import.meta.url);
const snippetDir = new URL("dist/test/doc-snippets/", root);

function snippets(doc: string): { heading: string; code: string }[] {
  const text = readFileSync(new URL(`docs/${doc}`, root), "utf8");
  const found: { heading: string; code: string }[] = [];
  let heading = doc;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (line.startsWith("## ")) heading = line.slice(3);
    if (line.trim() === "```js") {
      const body: string[] = [];
      for (i += 1; i < lines.length && lines[i]!.trim() !== "```"; i += 1) body.push(lines[i]!);
      found.push({ heading, code: body.join("\n") });
    }
  }
  return found;
}

function run(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

mkdirSync(snippetDir, { recursive: true });
for (const doc of ["sync.md", "pool.md"]) {
  describe(`docs/${doc} examples`, () => {
    const found = snippets(doc);
    it(`docs/${doc} has a runnable example per section`, () => {
      assert.ok(found.length >= (doc === "sync.md" ? 8 : 6), `found ${found.length}`);
    });
    found.forEach(({ heading, code }, index) => {
      it(`the "${heading}" example runs and exits 0`, async () => {
        const file = fileURLToPath(new URL(`${doc.replace(".md", "")}-${index}.mjs`, snippetDir));
        writeFileSync(file, code);
        const { code: exit, stdout, stderr } = await run(file);
        assert.equal(exit, 0, `exit ${exit}\n${stdout}\n${stderr}`);
        assert.notEqual(stdout.trim(), "", "it printed something");
      });
    });
  });
}
