/**
 * Issue 13's browser upload benchmark: one 200 MiB file uploaded by the web app in headless Chromium (over the
 * WebSocket gateway, hashed with the wasm BLAKE3 as it is sent) and by `wharf put` (TCP, native BLAKE3), to the
 * same `wharf serve`, each timed from the pick (or the command's start) to the verified commit. Prints both rates
 * and their ratio. WHARF_BENCH_UPLOAD_MIB changes the size; `npm run bench -- browser-upload` runs it.
 */
import { spawn } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { AccountStore } from "../src/services/accounts/index.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../test/helpers/browser.js";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.WHARF_BENCH_UPLOAD_MIB ?? 200);
const WHARF_CLI = fileURLToPath(new URL("../bin/wharf.cjs", import.meta.url));
const PASSWORD = "bench-password";

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "wharf-bench-browser-"));
  const dataDir = join(work, "data");
  const file = join(work, "upload.bin");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < sizeMiB; i++) writeSync(fd, randomFillSync(block));
  closeSync(fd);
  await new AccountStore(dataDir).add("bench", PASSWORD);

  const server = spawn(process.execPath, [WHARF_CLI, "serve", "--data", dataDir, "--host", "127.0.0.1", "--port", "0", "--no-udp", "--http-port", "0", "--log-level", "warn"], { stdio: ["ignore", "pipe", "inherit"] });
  const stop = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  };
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once("line", resolve);
      server.once("exit", (code) => reject(new Error(`wharf serve exited with ${String(code)}`)));
    });
    const tcpUrl = /tcp:\/\/\S+/.exec(first)?.[0];
    const httpUrl = /http:\/\/\S+/.exec(first)?.[0];
    if (tcpUrl === undefined || httpUrl === undefined) throw new Error(`wharf serve: ${first}`);

    // Chromium: log in through the page, pick the file, wait for the verified result.
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    let browserSeconds: number;
    try {
      const page = await browser.newPage();
      await page.goto(httpUrl);
      await page.getByRole("textbox", { name: "User" }).fill("bench");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("navigation", { name: "Pages" }).waitFor();
      const started = performance.now();
      await page.getByLabel("Upload files").setInputFiles(file);
      await page.locator('li.upload[data-name="upload.bin"][data-state]').waitFor({ timeout: 600_000 });
      browserSeconds = (performance.now() - started) / 1000;
      const state = await page.locator('li.upload[data-name="upload.bin"]').getAttribute("data-state");
      if (state !== "done") throw new Error(`browser upload ${state}: ${await page.locator('li.upload[data-name="upload.bin"]').innerText()}`);
    } finally {
      await browser.close();
    }

    // wharf put of the same bytes to another name (no resume, no delta: a fresh name).
    const started = performance.now();
    const put = spawn(process.execPath, [WHARF_CLI, "put", file, "cli-copy.bin", "--server", tcpUrl, "--user", "bench", "--json"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, WHARF_PASSWORD: PASSWORD, XDG_CONFIG_HOME: work },
    });
    let out = "";
    put.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => put.once("close", resolve));
    const putSeconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`wharf put exited ${String(code)}: ${out}`);

    const browserRate = sizeMiB / browserSeconds;
    const putRate = sizeMiB / putSeconds;
    console.log(`file: ${sizeMiB} MiB, one wharf serve, loopback`);
    console.log(`chromium web app upload (ws, wasm BLAKE3): ${browserSeconds.toFixed(2)} s, ${browserRate.toFixed(1)} MiB/s`);
    console.log(`wharf put (tcp, native BLAKE3, process start and login included): ${putSeconds.toFixed(2)} s, ${putRate.toFixed(1)} MiB/s`);
    console.log(`ratio browser / put: ${(browserRate / putRate).toFixed(2)}x`);
  } finally {
    await stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
