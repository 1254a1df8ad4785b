/**
 * wharf/browser has no Node built-ins: esbuild bundles it for the browser platform (as the web app's build does),
 * which fails on any `node:` import, and the bundle names no Buffer, process or require.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";

test("wharf/browser bundles for the browser platform with no Node built-ins", async () => {
  const entry = fileURLToPath(new URL("../../src/browser/index.js", import.meta.url));
  const result = await build({ entryPoints: [entry], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent", metafile: true });
  assert.deepEqual(result.errors, []);
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((path) => path.includes("hash-wasm")), "hash-wasm is bundled with it");
  assert.ok(!inputs.some((path) => /src\/(wire\/(?!limits)|client|server|services\/(?!files\/requests))/.test(path)), `only browser-safe modules: ${inputs.join(", ")}`);
  // hash-wasm looks for a global Buffer to use when there is one (feature detection): check wharf's own code.
  const own = await build({ entryPoints: [entry], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent", external: ["hash-wasm"] });
  const code = own.outputFiles[0].text;
  for (const pattern of [/\bBuffer\b/, /\bprocess\./, /\brequire\(/, /node:/]) assert.ok(!pattern.test(code), `the bundle mentions ${pattern}`);
});
