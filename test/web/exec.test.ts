/**
 * The Exec page in real Chromium (issue 13): `echo hi` shows `hi` and `exit 0` (in the terminal and as plain text
 * in "Output"), a failing command shows its code, colours reach the terminal while "Output" holds plain text, a
 * line of stdin reaches the command, "Stop" ends it, and a user without the exec right sees the refusal.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, logInThroughPage, startWebServe, type TestBrowser } from "../helpers/browser.js";

const PASSWORD = "exec page password";

describe("web app: Exec (Chromium)", { timeout: 240_000 }, () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("runs commands split like a shell line: output, exit codes, colours as plain text, stdin, Stop", async (t) => {
    const web = await startWebServe(t, [{ name: "alice", password: PASSWORD, canExec: true }]);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "alice", PASSWORD);
    await page.getByRole("link", { name: "Exec", exact: true }).click();
    const command = page.getByRole("textbox", { name: "Command" });
    const output = page.getByLabel("Output", { exact: true });
    const status = page.locator(".exit");

    await command.fill("echo hi");
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByText("exit 0").waitFor();
    assert.equal((await output.innerText()).trim(), "hi");
    assert.match(await page.locator(".xterm-rows").innerText(), /hi/);
    await browser.screenshot(page, "exec-echo-hi");

    // Quotes and backslashes group words as in a shell; no shell runs ($HOME stays as typed).
    await command.fill(`printf '%s|' "a b" 'c  d' e\\ f '$HOME'`);
    await command.press("Enter");
    await page.getByText("exit 0").waitFor();
    assert.equal(await output.innerText(), "a b|c  d|e f|$HOME|");

    await command.fill(`sh -c 'echo "to stderr" >&2; exit 3'`);
    await command.press("Enter");
    await page.getByText("exit 3").waitFor();
    assert.equal((await output.innerText()).trim(), "to stderr");

    await command.fill(`printf '\\033[31mred\\033[0m plain\\n'`);
    await command.press("Enter");
    await page.getByText("exit 0").waitFor();
    assert.equal((await output.innerText()).trim(), "red plain", "escape codes are not in the plain text");
    // xterm.js renders the red foreground as a colour class on the span.
    assert.ok((await page.locator(".xterm-rows span[class*='xterm-fg-']").count()) > 0, "the terminal shows a colour");
    await browser.screenshot(page, "exec-colours");

    await command.fill("head -n 1");
    await command.press("Enter");
    await page.getByRole("button", { name: "Stop" }).and(page.locator(":enabled")).waitFor();
    const stdin = page.getByRole("textbox", { name: "Input line" });
    await stdin.fill("typed line");
    await stdin.press("Enter");
    await page.getByText("exit 0").waitFor();
    assert.equal((await output.innerText()).trim(), "typed line");

    await command.fill("sleep 30");
    await command.press("Enter");
    await page.getByRole("button", { name: "Stop" }).and(page.locator(":enabled")).click();
    await status.filter({ hasText: /E_CANCELLED|killed/ }).waitFor({ timeout: 10_000 });
    await page.close();
  });

  test("a user without the exec right sees the server's refusal", async (t) => {
    const web = await startWebServe(t, [{ name: "bob", password: PASSWORD }]);
    const page = await browser.newPage();
    await logInThroughPage(page, web.httpUrl, "bob", PASSWORD);
    await page.getByRole("link", { name: "Exec", exact: true }).click();
    await page.getByRole("textbox", { name: "Command" }).fill("echo hi");
    await page.getByRole("button", { name: "Run" }).click();
    await page.locator(".exit").filter({ hasText: "E_FORBIDDEN" }).waitFor();
    assert.equal(await page.getByLabel("Output", { exact: true }).innerText(), "");
    await browser.screenshot(page, "exec-refused");
    await page.close();
  });
});
