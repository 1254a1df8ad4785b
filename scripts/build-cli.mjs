/**
 * Builds the shipped `wharf` command (issue 15): bundles the CLI that tsc compiled (dist/src/cli/main.js) with
 * esbuild into dist/bin/wharf.js and a few shared chunks beside it, so that a command loads a handful of files
 * instead of ~60 modules resolved one by one. Each verb group's `import()` stays a chunk of its own, loaded only
 * by its verb, as before. `npm run build` runs it after tsc; package.json's `bin` points at the bundle.
 *
 * - Pure-JavaScript packages the client verbs load (commander, zod, hash-wasm) are bundled; every other
 *   dependency stays external (native addons, worker files and optional requires must be found where npm put
 *   them), and so does any dependency added later unless it is named here.
 * - `import.meta.url` of each bundled module is rewritten to the URL of the module tsc wrote for it
 *   (dist/src/...), so that the files found next to a module (the chunker's wasm, the web app, package.json,
 *   worker scripts, the native hasher's `createRequire`) are found from the bundle too. dist/src ships with it.
 * - `require` is defined in each chunk (createRequire) for the bundled CommonJS packages' own requires.
 *
 * `node scripts/build-cli.mjs`
 */
import { readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "dist", "bin");
const entry = join(root, "dist", "src", "cli", "main.js");

/** Dependencies bundled into the CLI: plain JavaScript, no files of their own found at run time. */
const BUNDLED = new Set(["commander", "zod", "hash-wasm"]);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const external = Object.keys(pkg.dependencies ?? {}).filter((name) => !BUNDLED.has(name));

/** Every chunk lands in outDir itself, so one relative path per module serves whichever chunk it ends up in. */
const moduleUrls = {
  name: "module-urls",
  setup(builder) {
    builder.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.url")) return { contents: text, loader: "js", resolveDir: dirname(args.path) };
      const own = relative(outDir, args.path).split("\\").join("/");
      return { contents: text.replaceAll("import.meta.url", `new URL(${JSON.stringify(own)}, import.meta.url).href`), loader: "js", resolveDir: dirname(args.path) };
    });
  },
};

rmSync(outDir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { wharf: entry },
  bundle: true,
  format: "esm",
  splitting: true,
  platform: "node",
  target: "node20",
  outdir: outDir,
  chunkNames: "chunk-[hash]",
  external,
  plugins: [moduleUrls],
  banner: { js: 'import { createRequire as __wharfCreateRequire } from "node:module";\nconst require = __wharfCreateRequire(import.meta.url);' },
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"));
const bytes = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(`cli: dist/bin/wharf.js and ${outputs.length - 1} chunks, ${(bytes / 1024).toFixed(0)} KiB`);
