/**
 * Assembles the hand-written WebAssembly of the tree (every `src/**\/wasm/*.wat`) into `.wasm` files beside the
 * compiled JavaScript under dist/ (issue 15: the delta chunker), with wabt. The `.wasm` is build output, never
 * committed; a module that finds no `.wasm` falls back to JavaScript.
 *
 * `node scripts/build-wasm.mjs`; `npm run build` runs it after tsc.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import initWabt from "wabt";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function* watFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* watFiles(path);
    else if (entry.name.endsWith(".wat") && dirname(path).endsWith("wasm")) yield path;
  }
}

const wabt = await initWabt();
for (const source of watFiles(join(root, "src"))) {
  const module = wabt.parseWat(relative(root, source), readFileSync(source, "utf8"));
  try {
    module.validate();
    const { buffer } = module.toBinary({});
    const target = join(root, "dist", relative(root, source)).replace(/\.wat$/, ".wasm");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, buffer);
  } finally {
    module.destroy();
  }
}
