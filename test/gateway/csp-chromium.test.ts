import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { chromium } from "playwright-core";
import { staticRoute } from "../../src/gateway/static-route.js";
import { tempDir } from "../helpers/cli.js";
import { serveRoutes } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";

/** A page that tries what the web app needs (wasm, a <style> element, the WebSocket) and what it must not (eval, inline script). */
const APP = `
const results = { inline: window.inlineRan === true ? "ran" : "blocked" };
try { await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); results.wasm = "ok"; } catch (e) { results.wasm = String(e); }
try { eval("1"); results.eval = "ran"; } catch { results.eval = "blocked"; }
const style = document.createElement("style");
style.textContent = "#x { color: rgb(0, 128, 0) }";
document.head.append(style);
await new Promise((r) => setTimeout(r, 50));
results.style = getComputedStyle(document.getElementById("x")).color;
const ws = new WebSocket("ws://" + location.host + "/ws", "wharf");
results.ws = await new Promise((r) => { ws.onopen = () => r("open"); ws.onerror = () => r("error"); });
document.title = JSON.stringify(results);
`;

describe("the web app's CSP in a real Chromium (issue 13)", { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}` }, () => {
  test("wasm compiles, a <style> applies and the same-origin WebSocket opens; eval and inline script do not run", async (t) => {
    const root = tempDir(t, "wharf-csp-");
    writeFileSync(join(root, "index.html"), `<!doctype html><script>window.inlineRan = true</script><script type="module" src="/app-7QK2M4XZ.js"></script><div id="x">x</div>`);
    writeFileSync(join(root, "app-7QK2M4XZ.js"), APP);
    const base = await serveRoutes(t, { "/": staticRoute(root) });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    t.after(() => browser.close()); // when the test fails before it closes the browser itself
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForFunction("document.title.startsWith(\"{\")", null, { timeout: 30_000 });
    const results = JSON.parse(await page.title()) as unknown;
    await browser.close();
    assert.deepEqual(results, { inline: "blocked", wasm: "ok", eval: "blocked", style: "rgb(0, 128, 0)", ws: "open" });
  });
});
