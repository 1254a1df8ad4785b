/**
 * A real `wharf serve` child with its HTTP gateway on a free port, for the browser library's tests: the users are
 * written into a fresh data folder first, and stop() kills the child and removes the folder.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { WHARF_BIN } from "../helpers/cli.js";
import { addUsers, type UserSpec } from "../helpers/serve-process.js";

export interface HttpServe {
  /** e.g. http://127.0.0.1:PORT */
  httpUrl: string;
  /** e.g. ws://127.0.0.1:PORT/ws */
  wsUrl: string;
  tcpUrl: string;
  dataDir: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `wharf serve --http-port 0 ARGS` on 127.0.0.1 with these users, and waits for its first line. */
export async function startHttpServe(users: UserSpec[], args: string[] = []): Promise<HttpServe> {
  const dataDir = mkdtempSync(join(tmpdir(), "wharf-browser-"));
  await addUsers(dataDir, users);
  const argv = [WHARF_BIN, "serve", "--host", "127.0.0.1", "--port", "0", "--udp-port", "0", "--http-port", "0", "--log-level", "warn", "--data", dataDir, ...args];
  const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-64 * 1024)));
  const exited = once(child, "exit");
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once("line", resolve)),
      exited.then(() => {
        throw new Error(`wharf serve exited before listening: ${stderr}`);
      }),
      new Promise<string>((_, reject) => (timer = setTimeout(() => reject(new Error(`wharf serve did not listen in 30 s: ${stderr}`)), 30_000))),
    ]);
    lines.on("line", () => {});
    const httpUrl = /http:\/\/\S+/.exec(first)?.[0];
    const tcpUrl = /tcp:\/\/\S+/.exec(first)?.[0];
    if (httpUrl === undefined || tcpUrl === undefined) throw new Error(`no http:// or tcp:// address in: ${first}`);
    return { httpUrl, wsUrl: `${httpUrl.replace(/^http/, "ws")}/ws`, tcpUrl, dataDir, stderr: () => stderr, stop };
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
