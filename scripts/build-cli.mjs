/**
 * Builds the shipped `wharf` command (issue 15) from what tsc compiled to dist/src: one esbuild bundle per verb
 * group of src/cli/verb-groups.ts (dist/bin/wharf-files.js, wharf-ping.js, ...), each holding everything its
 * verbs run, and dist/bin/wharf.js, which imports the bundle of `argv[2]`'s group. A command thus loads two files
 * instead of ~60 modules resolved one by one (or ~20 chunks of a split bundle: each module costs the ESM loader
 * ~1 ms here). `wharf --help`, `completion` (a group that `needsAll`) and unknown verbs load wharf-all.js,
 * `--version` wharf-version.js.
 * `npm run build` runs it after tsc; package.json's `bin` is dist/bin/wharf.js.
 *
 * - Pure-JavaScript packages the verbs load (commander, zod, hash-wasm) are bundled; every other dependency
 *   stays external (native addons, worker files and optional requires must be found where npm put them), and so
 *   does any dependency added later unless it is named here.
 * - `import.meta.url` of each bundled module is rewritten to the URL of the module tsc wrote for it
 *   (dist/src/...), so that what is found next to a module (the chunker's wasm, the web app, package.json,
 *   worker scripts, the native hasher's `createRequire`) is found from the bundle too. dist/src ships with it.
 * - `require` is defined in each bundle (createRequire) for the bundled CommonJS packages' own requires.
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

/** A group's bundle is named after its module: ./files.js -> wharf-files. */
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
    "await runWharf(async (group) => {",
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
    // Every bundle lands in outDir itself, so one relative path per module serves whichever bundle it is in.
    name: "module-urls",
    setup(builder) {
      builder.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
        const text = await readFile(args.path, "utf8");
        if (!text.includes("import.meta.url")) return { contents: text, loader: "js" };
        const own = relative(outDir, args.path).split("\\").join("/");
        return { contents: text.replaceAll("import.meta.url", `new URL(${JSON.stringify(own)}, import.meta.url).href`), loader: "js" };
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
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: outDir,
  external,
  plugins,
  banner: { js: 'import { createRequire as __wharfCreateRequire } from "node:module";\nconst require = __wharfCreateRequire(import.meta.url);' },
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
});

// The command itself: picks the bundle of argv[2]'s group, as program.ts picks the group.
const bundleOf = (group) => `./${group.needsAll === true ? "wharf-all" : bundleName(group)}.js`;
const byVerb = Object.fromEntries(VERB_GROUPS.flatMap((group) => group.verbs.map((verb) => [verb, bundleOf(group)])));
writeFileSync(
  join(outDir, "wharf.js"),
  `#!/usr/bin/env node
// The \`wharf\` command, written by scripts/build-cli.mjs: runs the bundle of the verb group of argv[2] (issue 15).
const BUNDLES = ${JSON.stringify(byVerb)};
const verb = process.argv[2];
await import(Object.hasOwn(BUNDLES, verb) ? BUNDLES[verb] : verb === "--version" || verb === "-V" ? "./wharf-version.js" : "./wharf-all.js");
`,
  { mode: 0o755 },
);

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"));
const sizes = outputs.map(([file, output]) => `${file.replace(/^.*\/wharf-/, "").replace(/\.js$/, "")} ${(output.bytes / 1024).toFixed(0)}`);
console.log(`cli: dist/bin/wharf.js and ${outputs.length} bundles (KiB: ${sizes.join(", ")})`);
