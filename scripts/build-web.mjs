/**
 * Builds the web application (issue 13) into dist/web: type-checks web/ (DOM types, which the Node build leaves
 * out), bundles web/src/main.ts with esbuild (its CSS imports, xterm's and uPlot's included, become one
 * stylesheet), names every asset after its content hash so the server may cache it for good, and writes
 * index.html pointing at those names. Everything comes from node_modules: nothing from a CDN.
 *
 * `node scripts/build-web.mjs [--no-check]`; `npm run build` runs it after tsc.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const webDir = join(root, "web");
const outDir = join(root, "dist", "web");
const assetsDir = join(outDir, "assets");

if (!process.argv.includes("--no-check")) {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const check = spawnSync(process.execPath, [tsc, "-p", join(webDir, "tsconfig.json"), "--noEmit"], { stdio: "inherit" });
  if (check.status !== 0) process.exit(check.status ?? 1);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(assetsDir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: [join(webDir, "src", "main.ts")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox110", "safari16"],
  outdir: assetsDir,
  entryNames: "app-[hash]",
  assetNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  minify: true,
  sourcemap: "linked",
  metafile: true,
  tsconfig: join(webDir, "tsconfig.json"),
  legalComments: "linked",
  logLevel: "warning",
});

let script = null;
let style = null;
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (output.entryPoint === undefined && !file.endsWith(".css")) continue;
  const url = `/${relative(outDir, join(root, file)).split("\\").join("/")}`;
  if (file.endsWith(".js")) script = url;
  else if (file.endsWith(".css")) style = url;
}
if (script === null || style === null) throw new Error(`build-web: no script or stylesheet among ${Object.keys(result.metafile.outputs).join(", ")}`);

const page = readFileSync(join(webDir, "index.html"), "utf8").replace("%APP_CSS%", style).replace("%APP_JS%", script);
if (page.includes("%APP_")) throw new Error("build-web: index.html has a placeholder left");
writeFileSync(join(outDir, "index.html"), page);
console.log(`web app: dist/web/index.html -> ${basename(script)}, ${basename(style)}`);
