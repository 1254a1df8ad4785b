/**
 * Runs every benchmark in this folder (`*.bench.js` after the build), one child process each, one after the
 * other, so that no two benchmarks compete for the machine's cores. `npm run bench -- NAME...` runs only the
 * benchmarks whose file name contains one of the given words (a word that is a whole benchmark name picks only it).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const all = readdirSync(here).filter((name) => name.endsWith(".bench.js"));
const names = all.map((name) => name.replace(/\.bench\.js$/, ""));
// A word that is a benchmark's whole name picks that one only: `ws` must not also run `browser-upload`.
const picks = (name: string, word: string): boolean => (names.includes(word) ? name === word : name.includes(word));
const files = all.filter((_file, i) => filters.length === 0 || filters.some((word) => picks(names[i]!, word))).sort();

if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(", ") || "(all)"}`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.bench\.js$/, "")} ===`);
  const run = spawnSync(process.execPath, [join(here, file)], { stdio: "inherit" });
  if (run.status !== 0) {
    failed += 1;
    console.error(`benchmark ${file} failed (exit ${run.status ?? run.signal})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
