/**
 * Issue 6's exec benchmark: round trips per second of `wharf exec -- true` through a running `wharf serve`
 * (connect once, log in once, then `exec.run` after `exec.run`: spawn, wait, reply), with 1 and with 4 commands
 * in flight (the default per-user cap). Beside it, for scale, the same `true` spawned locally by node's
 * child_process (with pipes, in a process group of its own, as the server does), which bounds what any
 * remote-command service written in node can reach. There is no target.
 *
 * The two alternate round by round; medians count. WHARF_BENCH_QUICK=1 for fewer, shorter rounds.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { connect, type Connection } from "../src/client/index.js";
import { AccountStore, login } from "../src/services/accounts/index.js";
import { execCommand } from "../src/services/exec/index.js";

const quick = process.env.WHARF_BENCH_QUICK === "1";
const ROUNDS = quick ? 2 : 4;
const SECONDS = quick ? 1 : 2;
const WHARF_CLI = fileURLToPath(new URL("../bin/wharf.cjs", import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `once()` from `depth` loops for SECONDS; resolves completions per second. */
async function rate(depth: number, one: () => Promise<void>): Promise<number> {
  let done = 0;
  let running = true;
  const started = performance.now();
  const timer = setTimeout(() => (running = false), SECONDS * 1000);
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (running) {
        await one();
        done += 1;
      }
    }),
  );
  clearTimeout(timer);
  return done / ((performance.now() - started) / 1000);
}

/** Spawned as the server spawns commands (pipes, own process group), and waited for until its pipes close. */
async function localTrue(): Promise<void> {
  const child = spawn("true", { stdio: "pipe", detached: true });
  const [code] = await once(child, "close");
  if (code !== 0) throw new Error(`true exited with ${code}`);
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "wharf-exec-bench-"));
  await new AccountStore(dataDir).add("bench", "pw", { canExec: true });
  const serve = spawn(process.execPath, [WHARF_CLI, "serve", "--port", "0", "--no-udp", "--log-level", "warn", "--data", dataDir], { stdio: ["ignore", "pipe", "inherit"] });
  let conn: Connection | null = null;
  try {
    const line = await new Promise<string>((resolve) => createInterface({ input: serve.stdout! }).once("line", resolve));
    const url = line.replace(/^wharf listening on /, "").split(" ")[0];
    conn = await connect(url);
    await login(conn, "bench", "pw");
    const session = conn;
    const remoteTrue = async (): Promise<void> => {
      const { exitCode } = await execCommand(session, ["true"]);
      if (exitCode !== 0) throw new Error(`true exited with ${exitCode}`);
    };
    console.log(`exec: round trips of \`true\`, ${ROUNDS} alternating rounds of ${SECONDS} s; medians; ${cpus().length} cores, node ${process.version}, load average ${loadavg()[0].toFixed(2)}`);
    await rate(1, remoteTrue); // warm up
    const results = new Map<string, number[]>();
    for (const depth of [1, 4]) {
      for (let round = 0; round < ROUNDS; round += 1) {
        const order: [string, () => Promise<void>][] = [["wharf exec", remoteTrue], ["local spawn", localTrue]];
        if (round % 2 === 1) order.reverse();
        for (const [name, one] of order) {
          const perSecond = await rate(depth, one);
          const key = `${name}/${depth}`;
          results.set(key, [...(results.get(key) ?? []), perSecond]);
          console.error(`  ${depth} in flight  round ${round + 1}  ${name.padEnd(11)} ${Math.round(perSecond)}/s`);
        }
      }
    }
    console.log("");
    console.log("in flight | what        | round trips/s (median)");
    console.log("----------|-------------|-----------------------");
    for (const depth of [1, 4]) {
      for (const name of ["wharf exec", "local spawn"]) {
        console.log(`${String(depth).padStart(9)} | ${name.padEnd(11)} | ${Math.round(median(results.get(`${name}/${depth}`) ?? [0]))}`);
      }
      const ratio = median(results.get(`wharf exec/${depth}`) ?? [0]) / median(results.get(`local spawn/${depth}`) ?? [1]);
      console.log(`${String(depth).padStart(9)} | wharf exec reaches ${(ratio * 100).toFixed(0)}% of a local spawn (no target)`);
    }
  } finally {
    conn?.destroy();
    serve.kill("SIGTERM");
    await once(serve, "exit");
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
