/**
 * The Chat page in real Chromium (issue 13): the page and a `wharf chat` CLI user talk both ways in order, a
 * message that looks like HTML is shown as text and runs nothing, history is replayed on join, and after its
 * network drops (or the server restarts) the page reconnects and shows what was said meanwhile once, in order.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test, type TestContext } from "node:test";
import type { Page } from "playwright-core";
import { launchBrowser, logInThroughPage, startWebServe, type TestBrowser } from "../helpers/browser.js";
import { isolatedConfigHome, runWharf, WHARF_BIN } from "../helpers/cli.js";
import { startCuttableProxy } from "../helpers/cuttable-proxy.js";

const PASSWORD = "chat page password";

interface ChatRecord {
  type: string;
  from?: string;
  text?: string;
  msgId?: number;
  room?: string;
}

/** `wharf chat ROOM --json --follow` as `user`: lines written to it are sent; records it prints are collected. */
function chatCli(t: TestContext, tcpUrl: string, user: string, room: string): { child: ChildProcessWithoutNullStreams; records: ChatRecord[]; waitFor(test: (r: ChatRecord[]) => boolean, timeoutMs?: number): Promise<void> } {
  const child = spawn(process.execPath, [WHARF_BIN, "chat", room, "--server", tcpUrl, "--user", user, "--json", "--follow"], {
    env: { ...process.env, XDG_CONFIG_HOME: isolatedConfigHome(), WHARF_PASSWORD: PASSWORD },
  });
  const records: ChatRecord[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      records.push(JSON.parse(line) as ChatRecord);
    } catch {
      // not a record
    }
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "close");
    }
  });
  return {
    child,
    records,
    async waitFor(check, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(records)) {
        if (Date.now() > deadline) throw new Error(`wharf chat did not print what was expected; records ${JSON.stringify(records)}; stderr ${stderr}`);
        if (child.exitCode !== null) throw new Error(`wharf chat exited ${child.exitCode}: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/** The texts of the chat log's messages, in order. */
async function logTexts(page: Page): Promise<string[]> {
  return page.getByRole("log", { name: "Messages" }).locator("li.msg .text").allInnerTexts();
}

async function waitForTexts(page: Page, check: (texts: string[]) => boolean, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const texts = await logTexts(page);
    if (check(texts)) return texts;
    if (Date.now() > deadline) throw new Error(`the chat log did not show what was expected: ${JSON.stringify(texts)}`);
    await page.waitForTimeout(100);
  }
}

async function joinRoom(page: Page, room: string): Promise<void> {
  await page.getByRole("link", { name: "Chat", exact: true }).click();
  const box = page.getByRole("textbox", { name: "Room" });
  await box.fill(room);
  await box.press("Enter");
  await page.getByText(`Room ${room}`).waitFor();
  await page.getByRole("textbox", { name: "Message" }).and(page.locator(":enabled")).waitFor();
}

async function say(page: Page, text: string): Promise<void> {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

describe("web app: Chat (Chromium)", { timeout: 300_000 }, () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("the page and a `wharf chat` CLI user exchange messages both ways, in order; HTML shows as text", async (t) => {
    const web = await startWebServe(t, [
      { name: "alice", password: PASSWORD },
      { name: "bob", password: PASSWORD },
    ]);
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await joinRoom(page, "lobby");
    const bob = chatCli(t, web.tcpUrl, "bob", "lobby");
    await page.getByRole("log", { name: "Messages" }).getByText("bob joined").waitFor();
    await page.getByRole("list", { name: "Present" }).getByText("bob").waitFor();

    for (let i = 1; i <= 5; i++) bob.child.stdin.write(`from cli ${i}\n`);
    await waitForTexts(page, (texts) => texts.length >= 5);
    assert.deepEqual(await logTexts(page), [1, 2, 3, 4, 5].map((i) => `from cli ${i}`));
    const first = page.getByRole("log", { name: "Messages" }).locator("li.msg").first();
    assert.equal(await first.locator(".from").innerText(), "bob");
    assert.match(await first.locator("time").innerText(), /^\d\d:\d\d:\d\d$/);

    for (let i = 1; i <= 5; i++) await say(page, `from page ${i}`);
    await bob.waitFor((records) => records.filter((r) => r.type === "message" && r.from === "alice").length >= 5);
    const fromAlice = bob.records.filter((r) => r.type === "message" && r.from === "alice").map((r) => r.text);
    assert.deepEqual(fromAlice, [1, 2, 3, 4, 5].map((i) => `from page ${i}`));

    const hostile = "<img src=x onerror=alert(1)>";
    await say(page, hostile);
    await waitForTexts(page, (texts) => texts.includes(hostile));
    await bob.waitFor((records) => records.some((r) => r.text === hostile));
    await page.waitForTimeout(500);
    assert.equal(await page.getByRole("log", { name: "Messages" }).locator("img").count(), 0, "no element was made from the text");
    assert.deepEqual(dialogs, [], "nothing ran");
    await browser.screenshot(page, "chat-both-ways");

    // A second page joining later is shown the history.
    const late = await browser.newPage();
    await logInThroughPage(late, web.httpUrl, "bob", PASSWORD);
    await joinRoom(late, "lobby");
    const history = await waitForTexts(late, (texts) => texts.length >= 11);
    assert.deepEqual(history.slice(0, 11), [...[1, 2, 3, 4, 5].map((i) => `from cli ${i}`), ...[1, 2, 3, 4, 5].map((i) => `from page ${i}`), hostile]);
    await late.close();
    await page.close();
  });

  test("after its network drops the page reconnects by itself and shows what was said meanwhile, once, in order", async (t) => {
    const web = await startWebServe(t, [
      { name: "alice", password: PASSWORD },
      { name: "bob", password: PASSWORD },
    ]);
    // The page reaches the server through a proxy whose link the test cuts; bob talks straight to the server.
    const proxy = await startCuttableProxy(t, Number(new URL(web.httpUrl).port));
    const page = await browser.newPage();
    await logInThroughPage(page, `http://127.0.0.1:${proxy.port}`, "alice", PASSWORD);
    await joinRoom(page, "net");
    const env = { WHARF_PASSWORD: PASSWORD };
    const before = await runWharf(["chat", "net", "--server", web.tcpUrl, "--user", "bob"], { input: "before 1\nbefore 2\n", env });
    assert.equal(before.code, 0, before.stderr);
    await waitForTexts(page, (texts) => texts.length >= 2);

    proxy.cut();
    await page.getByRole("status").filter({ hasText: "Reconnecting" }).waitFor();
    const during = await runWharf(["chat", "net", "--server", web.tcpUrl, "--user", "bob"], { input: "during 1\nduring 2\nduring 3\n", env });
    assert.equal(during.code, 0, during.stderr);
    // Typed while the link is down: sent once it is back, after what the others said meanwhile.
    await say(page, "typed while offline");
    await page.waitForTimeout(300);
    assert.deepEqual(await logTexts(page), ["before 1", "before 2"], "nothing can arrive while the link is cut");
    await browser.screenshot(page, "chat-offline");
    proxy.restore();
    await waitForTexts(page, (texts) => texts.includes("typed while offline"), 30_000);
    await page.waitForTimeout(500);
    assert.deepEqual(await logTexts(page), ["before 1", "before 2", "during 1", "during 2", "during 3", "typed while offline"]);
    await page.getByRole("status").filter({ hasText: "Reconnecting" }).waitFor({ state: "detached" }).catch(() => undefined);
    await browser.screenshot(page, "chat-after-network-drop");
    await page.close();
  });

  test("after the server restarts the page reconnects by itself and shows what was said meanwhile, once, in order", async (t) => {
    const web = await startWebServe(t, [
      { name: "alice", password: PASSWORD },
      { name: "bob", password: PASSWORD },
    ]);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await joinRoom(page, "ops");
    const env = { WHARF_PASSWORD: PASSWORD };
    const before = await runWharf(["chat", "ops", "--server", web.tcpUrl, "--user", "bob"], { input: "before 1\nbefore 2\n", env });
    assert.equal(before.code, 0, before.stderr);
    await waitForTexts(page, (texts) => texts.length >= 2);

    await web.restart();
    const during = await runWharf(["chat", "ops", "--server", web.tcpUrl, "--user", "bob"], { input: "during 1\nduring 2\nduring 3\n", env });
    assert.equal(during.code, 0, during.stderr);
    await say(page, "after reconnect");
    const texts = await waitForTexts(page, (texts) => texts.includes("after reconnect"), 30_000);
    await page.waitForTimeout(500);
    assert.deepEqual(await logTexts(page), ["before 1", "before 2", "during 1", "during 2", "during 3", "after reconnect"], JSON.stringify(texts));
    await browser.screenshot(page, "chat-after-reconnect");
    await page.close();
  });
});
