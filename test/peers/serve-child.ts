/**
 * Runs a real `wharf serve` as a child process for the cross-language peer tests, and stops it for sure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The shipped CLI; this file is compiled to dist/test/peers/, the CLI bundled to dist/bin/ (scripts/build-cli.mjs). */
const CLI = fileURLToPath(new URL("../../bin/wharf.cjs", import.meta.url));

/** A running `wharf serve`. */
export interface ServeChild {
  readonly process: ChildProcess;
  readonly tcpUrl: string;
  readonly udpUrl: string;
  /** Everything the server wrote to stderr so far (its logs), for failure messages. */
  stderr(): string;
  /**
   * SIGTERMs the server and resolves its exit code (or signal name) once it has exited; SIGKILLs it if it has
   * not exited after `graceMs`. Idempotent, and safe after the process already died.
   */
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * Starts `wharf serve --port 0 --udp-port 0` on 127.0.0.1 with a throwaway data folder and resolves once its
 * first stdout line has named both addresses. Rejects (after killing the child) if that line does not come
 * within `timeoutMs`.
 */
export async function startServe(timeoutMs = 15_000): Promise<ServeChild> {
  const data = await mkdtemp(join(tmpdir(), "wharf-peer-"));
  const child = spawn(
    process.execPath,
    [CLI, "serve", "--port", "0", "--udp-port", "0", "--log-level", "warn", "--data", data],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  let stopping: Promise<number | string> | null = null;
  const stop = (graceMs = 10_000): Promise<number | string> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
        await rm(data, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  try {
    const line = await firstLine(child, timeoutMs);
    const tcpUrl = /tcp:\/\/\S+/.exec(line)?.[0];
    const udpUrl = /udp:\/\/\S+/.exec(line)?.[0];
    if (tcpUrl === undefined || udpUrl === undefined) throw new Error(`unexpected first line from wharf serve: ${line}`);
    return { process: child, tcpUrl, udpUrl, stderr: () => stderr, stop };
  } catch (err) {
    await stop(1_000);
    throw new Error(`wharf serve did not start: ${(err as Error).message}\n${stderr}`);
  }
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: string): void => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end >= 0) finish(null, text.slice(0, end));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`it exited (${code ?? signal}) before printing its addresses`));
    const timer = setTimeout(() => finish(new Error(`no address line within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, line = ""): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      // Keep draining stdout so that the child can never block on a full pipe.
      child.stdout?.resume();
      if (err === null) resolve(line);
      else reject(err);
    };
    child.stdout?.setEncoding("utf8").on("data", onData);
    child.once("exit", onExit);
  });
}
