/**
 * Builds the shipped `wharf` command (issue 15) from what tsc compiled to dist/src: one esbuild bundle per verb
 * group of src/cli/verb-groups.ts (dist/bin/wharf-files.cjs, wharf-ping.cjs, ...), each holding everything its
 * verbs run, and dist/bin/wharf.cjs, which loads the bundle of `argv[2]`'s group. A command thus loads two files
 * instead of ~60 modules resolved one by one. `wharf --help`, `completion` (a group that `needsAll`) and unknown
 * verbs load wharf-all.cjs, `--version` wharf-version.cjs. `npm run build` runs it after tsc; package.json's
 * `bin` is dist/bin/wharf.cjs.
 *
 * Why these choices, measured on `wharf put` of 4 KiB (client CPU, min of 7; docs/architecture.md has the rest):
 * the ~60 ESM modules 251 ms; one split ESM bundle (a chunk per dynamic import, ~20 chunks loaded) 164 ms; an
 * ESM bundle per group 145-152 ms; a CommonJS bundle per group 137 ms (node's ESM loader costs ~20 ms to start
 * and ~1 ms per module; a CommonJS program never starts it). One CommonJS file for every verb (1.5 MB to parse
 * per command) was slower than the split ESM bundle, even with a V8 code cache; so was a start-up snapshot.
 *
 * - Pure-JavaScript packages the verbs load (commander, zod, hash-wasm) are bundled; every other dependency
 *   stays external, loaded with `require` (native addons, worker files and optional requires must be found
 *   where npm put them; all of them are CommonJS), and so is any dependency added later unless named here.
 * - `import.meta.url` of each bundled module is replaced by the URL of the module tsc wrote for it (dist/src/...),
 *   so that what is found next to a module (the chunker's wasm, the web app, package.json, worker scripts, the
 *   native hasher's `createRequire`) is found from the bundle too. dist/src ships with it.
 *
 * `node scripts/build-cli.mjs`
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cliDir = join(root, "dist", "src", "cli");
const outDir = join(root, "dist", "bin");
const { VERB_GROUPS } = await import(pathToFileURL(join(cliDir, "verb-groups.js")).href);

/** Dependencies bundled into the CLI: plain JavaScript, no files of their own found at run time. */
const BUNDLED = new Set(["commander", "zod", "hash-wasm"]);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const external = Object.keys(pkg.dependencies ?? {}).filter((name) => !BUNDLED.has(name));

/** A group's bundle is named after its module: ./files.js -> wharf-files (.cjs). */
const bundleName = (group) => `wharf-${group.module.replace(/^\.\//, "").replace(/\.js$/, "")}`;

/** The entry of a bundle: program.ts's runWharf with the register functions of `groups` imported statically. */
function entrySource(groups) {
  const imports = groups.map((group, i) => `import { ${group.register} as register${i} } from ${JSON.stringify(join(cliDir, group.module))};`);
  const table = groups.map((group, i) => `${JSON.stringify(group.register)}: register${i}`);
  return [
    `import { markPhase } from ${JSON.stringify(join(cliDir, "phase-timer.js"))};`,
    `import { runWharf } from ${JSON.stringify(join(cliDir, "program.js"))};`,
    ...imports,
    `markPhase("main loaded");`,
    `const registers = { ${table.join(", ")} };`,
    // A CommonJS module has no top-level await; a rejection ends the process as an unhandled one does.
    "void runWharf(async (group) => {",
    "  const register = registers[group.register];",
    "  if (register === undefined) throw new Error(`wharf: ${group.register} is not in this bundle`);",
    "  return register;",
    "});",
    "",
  ].join("\n");
}

const entries = new Map([
  ...VERB_GROUPS.filter((group) => group.needsAll !== true).map((group) => [bundleName(group), entrySource([group])]),
  ["wharf-all", entrySource(VERB_GROUPS)],
  ["wharf-version", entrySource([])],
]);

const plugins = [
  {
    name: "verb-group-entries",
    setup(builder) {
      builder.onResolve({ filter: /^wharf-entry:/ }, (args) => ({ path: args.path.slice("wharf-entry:".length), namespace: "wharf-entry" }));
      builder.onLoad({ filter: /.*/, namespace: "wharf-entry" }, (args) => ({ contents: entries.get(args.path), loader: "js", resolveDir: cliDir }));
    },
  },
  {
    // Every bundle lands in outDir itself, so one path relative to it per module serves whichever bundle it is in.
    name: "module-urls",
    setup(builder) {
      builder.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
        const text = await readFile(args.path, "utf8");
        if (!text.includes("import.meta.url")) return { contents: text, loader: "js" };
        const own = relative(outDir, args.path).split("\\").join("/");
        return { contents: text.replaceAll("import.meta.url", `__wharfModuleUrl(${JSON.stringify(own)})`), loader: "js" };
      });
    },
  },
];

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries([...entries.keys()].map((name) => [name, `wharf-entry:${name}`])),
  bundle: true,
  format: "cjs",
  outExtension: { ".js": ".cjs" },
  platform: "node",
  target: "node20",
  outdir: outDir,
  external,
  plugins,
  // Defined at the top of each bundle, where `require` is node's own (a bundled module may name a local `require`).
  banner: { js: 'const __wharfModuleUrl = (own) => require("node:url").pathToFileURL(require("node:path").join(__dirname, own)).href;' },
  sourcemap: "linked",
  // Maps to the TypeScript sources (through tsc's maps) without copying them in: the package stays small.
  sourcesContent: false,
  metafile: true,
  logLevel: "warning",
});

// The command itself: picks the bundle of argv[2]'s group, as program.ts picks the group.
const bundleOf = (group) => `./${group.needsAll === true ? "wharf-all" : bundleName(group)}.cjs`;
const byVerb = Object.fromEntries(VERB_GROUPS.flatMap((group) => group.verbs.map((verb) => [verb, bundleOf(group)])));
writeFileSync(
  join(outDir, "wharf.cjs"),
  `#!/usr/bin/env node
// The \`wharf\` command, written by scripts/build-cli.mjs: runs the bundle of the verb group of argv[2] (issue 15).
"use strict";
const BUNDLES = ${JSON.stringify(byVerb)};
const verb = process.argv[2];
require(Object.hasOwn(BUNDLES, verb) ? BUNDLES[verb] : verb === "--version" || verb === "-V" ? "./wharf-version.cjs" : "./wharf-all.cjs");
`,
  { mode: 0o755 },
);

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".cjs"));
const sizes = outputs.map(([file, output]) => `${file.replace(/^.*\/wharf-/, "").replace(/\.cjs$/, "")} ${(output.bytes / 1024).toFixed(0)}`);
console.log(`cli: dist/bin/wharf.cjs and ${outputs.length} bundles (KiB: ${sizes.join(", ")})`);
