import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

/** The built `wharf` command. */
/**
 * The built `wharf` command as it ships: the bundle of scripts/build-cli.mjs that package.json's `bin` names, so
 * that every test spawning the CLI proves what users run.
 */
export const WHARF_BIN = fileURLToPath(new URL("../../bin/wharf.cjs", import.meta.url));

/** A temporary folder removed when the test ends. */
export function tempDir(t: TestContext, prefix = "wharf-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A running `wharf serve`, with the addresses from its first line. */
export interface ServeProcess {
  child: ChildProcess;
  addresses: string[];
  url: (scheme: string) => string;
  stderr: () => string;
  /** Sends a signal and resolves the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `wharf serve ARGS` (with `--port 0 --udp-port 0` unless given) and waits for its listening line. */
export async function startServe(t: TestContext, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const dir = tempDir(t, "wharf-serve-");
  const fullArgs = ["serve", "--data", join(dir, "data"), "--log-level", "warn", ...args];
  if (!args.includes("--port")) fullArgs.push("--port", "0");
  if (!args.includes("--udp-port") && !args.includes("--no-udp")) fullArgs.push("--udp-port", "0");
  const child = spawn(process.execPath, [WHARF_BIN, ...fullArgs], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once("line", resolve)),
    exited.then((code) => {
      throw new Error(`wharf serve exited with ${code} before listening: ${stderr}`);
    }),
  ]);
  const match = /^wharf listening on (.+)$/.exec(first);
  if (match === null) throw new Error(`unexpected first line: ${first}`);
  const addresses = match[1].split(" ");
  return {
    child,
    addresses,
    url: (scheme) => {
      const found = addresses.find((address) => address.startsWith(`${scheme}://`));
      if (found === undefined) throw new Error(`no ${scheme} address in ${addresses.join(" ")}`);
      return found;
    },
    stderr: () => stderr,
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      return exited;
    },
  };
}

let isolatedConfig: string | undefined;

/**
 * A config folder for runs that do not name one (`XDG_CONFIG_HOME`), so that no test reads or writes the logins
 * of the user running the tests; removed when the test process exits.
 */
export function isolatedConfigHome(): string {
  if (isolatedConfig === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "wharf-config-"));
    isolatedConfig = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return isolatedConfig;
}

/** Runs `wharf ARGS` to completion and collects its output (with an isolated config folder unless `env` names one). */
export async function runWharf(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, XDG_CONFIG_HOME: isolatedConfigHome(), ...options.env };
  const child = spawn(process.execPath, [WHARF_BIN, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 30_000);
  // "close", not "exit": on a loaded machine the process can exit before its last output has been read.
  const [code] = await once(child, "close");
  clearTimeout(timer);
  return { code: code as number | null, stdout, stderr };
}
