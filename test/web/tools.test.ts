/**
 * The RPC, Time and Dashboard pages in real Chromium (issue 13): `math.add` `[2,3]` shows 5 (with --rpc-demo),
 * an unknown method's code shows in "Result", the Time page measures and plots the offset, and the Dashboard's
 * four charts draw and update from the server's stats subscription.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, logInThroughPage, startWebServe, type PageGlobals, type TestBrowser } from "../helpers/browser.js";

const PASSWORD = "tools page password";

describe("web app: RPC, Time, Dashboard (Chromium)", { timeout: 240_000 }, () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("RPC: the Method list comes from rpc.list; math.add [2,3] shows 5; errors show their code", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }], ["--rpc-demo"]);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByRole("link", { name: "RPC", exact: true }).click();
    const method = page.getByRole("combobox", { name: "Method" });
    await method.locator("option[value='math.add']").waitFor({ state: "attached" });
    await method.selectOption("math.add");
    await page.getByRole("textbox", { name: "Params" }).fill("[2,3]");
    await page.getByRole("button", { name: "Call" }).click();
    const result = page.getByRole("region", { name: "Result" });
    await result.filter({ hasText: /^5$/ }).waitFor();
    await browser.screenshot(page, "rpc-math-add");
    await page.getByRole("textbox", { name: "Params" }).fill('["two",3]');
    await page.getByRole("button", { name: "Call" }).click();
    await result.filter({ hasText: "E_INVALID_PARAMS" }).waitFor();
    await page.getByRole("textbox", { name: "Params" }).fill("[2,");
    await page.getByRole("button", { name: "Call" }).click();
    await result.filter({ hasText: "not JSON" }).waitFor();
    await page.close();
  });

  test("Time: server time, offset and delay are shown and refreshed, with a plot of the offset", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByRole("link", { name: "Time", exact: true }).click();
    await page.locator(".offset").filter({ hasText: / ms$/ }).waitFor();
    assert.match(await page.locator(".delay").innerText(), /^\d+\.\d\d ms$/);
    assert.match(await page.locator(".server-time").innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const plot = page.getByRole("figure", { name: "Offset over time" });
    await page.waitForFunction(() => Number((globalThis as unknown as PageGlobals).document.querySelector(".time-page figure")?.getAttribute("data-points") ?? 0) >= 2, undefined, { timeout: 15_000 });
    assert.equal(await plot.locator("canvas").count(), 1);
    await browser.screenshot(page, "time-page");
    await page.close();
  });

  test("Dashboard: Connections, Requests per second, Latency and Transfer rate draw and update each second", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByRole("link", { name: "Dashboard", exact: true }).click();
    for (const name of ["Connections", "Requests per second", "Latency", "Transfer rate"]) {
      await page.getByRole("figure", { name }).locator("canvas").waitFor();
    }
    const snapshots = async (): Promise<number> => Number((await page.locator(".dashboard-page").getAttribute("data-snapshots")) ?? 0);
    const first = await snapshots();
    await page.waitForFunction((n) => Number((globalThis as unknown as PageGlobals).document.querySelector(".dashboard-page")?.getAttribute("data-snapshots") ?? 0) >= n + 2, first, { timeout: 15_000 });
    // The page's own connection is counted.
    const connections = await page.getByRole("figure", { name: "Connections" }).locator(".chart-value").innerText();
    assert.ok(Number(connections) >= 1, `connections: ${connections}`);
    // A canvas that was drawn on has pixels that are not transparent.
    const drawn = await page.getByRole("figure", { name: "Latency" }).locator("canvas").evaluate((canvas) => {
      const c = canvas as unknown as { width: number; height: number; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
      const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
      return false;
    });
    assert.ok(drawn, "the Latency chart drew something");
    await browser.screenshot(page, "dashboard");
    await page.close();
  });
});
