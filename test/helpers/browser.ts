/**
 * Real-Chromium helpers for the web app's tests (issue 13): Debian's /usr/bin/chromium driven by playwright-core
 * (no browser download), one browser with a fresh profile per test file, a real `wharf serve --http-port 0`
 * with accounts, and screenshots saved under the test's temporary folder (their paths are printed).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startServe, type ServeProcess } from "./cli.js";
import { addUsers, type UserSpec } from "./serve-process.js";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Chromium flags for a quiet, sandbox-free headless run in CI. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A headless Chromium with its own profile folder; `close()` ends it and removes the folder. */
export interface TestBrowser {
  readonly context: BrowserContext;
  /** A folder for this file's screenshots, downloads and fixtures (removed by close() unless WHARF_KEEP_SCREENSHOTS). */
  readonly dir: string;
  /** Opens a new tab with the given viewport (default 1100x800). */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** Saves a full-page screenshot as DIR/screenshots/NAME.png, prints the path, and returns it. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh user-data-dir (a persistent context, so the profile is a folder this test owns).
 * Downloads are accepted. Set WHARF_KEEP_SCREENSHOTS=1 to keep the folder for looking at the screenshots.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const dir = mkdtempSync(join(tmpdir(), "wharf-web-"));
  const profile = join(dir, "profile");
  mkdirSync(join(dir, "screenshots"), { recursive: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      acceptDownloads: true,
      downloadsPath: join(dir, "downloads"),
      viewport: { width: 1100, height: 800 },
      timeout: 60_000,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(30_000);
  // A persistent context opens with one blank tab; tests open their own.
  for (const page of context.pages()) await page.close();
  let closed: Promise<void> | null = null;
  return {
    context,
    dir,
    async newPage(viewport = { width: 1100, height: 800 }) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      return page;
    },
    async screenshot(page, name) {
      const path = join(dir, "screenshots", `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      console.log(`# screenshot: ${path}`);
      return path;
    },
    close() {
      closed ??= context.close().finally(() => {
        if (process.env.WHARF_KEEP_SCREENSHOTS === undefined) rmSync(dir, { recursive: true, force: true });
      });
      return closed;
    },
  };
}

/** A `wharf serve` with its HTTP gateway, for the browser. */
export interface WebServe {
  /** The running server (replaced by restart()). */
  readonly serve: ServeProcess;
  /** `http://127.0.0.1:PORT` */
  readonly httpUrl: string;
  /** `tcp://127.0.0.1:PORT`, for CLI peers. */
  readonly tcpUrl: string;
  readonly dataDir: string;
  /** Stops the server (SIGTERM) and starts it again on the same TCP and HTTP ports with the same data folder. */
  restart(): Promise<void>;
}

/**
 * Starts `wharf serve --http-port 0` (and `extraArgs`) with `users` created first in a fresh data folder; the
 * server is killed and the folder removed when the test ends.
 */
export async function startWebServe(t: TestContext, users: UserSpec[], extraArgs: string[] = []): Promise<WebServe> {
  const root = mkdtempSync(join(tmpdir(), "wharf-webserve-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, "data");
  mkdirSync(dataDir);
  await addUsers(dataDir, users);
  // startServe puts its own --data first; the later one given here wins.
  const start = async (httpPort: string, tcpPort: string): Promise<ServeProcess> => {
    const serve = await startServe(t, ["--http-port", httpPort, "--port", tcpPort, "--host", "127.0.0.1", ...extraArgs, "--data", dataDir]);
    t.after(async () => {
      if (serve.child.exitCode === null && serve.child.signalCode === null) await serve.stop("SIGTERM");
    });
    return serve;
  };
  let serve = await start("0", "0");
  const httpUrl = serve.url("http");
  const tcpUrl = serve.url("tcp");
  return {
    get serve() {
      return serve;
    },
    httpUrl,
    tcpUrl,
    dataDir,
    async restart() {
      await serve.stop("SIGTERM");
      serve = await start(new URL(httpUrl).port, new URL(tcpUrl).port);
    },
  };
}

/** Logs in through the page's form and waits for the navigation. */
export async function logInThroughPage(page: Page, httpUrl: string, user: string, password: string): Promise<void> {
  await page.goto(httpUrl);
  await page.getByRole("textbox", { name: "User" }).fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("navigation").getByRole("link", { name: "Files" }).waitFor();
}

/**
 * The few browser globals the tests' page functions touch, typed here because the Node build has no DOM types:
 * inside `page.evaluate(() => ...)` write `(globalThis as unknown as PageGlobals).document`.
 */
export interface PageGlobals {
  document: {
    cookie: string;
    documentElement: { scrollWidth: number; clientWidth: number };
    querySelector(selector: string): PageElement | null;
  };
  localStorage: { length: number };
  sessionStorage: { getItem(key: string): string | null };
}

/** An element as the tests' page functions see it. */
export interface PageElement {
  getAttribute(name: string): string | null;
  /** A <progress>'s value. */
  value?: number;
}

/** True when the page scrolls sideways (content wider than the window). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as PageGlobals).document.documentElement;
    return root.scrollWidth > root.clientWidth + 1;
  });
}
