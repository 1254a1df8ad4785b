/**
 * Issue 15's benchmark: wharf against rsync on the three things rsync users do, each as whole commands (start-up,
 * login, transfer, fsync and rename included), in one run, rows interleaved, medians of the rounds:
 *
 *  1. put and get of a big file (1 GiB), BLAKE3 and sha256 modes, against rsync --whole-file;
 *  2. a tree of 10,000 small files (4 to 64 KiB) put twice: the second put skips everything on both sides. As a
 *     user who syncs often does (and as rsync's daemon, which asks for no password here, is run), wharf logs in
 *     once (`wharf login`, a saved token) and every command of the measured rows uses the token; the second tree
 *     put with the password (scrypt on the server per run) is reported beside it;
 *  3. delta: the big file, then the same with 100 scattered 64 KiB blocks changed and 1 MiB inserted near the
 *     start, put onto the old version, which each round puts first, untimed (`wharf delta`: the server keeps the
 *     block list it made while storing it; rsync is given a copy, since it keeps nothing); the same put onto an old
 *     version copied into the server's folder behind its back, which it must read to list (`wharf delta cold`,
 *     reported); and the same update the other way, a get onto a local copy of the old version (reported).
 *
 * Two machines are modelled on one: every client runs pinned to CPU 0 and every server (wharf serve, the rsync
 * daemon and the children it forks) to CPU 1, with `taskset`. CPU seconds per GiB are reported per side. Files
 * live on tmpfs (/dev/shm); before each timed big-file command, half again as much memory as it writes is warmed
 * (warmMemory). WHARF_BENCH_FILE_MIB (1024), WHARF_BENCH_FILES (10000), WHARF_BENCH_ROUNDS (5),
 * --quick: 128 MiB, 1000 files, 1 round. WHARF_BENCH_ROWS=delta (comma-separated words) runs only the rows whose
 * name holds one of them, and only the set-up they need.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, randomFillSync } from "node:crypto";
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AccountStore } from "../src/services/accounts/index.js";
import { cpuSeconds, runClient } from "./files-baselines.js";

const MiB = 1024 * 1024;
const env = process.env;
const quick = process.argv.includes("--quick") || env.WHARF_BENCH_QUICK === "1";
const sizeMiB = Number(env.WHARF_BENCH_FILE_MIB ?? (quick ? 128 : 1024));
const treeFiles = Number(env.WHARF_BENCH_FILES ?? (quick ? 1000 : 10_000));
// Five rounds: on these machines one round in five of a row may take twice as long (the server's CPU time doubles
// with it, rsync's and wharf's alike); a median of five stands two such rounds, one of three only one.
const rounds = Number(env.WHARF_BENCH_ROUNDS ?? (quick ? 1 : 5));
const rowWords = (env.WHARF_BENCH_ROWS ?? "").split(",").filter((word) => word !== "");
const wanted = (name: string): boolean => rowWords.length === 0 || rowWords.some((word) => name.includes(word));
/** A set-up step is needed when any of the rows that use it runs (by the rows' full names, not by the word). */
const anyWanted = (...rows: string[]): boolean => rows.some(wanted);
const TREE_ROWS = ["wharf tree again", "wharf tree pw again", "rsync tree again"];
const WHARF_CLI = fileURLToPath(new URL("../bin/wharf.cjs", import.meta.url));
const CLIENT_CPU = "0";
const SERVER_CPU = "1";
const pinned = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

function onCpu(cpu: string, command: string, args: string[]): [string, string[]] {
  return pinned ? ["taskset", ["-c", cpu, command, ...args]] : [command, args];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function startWharf(dataDir: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  await new AccountStore(dataDir).add("bench", "bench-password");
  const [cmd, args] = onCpu(SERVER_CPU, process.execPath, [WHARF_CLI, "serve", "--data", dataDir, "--port", "0", "--no-udp", "--log-level", "warn"]);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`wharf serve exited with ${String(code)}`)));
  });
  const match = /^wharf listening on (tcp:\/\/\S+)/.exec(first);
  if (match === null) throw new Error(`wharf serve: ${first}`);
  return { url: match[1], pid: child.pid as number, stop: () => stopChild(child) };
}

async function stopChild(child: ReturnType<typeof spawn>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function startRsync(work: string, dir: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const config = join(work, "rsyncd.conf");
  const root = process.getuid?.() === 0;
  writeFileSync(config, [`pid file = ${join(work, "rsyncd.pid")}`, "use chroot = no", ...(root ? ["uid = root", "gid = root"] : []), "[bench]", `  path = ${dir}`, "  read only = false", ""].join("\n"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const [cmd, args] = onCpu(SERVER_CPU, "rsync", ["--daemon", "--no-detach", `--config=${config}`, `--port=${port}`, "--address=127.0.0.1"]);
  const child = spawn(cmd, args, { stdio: "ignore" });
  const url = `rsync://127.0.0.1:${port}/bench/`;
  for (let i = 0; spawnSync("rsync", [url], { stdio: "ignore" }).status !== 0; i += 1) {
    if (i > 100 || child.exitCode !== null) throw new Error("the rsync daemon did not start");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, pid: child.pid as number, stop: () => stopChild(child) };
}

/** Writes `size` random bytes. */
async function makeFile(path: string, size: number): Promise<void> {
  const file = await open(path, "w");
  const chunk = Buffer.alloc(8 * MiB);
  try {
    for (let written = 0; written < size; written += chunk.length) {
      randomFillSync(chunk);
      await file.write(chunk, 0, Math.min(chunk.length, size - written));
    }
  } finally {
    await file.close();
  }
}

/** The issue's edit: 100 scattered 64 KiB blocks changed, then 1 MiB inserted near the start (at 1 MiB). */
async function makeEdited(source: string, dest: string, size: number): Promise<void> {
  copyFileSync(source, dest);
  const file = await open(dest, "r+");
  try {
    for (let k = 0; k < 100; k += 1) await file.write(randomBytes(64 * 1024), 0, 64 * 1024, Math.floor(((k + 0.5) / 100) * (size - 64 * 1024)));
  } finally {
    await file.close();
  }
  const edited = await open(`${dest}.tmp`, "w");
  const src = await open(dest, "r");
  try {
    const head = Buffer.alloc(MiB);
    await src.read(head, 0, MiB, 0);
    await edited.write(head);
    await edited.write(randomBytes(MiB));
    const block = Buffer.alloc(8 * MiB);
    for (let at = MiB; at < size; ) {
      const { bytesRead } = await src.read(block, 0, block.length, at);
      await edited.write(block, 0, bytesRead);
      at += bytesRead;
    }
  } finally {
    await edited.close();
    await src.close();
  }
  rmSync(dest);
  copyFileSync(`${dest}.tmp`, dest);
  rmSync(`${dest}.tmp`);
}

function makeTree(root: string, count: number): number {
  let bytes = 0;
  for (let i = 0; i < count; i += 1) {
    const dir = join(root, `d${String(Math.floor(i / 100)).padStart(3, "0")}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    const size = 4096 + Math.floor(Math.random() * (60 * 1024));
    writeFileSync(join(dir, `f${String(i).padStart(5, "0")}`), randomBytes(size));
    bytes += size;
  }
  return bytes;
}

interface Sample {
  seconds: number;
  clientCpu: number;
  serverCpu: number;
  stdout: string;
}

/**
 * Writes and deletes `bytes` of zeros in `dir` (tmpfs). This machine is a VM whose host takes back the guest's free
 * memory a few seconds after it is freed (virtio-balloon free page reporting), and the next first touch of such a
 * page faults into the host: measured here, copying the same 1 GiB file on tmpfs took 0.27 s with recently freed
 * pages and 1.0-4.2 s with reported ones, a swing larger than any difference between the tools. Writing (and
 * freeing) as much as the command will write, just before it starts, gives every row hot pages alike, as a real
 * machine's memory always is.
 */
async function warmMemory(dir: string, bytes: number): Promise<void> {
  if (bytes <= 0) return;
  const path = join(dir, "warm-memory.bin");
  const file = await open(path, "w");
  const zeros = Buffer.alloc(8 * MiB);
  try {
    for (let written = 0; written < bytes; written += zeros.length) await file.write(zeros, 0, Math.min(zeros.length, bytes - written));
  } finally {
    await file.close();
    rmSync(path);
  }
}

async function timed(serverPid: number, command: string, args: string[], extraEnv?: NodeJS.ProcessEnv, warm?: { dir: string; bytes: number }): Promise<Sample> {
  if (warm !== undefined) await warmMemory(warm.dir, warm.bytes);
  const client0 = cpuSeconds("self-children");
  const server0 = cpuSeconds(serverPid);
  const started = performance.now();
  const [cmd, full] = onCpu(CLIENT_CPU, command, args);
  const stdout = await runClient(cmd, full, extraEnv);
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 200)); // the rsync daemon reaps its child a moment later
  return { seconds, clientCpu: cpuSeconds("self-children") - client0, serverCpu: cpuSeconds(serverPid) - server0, stdout };
}

/**
 * Node 20 reads and parses every certificate of NODE_EXTRA_CA_CERTS when it starts, before any of wharf's code
 * runs: with this workplace's bundle of about 140 certificates, `node -e 0` took 97-100 ms of CPU against 59 ms
 * without it. rsync never reads it, and a user's shell does not set it by default, so the commands run without it
 * (the header says when it was set).
 */
function dropExtraCaCerts(): string {
  const set = env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_EXTRA_CA_CERTS;
  return set === undefined ? "" : "; NODE_EXTRA_CA_CERTS unset for the commands (node parses it at every start)";
}

async function main(): Promise<number> {
  const caNote = dropExtraCaCerts();
  const work = await mkdtemp(join("/dev/shm", "wharf-transfers-bench-"));
  const size = sizeMiB * MiB;
  const gib = size / (1024 * MiB);
  const stops: (() => Promise<void>)[] = [];
  try {
    console.log(
      `transfers: ${sizeMiB} MiB file, ${treeFiles}-file tree, ${rounds} round(s), rows interleaved; tmpfs; clients on CPU ${CLIENT_CPU}, servers on CPU ${SERVER_CPU}` +
        `${pinned ? "" : " (taskset missing: NOT pinned)"}; ${cpus().length} cores, node ${process.version}, load average ${loadavg()[0].toFixed(2)}${caNote}`,
    );
    const source = join(work, "source.bin");
    const edited = join(work, "edited.bin");
    // The big file and its edited copy only when a row of theirs runs (the tree rows alone need neither).
    const bigRows = ["wharf put blake3", "wharf put sha256", "rsync put", "wharf get blake3", "wharf get sha256", "rsync get", "wharf delta", "wharf delta cold", "rsync delta", "wharf delta get", "rsync delta get"];
    if (bigRows.some(wanted)) {
      await makeFile(source, size);
      await makeEdited(source, edited, size);
    }
    const tree = join(work, "tree");
    const treeBytes = anyWanted(...TREE_ROWS) ? makeTree(tree, treeFiles) : 0;

    const data = join(work, "wharf-data");
    const wharf = await startWharf(data);
    stops.push(wharf.stop);
    const home = join(data, "homes", "bench");
    const module = join(work, "rsync-module");
    const rsync = await startRsync(work, module);
    stops.push(rsync.stop);
    const as = ["--server", wharf.url, "--user", "bench", "--json"];
    const pw = { WHARF_PASSWORD: "bench-password" };
    // Every timed command of a big-file row is preceded by warming half again as much memory as it writes
    // (warmMemory; with only as much, single rounds still swung: a put's server 1.16-2.70 CPU s).
    const warmFor = (args: string[]): { dir: string; bytes: number } => ({ dir: work, bytes: args.some((arg) => arg.endsWith(".bin")) ? Math.round(size * 1.5) : 0 });
    const wharfRun = (args: string[]): Promise<Sample> => timed(wharf.pid, process.execPath, [WHARF_CLI, ...args, ...as], pw, warmFor(args));
    // `wharf login` once, its token saved in a config folder of the run's own: the tree rows log in with it.
    const saved = { XDG_CONFIG_HOME: join(work, "config") };
    await runClient(process.execPath, [WHARF_CLI, "login", "--server", wharf.url, "--user", "bench"], { ...saved, ...pw });
    const wharfTokenRun = (args: string[]): Promise<Sample> => timed(wharf.pid, process.execPath, [WHARF_CLI, ...args, ...as], saved, warmFor(args));
    const rsyncRun = (args: string[]): Promise<Sample> => timed(rsync.pid, "rsync", args, undefined, warmFor(args));
    const report = (sample: Sample): Record<string, unknown> => JSON.parse(sample.stdout.trim().split("\n")[0]) as Record<string, unknown>;

    // What gets need on the server, and the trees' first puts (once: they are reported, not targeted).
    if (anyWanted("wharf get blake3", "wharf get sha256", "rsync get")) {
      await runClient(process.execPath, [WHARF_CLI, "put", source, "stored-blake3.bin", ...as], pw);
      await runClient(process.execPath, [WHARF_CLI, "put", source, "stored-sha256.bin", "--hash", "sha256", ...as], pw);
      copyFileSync(source, join(module, "stored.bin"));
    }
    if (anyWanted("wharf delta get", "rsync delta get")) {
      // The new version on both servers, for the delta gets onto a local copy of the old one.
      await runClient(process.execPath, [WHARF_CLI, "put", edited, "delta-new.bin", ...as], pw);
      copyFileSync(edited, join(module, "delta-new.bin"));
    }
    const firstTree = anyWanted(...TREE_ROWS) ? { wharf: await wharfTokenRun(["put", "-r", tree, "tree"]), rsync: await rsyncRun(["-rt", `${tree}/`, `${rsync.url}tree/`]) } : null;

    const samples = new Map<string, Sample[]>();
    const add = (name: string, sample: Sample): void => void (samples.get(name) ?? samples.set(name, []).get(name)!).push(sample);
    const sentFraction: number[] = [];
    const getSentFraction: number[] = [];
    type Row = { name: string; run(round: number): Promise<void> };
    const allRows: Row[] = [
      { name: "wharf put blake3", run: async (r) => { add("wharf put blake3", await wharfTokenRun(["put", source, `p-b3-${r}.bin`])); rmSync(join(home, `p-b3-${r}.bin`)); } },
      { name: "wharf put sha256", run: async (r) => { add("wharf put sha256", await wharfTokenRun(["put", source, `p-sha-${r}.bin`, "--hash", "sha256"])); rmSync(join(home, `p-sha-${r}.bin`)); } },
      { name: "rsync put", run: async (r) => { add("rsync put", await rsyncRun(["--whole-file", source, `${rsync.url}p-${r}.bin`])); rmSync(join(module, `p-${r}.bin`)); } },
      { name: "wharf get blake3", run: async () => { add("wharf get blake3", await wharfTokenRun(["get", "stored-blake3.bin", join(work, "g-b3.bin")])); rmSync(join(work, "g-b3.bin")); } },
      { name: "wharf get sha256", run: async () => { add("wharf get sha256", await wharfTokenRun(["get", "stored-sha256.bin", join(work, "g-sha.bin")])); rmSync(join(work, "g-sha.bin")); } },
      { name: "rsync get", run: async () => { add("rsync get", await rsyncRun(["--whole-file", `${rsync.url}stored.bin`, join(work, "g-rsync.bin")])); rmSync(join(work, "g-rsync.bin")); } },
      { name: "wharf tree again", run: async () => add("wharf tree again", await wharfTokenRun(["put", "-r", tree, "tree"])) },
      { name: "wharf tree pw again", run: async () => add("wharf tree pw again", await wharfRun(["put", "-r", tree, "tree"])) },
      { name: "rsync tree again", run: async () => add("rsync tree again", await rsyncRun(["-rt", `${tree}/`, `${rsync.url}tree/`])) },
      {
        name: "wharf delta",
        run: async () => {
          // The old version put first, outside the timing, as the issue's row has it ("a 1 GiB file, then the same
          // with ..."): the server lists its blocks as it stores it (block-recorder.ts).
          rmSync(join(home, "delta.bin"), { force: true });
          await runClient(process.execPath, [WHARF_CLI, "put", source, "delta.bin", ...as], saved);
          const sample = await wharfTokenRun(["put", edited, "delta.bin"]);
          add("wharf delta", sample);
          sentFraction.push(Number(report(sample).sent) / statSync(edited).size);
        },
      },
      {
        name: "wharf delta cold",
        run: async () => {
          mkdirSync(home, { recursive: true }); // (made by the first put when the other rows run)
          copyFileSync(source, join(home, "delta-copied.bin")); // placed behind the server's back: it must read it
          add("wharf delta cold", await wharfTokenRun(["put", edited, "delta-copied.bin"]));
        },
      },
      {
        name: "rsync delta",
        run: async () => {
          copyFileSync(source, join(module, "delta.bin"));
          add("rsync delta", await rsyncRun([edited, `${rsync.url}delta.bin`]));
        },
      },
      {
        name: "wharf delta get",
        run: async () => {
          const local = join(work, "dg-wharf.bin");
          copyFileSync(source, local); // the old version, placed outside the timing
          const sample = await wharfTokenRun(["get", "delta-new.bin", local]);
          add("wharf delta get", sample);
          getSentFraction.push(Number(report(sample).sent) / statSync(edited).size);
          rmSync(local);
        },
      },
      {
        name: "rsync delta get",
        run: async () => {
          const local = join(work, "dg-rsync.bin");
          copyFileSync(source, local);
          add("rsync delta get", await rsyncRun([`${rsync.url}delta-new.bin`, local]));
          rmSync(local);
        },
      },
    ];
    const rows = allRows.filter((row) => wanted(row.name));
    for (let round = 0; round < rounds; round += 1) {
      const order = [...rows.slice(round % rows.length), ...rows.slice(0, round % rows.length)];
      for (const row of order) {
        await row.run(round);
        const last = samples.get(row.name)!.at(-1)!;
        console.error(`  round ${round + 1}  ${row.name.padEnd(20)} ${last.seconds.toFixed(2)} s  (client ${last.clientCpu.toFixed(2)} s cpu, server ${last.serverCpu.toFixed(2)} s cpu)`);
      }
    }

    const m = (name: string, pick: (s: Sample) => number): number => median(samples.get(name)!.map(pick));
    const secs = (name: string): number => m(name, (s) => s.seconds);
    const rate = (name: string): number => sizeMiB / secs(name);
    const cpuSide = (name: string, side: "clientCpu" | "serverCpu"): number => m(name, (s) => s[side]) / gib;
    console.log(`\n${"row".padEnd(20)} ${"seconds".padStart(8)} ${"MiB/s".padStart(7)} ${"client cpu s/GiB".padStart(17)} ${"server cpu s/GiB".padStart(17)}`);
    for (const name of samples.keys()) {
      const big = !name.includes("tree");
      console.log(`${name.padEnd(20)} ${secs(name).toFixed(2).padStart(8)} ${(big ? rate(name).toFixed(0) : "-").padStart(7)} ${(big ? cpuSide(name, "clientCpu").toFixed(2) : "-").padStart(17)} ${(big ? cpuSide(name, "serverCpu").toFixed(2) : "-").padStart(17)}`);
    }
    for (const name of ["wharf tree again", "wharf tree pw again", "rsync tree again"]) {
      if (samples.has(name)) console.log(`${name}: client ${m(name, (s) => s.clientCpu).toFixed(2)} cpu s, server ${m(name, (s) => s.serverCpu).toFixed(2)} cpu s (medians)`);
    }
    if (firstTree !== null) {
      console.log(
        `first put of the tree (${treeFiles} files, ${(treeBytes / MiB).toFixed(0)} MiB), once: wharf ${firstTree.wharf.seconds.toFixed(2)} s (client ${firstTree.wharf.clientCpu.toFixed(2)}, server ${firstTree.wharf.serverCpu.toFixed(2)} cpu s), ` +
          `rsync -rt ${firstTree.rsync.seconds.toFixed(2)} s (client ${firstTree.rsync.clientCpu.toFixed(2)}, server ${firstTree.rsync.serverCpu.toFixed(2)} cpu s): ${(firstTree.rsync.seconds / firstTree.wharf.seconds).toFixed(2)}x rsync's speed (no target; reported)`,
      );
    }
    console.log("");
    const lines: [string, number, number, string][] = [];
    const have = (...names: string[]): boolean => names.every((name) => samples.has(name));
    const speed = (subject: string, baseline: string, target: number): void =>
      void (have(subject, baseline) && lines.push([`${subject} / ${baseline} (speed)`, secs(baseline) / secs(subject), target, ">="]));
    const cpuRatio = (subject: string, baseline: string, side: "clientCpu" | "serverCpu"): void =>
      void (have(subject, baseline) && lines.push([`${subject} / ${baseline} (${side === "clientCpu" ? "client" : "server"} cpu per byte)`, cpuSide(subject, side) / cpuSide(baseline, side), 1.2, "<="]));
    for (const verb of ["put", "get"]) {
      speed(`wharf ${verb} blake3`, `rsync ${verb}`, 1.0);
      cpuRatio(`wharf ${verb} blake3`, `rsync ${verb}`, "clientCpu");
      cpuRatio(`wharf ${verb} blake3`, `rsync ${verb}`, "serverCpu");
    }
    // sha256 mode must not be slower than before this issue: 491 MiB/s put, 245 MiB/s get (issue 15's pinned
    // figures); here it is printed against rsync for the same run.
    speed("wharf put sha256", "rsync put", 0);
    speed("wharf get sha256", "rsync get", 0);
    speed("wharf tree again", "rsync tree again", 1.0);
    speed("wharf tree pw again", "rsync tree again", 0); // with the password: scrypt on the server every run
    speed("wharf delta", "rsync delta", 1.0);
    speed("wharf delta cold", "rsync delta", 0); // the old version copied in behind the server's back
    if (sentFraction.length > 0) lines.push(["wharf delta: bytes sent / file size", median(sentFraction), 0.03, "<="]);
    // The delta get has no target of its own in issue 15 (both directions must work); reported beside rsync's.
    speed("wharf delta get", "rsync delta get", 0);
    if (getSentFraction.length > 0) lines.push(["wharf delta get: bytes sent / file size", median(getSentFraction), 0, "<="]);
    let missed = 0;
    for (const [label, value, target, op] of lines) {
      const met = target === 0 ? true : op === ">=" ? value >= target : value <= target;
      if (!met) missed += 1;
      // A ratio that misses by less than the last digit shown gets one more ("0.996x", not "1.00x ... MISSED").
      const digits = !met && value.toFixed(2) === target.toFixed(2) ? 3 : 2;
      const shown = label.includes("bytes sent") ? `${(value * 100).toFixed(2)}%` : `${value.toFixed(digits)}x`;
      const goal = target === 0 ? "(no target; reported)" : `target ${op} ${label.includes("bytes sent") ? `${target * 100}%` : `${target.toFixed(2)}x`} ${met ? "met" : "MISSED"}`;
      console.log(`${label.padEnd(58)} ${shown.padStart(8)}   ${goal}`);
    }
    console.log(`(load average now ${loadavg()[0].toFixed(2)}; ${missed} target(s) missed)`);
    return 0;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
