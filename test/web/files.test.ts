/**
 * The Files page in real Chromium (issue 13): a 50 MiB upload with a moving progressbar whose verified hash equals
 * the local one, a reload mid-upload resumed by picking the same file again, a download through the link with
 * equal bytes and a Range request answered 206, and New folder / Rename / Delete.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createBLAKE3 } from "hash-wasm";
import type { Page } from "playwright-core";
import { AccountStore } from "../../src/services/accounts/index.js";
import { launchBrowser, logInThroughPage, startWebServe, type PageElement, type PageGlobals, type TestBrowser } from "../helpers/browser.js";

const PASSWORD = "files page password";
const MiB = 1024 * 1024;

/** `blake3:HEX` of a file, read as a stream. */
async function blake3Of(path: string): Promise<string> {
  const hasher = await createBLAKE3();
  hasher.init();
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hasher.update(chunk as Buffer);
  return `blake3:${hasher.digest("hex")}`;
}

/** Writes `size` random bytes (in 1 MiB pieces) to `path`. */
function randomFile(path: string, size: number): void {
  const parts: Buffer[] = [];
  for (let left = size; left > 0; left -= MiB) parts.push(randomBytes(Math.min(MiB, left)));
  writeFileSync(path, Buffer.concat(parts));
}

/** Samples the upload's progressbar until the upload line is done or failed; returns the values seen. */
async function watchUpload(page: Page, name: string, timeoutMs = 180_000): Promise<{ values: number[]; rates: string[]; state: string }> {
  const line = page.locator(`li.upload[data-name="${name}"]`).first();
  const bar = page.getByRole("progressbar", { name: `Upload ${name}` }).first();
  const values: number[] = [];
  const rates: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await line.getAttribute("data-state")) ?? "";
    values.push(await bar.evaluate((el) => (el as unknown as PageElement).value ?? 0));
    rates.push(await line.locator(".rate").innerText());
    if (state === "done" || state === "failed") return { values, rates, state };
    if (Date.now() > deadline) throw new Error(`upload of ${name} did not end: ${await line.innerText()}`);
    await page.waitForTimeout(50);
  }
}

describe("web app: Files (Chromium)", { timeout: 600_000 }, () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("uploads 50 MiB with a moving progressbar and rate; the server's hash equals the local BLAKE3", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const local = join(browser.dir, "fifty.bin");
    randomFile(local, 50 * MiB);
    const expected = await blake3Of(local);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByLabel("Upload files").setInputFiles(local);
    const { values, rates, state } = await watchUpload(page, "fifty.bin");
    const line = page.locator('li.upload[data-name="fifty.bin"]');
    assert.equal(state, "done", await line.innerText());
    assert.ok(values.some((v) => v > 0 && v < 50 * MiB) || rates.some((r) => /\/s/.test(r)), `no progress seen: ${values.join(",")}`);
    assert.match(rates.at(-1)!, /\/s/, "the rate is shown");
    assert.equal(await line.getAttribute("data-hash"), expected, "the hash the server verified is the local one");
    // The stored file is byte for byte the local one, and the table shows its recorded hash.
    assert.equal(await blake3Of(join(web.dataDir, "homes", "alice", "fifty.bin")), expected);
    const row = page.getByRole("row").filter({ hasText: "fifty.bin" });
    await row.getByText(expected).waitFor();
    await browser.screenshot(page, "files-upload-50mib");
    await page.close();
  });

  test("a reload mid-upload resumes when the same file is picked again, and the whole file verifies", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const local = join(browser.dir, "resume.bin");
    randomFile(local, 120 * MiB);
    const expected = await blake3Of(local);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByLabel("Upload files").setInputFiles(local);
    const bar = page.getByRole("progressbar", { name: "Upload resume.bin" });
    await page.waitForFunction(() => {
      const el = (globalThis as unknown as PageGlobals).document.querySelector('progress[aria-label="Upload resume.bin"]');
      return el !== null && (el.value ?? 0) >= 8 * 1024 * 1024;
    });
    const before = await bar.evaluate((el) => (el as unknown as PageElement).value ?? 0);
    assert.ok(before < 120 * MiB, "the upload was still running when the page reloaded");
    await page.reload();
    await page.getByRole("navigation", { name: "Pages" }).waitFor();
    await page.getByLabel("Upload files").setInputFiles(local);
    const { state } = await watchUpload(page, "resume.bin");
    const line = page.locator('li.upload[data-name="resume.bin"]');
    assert.equal(state, "done", await line.innerText());
    const resumedFrom = Number(await line.getAttribute("data-resumed-from"));
    assert.ok(resumedFrom > 0, `resumed from ${resumedFrom}`);
    await line.getByText(/resumed from/).waitFor();
    assert.equal(await line.getAttribute("data-hash"), expected);
    assert.equal(await blake3Of(join(web.dataDir, "homes", "alice", "resume.bin")), expected);
    await browser.screenshot(page, "files-resumed-after-reload");
    await page.close();
  });

  test("Download hands the browser a link: the bytes are equal, and a Range request is answered 206", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const local = join(browser.dir, "down.bin");
    randomFile(local, 3 * MiB + 123);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByLabel("Upload files").setInputFiles(local);
    assert.equal((await watchUpload(page, "down.bin")).state, "done");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download down.bin" }).click()]);
    assert.equal(download.suggestedFilename(), "down.bin");
    const saved = await download.path();
    assert.ok(readFileSync(saved).equals(readFileSync(local)), "the downloaded bytes equal the uploaded ones");
    const url = download.url();
    assert.match(new URL(url).pathname, /^\/dl\//);
    const ranged = await fetch(url, { headers: { Range: "bytes=1000-1999" } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(readFileSync(local).subarray(1000, 2000)));
    assert.match(ranged.headers.get("content-range") ?? "", /^bytes 1000-1999\/3145851$/);
    await browser.screenshot(page, "files-download");
    await page.close();
  });

  test("the page shows the quota from the start; an upload over it fails with E_QUOTA on its line", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    await new AccountStore(web.dataDir).add("carol", PASSWORD, { quota: 1000 });
    const local = join(browser.dir, "too-big.bin");
    randomFile(local, 4096);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "carol", PASSWORD);
    await page.getByText(/quota 1000 B \(1000 B free\)/).waitFor(); // before any upload: files.stat tells it
    await page.getByLabel("Upload files").setInputFiles(local);
    const { state } = await watchUpload(page, "too-big.bin");
    assert.equal(state, "failed");
    await page.locator('li.upload[data-name="too-big.bin"]').getByText(/E_QUOTA/).waitFor();
    await page.getByText(/quota 1000 B/).waitFor();
    await browser.screenshot(page, "files-quota");
    await page.close();
  });

  test("New folder, Rename and Delete change the listing; folders open and Home leads back; a dropped file uploads", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD }]);
    const local = join(browser.dir, "notes.txt");
    writeFileSync(local, "some notes\n");
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByRole("textbox", { name: "Folder name" }).fill("docs");
    await page.getByRole("button", { name: "New folder" }).click();
    await page.getByRole("button", { name: "Open folder docs" }).waitFor();
    await page.getByLabel("Upload files").setInputFiles(local);
    assert.equal((await watchUpload(page, "notes.txt")).state, "done");
    await page.getByRole("button", { name: "Rename notes.txt" }).click();
    const box = page.getByRole("textbox", { name: "New name for notes.txt" });
    await box.fill("renamed.txt");
    await box.press("Enter");
    await page.getByRole("button", { name: "Delete renamed.txt" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Delete notes.txt" }).count(), 0);
    assert.equal(readFileSync(join(web.dataDir, "homes", "alice", "renamed.txt"), "utf8"), "some notes\n");
    await page.getByRole("button", { name: "Delete renamed.txt" }).click();
    await page.getByRole("button", { name: "Yes, delete renamed.txt" }).click();
    await page.getByRole("row").filter({ hasText: "renamed.txt" }).waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Open folder docs" }).click();
    await page.getByText("This folder is empty.").waitFor();
    await page.getByRole("navigation", { name: "Folder" }).getByRole("button", { name: "Home" }).click();
    await page.getByRole("button", { name: "Open folder docs" }).waitFor();
    await page.getByText(/^Home: /).waitFor();
    // Dropping files on the page uploads them too.
    const dropped = await page.evaluateHandle(() => {
      // Browser globals, typed by hand: the Node build has no DOM types.
      const g = globalThis as unknown as { DataTransfer: new () => { items: { add(file: unknown): void } }; File: new (parts: string[], name: string, options: { type: string }) => unknown };
      const transfer = new g.DataTransfer();
      transfer.items.add(new g.File(["dropped bytes\n"], "dropped.txt", { type: "text/plain" }));
      return transfer;
    });
    await page.locator(".files-page").dispatchEvent("dragover", { dataTransfer: dropped });
    await page.locator(".files-page").dispatchEvent("drop", { dataTransfer: dropped });
    assert.equal((await watchUpload(page, "dropped.txt")).state, "done");
    assert.equal(readFileSync(join(web.dataDir, "homes", "alice", "dropped.txt"), "utf8"), "dropped bytes\n");
    await browser.screenshot(page, "files-manage");
    await page.close();
  });
});
