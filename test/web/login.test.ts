/**
 * The web app in real Chromium (issue 13): logging in and out, a wrong password's alert, the navigation, a phone
 * width without sideways scrolling, the keyboard path through the login form, and the gateway's refusals seen
 * from the browser (another origin's WebSocket, a text message).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import WebSocket from "ws";
import { launchBrowser, logInThroughPage, scrollsSideways, startWebServe, type PageGlobals, type TestBrowser, type WebServe } from "../helpers/browser.js";

const PASSWORD = "correct horse battery";

describe("web app: login, navigation, gateway refusals (Chromium)", { timeout: 240_000 }, () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("logs in with User/Password, shows every page's link, and Log out returns to the form", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    const nav = page.getByRole("navigation", { name: "Pages" });
    for (const name of ["Files", "Chat", "Exec", "RPC", "Time", "Dashboard"]) {
      await nav.getByRole("link", { name, exact: true }).waitFor();
    }
    await page.getByText("Logged in as").waitFor();
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie), "", "no cookie carries the login");
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).localStorage.length), 0, "nothing in localStorage");
    await browser.screenshot(page, "login-files-page");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem("wharf.token")), null, "the token is forgotten");
    await page.close();
  });

  test("a wrong password shows the server's message in role=alert and stays on the form", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const page = await browser.newPage();
    await page.goto(web.httpUrl);
    await page.getByRole("textbox", { name: "User" }).fill("alice");
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Log in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /E_AUTH/);
    assert.equal(await page.getByRole("navigation", { name: "Pages" }).count(), 0);
    await browser.screenshot(page, "login-wrong-password");
    await page.close();
  });

  test("logs in by keyboard alone, and a reload keeps the login (sessionStorage token)", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const page = await browser.newPage();
    await page.goto(web.httpUrl);
    await page.getByRole("textbox", { name: "User" }).waitFor();
    // The User box has the focus on arrival; Tab moves to Password; Enter submits.
    await page.keyboard.type("alice");
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByRole("navigation", { name: "Pages" }).waitFor();
    await page.reload();
    await page.getByRole("navigation", { name: "Pages" }).waitFor();
    await page.getByText("Logged in as").waitFor();
    await page.close();
  });

  test("every page fits a 375 px wide window without sideways scrolling", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD, canExec: true }]);
    const page = await browser.newPage({ width: 375, height: 740 });
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    for (const name of ["Files", "Chat", "Exec", "RPC", "Time", "Dashboard"]) {
      await page.getByRole("link", { name, exact: true }).click();
      await page.getByRole("heading", { level: 2, name, exact: true }).waitFor();
      // Charts are drawn once data comes: wait for them, so that their canvases are measured too.
      if (name === "Dashboard") await page.getByRole("figure", { name: "Transfer rate" }).locator("canvas").waitFor();
      if (name === "Time") await page.getByRole("figure", { name: "Offset over time" }).locator("canvas").waitFor();
      await page.waitForTimeout(300);
      assert.equal(await scrollsSideways(page), false, `${name} scrolls sideways at 375 px`);
      await browser.screenshot(page, `narrow-${name.toLowerCase()}`);
    }
    await page.close();
  });

  test("a WebSocket from another origin is refused (403), in the browser and by status", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const port = new URL(web.httpUrl).port;
    // Another site: a page served by a second server, on another port (so another origin).
    const other = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>elsewhere</title>"));
    other.listen(0, "127.0.0.1");
    await once(other, "listening");
    t.after(() => {
      other.closeAllConnections();
      other.close();
    });
    const otherPort = (other.address() as AddressInfo).port;
    const tryOpen = (page: Page, url: string): Promise<string> =>
      page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const socket = new WebSocket(url, "wharf");
            const timer = setTimeout(() => resolve("no answer"), 10_000);
            socket.onopen = () => {
              clearTimeout(timer);
              resolve(`open ${socket.protocol}`);
              socket.close();
            };
            socket.onclose = (event) => {
              clearTimeout(timer);
              resolve(`closed ${event.code}`);
            };
          }),
        url,
      );
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${otherPort}/`);
    assert.equal(await tryOpen(page, `ws://127.0.0.1:${port}/ws`), "closed 1006", "the browser was refused the upgrade");
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, "wharf", { origin: `http://127.0.0.1:${otherPort}` });
      socket.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.on("open", () => reject(new Error("another origin's WebSocket was accepted")));
      socket.on("error", () => {});
    });
    assert.equal(status, 403);
    // From the app's own origin the same upgrade is accepted.
    await page.goto(web.httpUrl);
    assert.equal(await tryOpen(page, `ws://127.0.0.1:${port}/ws`), "open wharf");
    await page.close();
  });

  test("a text message on the socket gets an error frame, then a close", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const page = await browser.newPage();
    await page.goto(web.httpUrl);
    const result = await page.evaluate(
      (url) =>
        new Promise<{ header: { ok?: boolean; error?: { code?: string }; fatal?: boolean } | null; closeCode: number }>((resolve) => {
          const socket = new WebSocket(url, "wharf");
          socket.binaryType = "arraybuffer";
          let header: { ok?: boolean; error?: { code?: string }; fatal?: boolean } | null = null;
          socket.onopen = () => socket.send('{"type":"ping","id":1}');
          socket.onmessage = (event) => {
            const bytes = new Uint8Array(event.data as ArrayBuffer);
            const length = new DataView(bytes.buffer).getUint32(0);
            header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
          };
          socket.onclose = (event) => resolve({ header, closeCode: event.code });
          setTimeout(() => resolve({ header, closeCode: -1 }), 10_000);
        }),
      `${web.httpUrl.replace(/^http/, "ws")}/ws`,
    );
    assert.ok(result.header !== null, "an error frame came before the close");
    assert.equal(result.header.ok, false);
    assert.match(result.header.error?.code ?? "", /^E_/);
    assert.notEqual(result.closeCode, -1, "the server closed the socket");
    await page.close();
  });
});
