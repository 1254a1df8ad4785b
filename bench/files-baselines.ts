/**
 * The baselines of the files benchmark (issue 5), each a real program in its own process: the plain node:net
 * stream (files-plain.ts), an rsync daemon, and the textbook Python upload. Every receiver is started once and
 * reports when each transfer is complete, so a transfer is timed until the bytes are in the receiver's file.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

const PLAIN = fileURLToPath(new URL("./files-plain.js", import.meta.url));

/**
 * The classic exercise's receiver: a 4-byte big-endian length, a JSON header {name, size, sha256}, then the
 * bytes, read with recv(1024), written and hashed; the hash is compared at the end and "ok" sent back.
 */
const PY_SERVER = `
import hashlib, json, socket, struct, sys

def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data

dest = sys.argv[1]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(5)
print("listening", srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    with conn:
        (n,) = struct.unpack(">I", recv_exactly(conn, 4))
        header = json.loads(recv_exactly(conn, n))
        size, h, received = header["size"], hashlib.sha256(), 0
        with open(dest, "wb") as f:
            while received < size:
                data = conn.recv(1024)
                if not data:
                    break
                f.write(data)
                h.update(data)
                received += len(data)
        ok = received == size and h.hexdigest() == header["sha256"]
        conn.sendall(b"ok" if ok else b"no")
        print("done", received, flush=True) if ok else print("failed sha256 or size", flush=True)
`;

/** The classic exercise's sender: hash the file, send the header, then the file's lines. */
const PY_CLIENT = `
import hashlib, json, os, socket, struct, sys

path, port = sys.argv[1], int(sys.argv[2])
h = hashlib.sha256()
with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(65536), b""):
        h.update(chunk)
header = json.dumps({"name": os.path.basename(path), "size": os.path.getsize(path), "sha256": h.hexdigest()}).encode()
with socket.create_connection(("127.0.0.1", port)) as s:
    s.sendall(struct.pack(">I", len(header)) + header)
    with open(path, "rb") as f:
        for line in f:
            s.sendall(line)
    sys.exit(0 if s.recv(2) == b"ok" else 1)
`;

/** A receiver that announces its port and then one line per finished transfer. */
export interface Receiver {
  port: number;
  pid: number;
  /** Resolves the next line the receiver prints ("done BYTES" or a failure). */
  nextLine(): Promise<string>;
  stop(): Promise<void>;
}

async function startReceiver(command: string, args: string[]): Promise<Receiver> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-2000)));
  const lines: Interface = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  lines.on("line", (line) => {
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(line);
    else queue.push(line);
  });
  const exited = once(child, "exit");
  const nextLine = (): Promise<string> => {
    const line = queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    return Promise.race([
      new Promise<string>((resolve) => waiters.push(resolve)),
      exited.then(() => {
        throw new Error(`${command} exited: ${stderr}`);
      }),
    ]);
  };
  const first = await nextLine();
  const match = /^listening (\d+)$/.exec(first);
  if (match === null) throw new Error(`${command}: unexpected first line ${JSON.stringify(first)}`);
  return { port: Number(match[1]), pid: child.pid as number, nextLine, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Runs a client to completion; rejects with its stderr when it fails. */
export async function runClient(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-2000)));
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${String(code)}): ${stderr}`);
  return stdout;
}

/** The plain node:net receiver writing to `dest`, and its sender. */
export async function startPlain(dest: string): Promise<{ receiver: Receiver; send(source: string): Promise<void> }> {
  const receiver = await startReceiver(process.execPath, [PLAIN, "server", dest]);
  return {
    receiver,
    async send(source) {
      const [line] = await Promise.all([receiver.nextLine(), runClient(process.execPath, [PLAIN, "client", String(receiver.port), source])]);
      if (!line.startsWith("done ")) throw new Error(`plain receiver: ${line}`);
    },
  };
}

/** The textbook Python receiver writing to `dest`, and its sender; null without python3. */
export async function startPython(workDir: string, dest: string): Promise<{ receiver: Receiver; send(source: string): Promise<void> } | null> {
  if (spawnSync("python3", ["--version"]).error !== undefined) return null;
  const server = join(workDir, "py_upload_server.py");
  const client = join(workDir, "py_upload_client.py");
  writeFileSync(server, PY_SERVER);
  writeFileSync(client, PY_CLIENT);
  const receiver = await startReceiver("python3", [server, dest]);
  return {
    receiver,
    async send(source) {
      const [line] = await Promise.all([receiver.nextLine(), runClient("python3", [client, source, String(receiver.port)])]);
      if (!line.startsWith("done ")) throw new Error(`python receiver: ${line}`);
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A local rsync daemon serving module `bench` from `dir`; null when rsync is not installed. */
export async function startRsyncDaemon(workDir: string, dir: string): Promise<{ url: string; pid: number; stop(): Promise<void> } | null> {
  if (spawnSync("rsync", ["--version"]).error !== undefined) return null;
  mkdirSync(dir, { recursive: true });
  const config = join(workDir, "rsyncd.conf");
  const root = process.getuid?.() === 0;
  writeFileSync(
    config,
    [`pid file = ${join(workDir, "rsyncd.pid")}`, "use chroot = no", ...(root ? ["uid = root", "gid = root"] : []), "[bench]", `  path = ${dir}`, "  read only = false", ""].join("\n"),
  );
  const port = await freePort();
  const child = spawn("rsync", ["--daemon", "--no-detach", `--config=${config}`, `--port=${port}`, "--address=127.0.0.1"], { stdio: "ignore" });
  const url = `rsync://127.0.0.1:${port}/bench/`;
  for (let i = 0; ; i += 1) {
    if (spawnSync("rsync", [url], { stdio: "ignore" }).status === 0) break;
    if (i > 100 || child.exitCode !== null) {
      await stopChild(child);
      throw new Error("the rsync daemon did not start");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, pid: child.pid as number, stop: () => stopChild(child) };
}

/**
 * CPU seconds (user + system) a process has used, with its waited-for children (the rsync daemon forks one per
 * transfer); `"self-children"` gives this process's waited-for children only (the clients it ran). NaN without
 * /proc.
 */
export function cpuSeconds(pid: number | "self-children"): number {
  try {
    const stat = readFileSync(`/proc/${pid === "self-children" ? "self" : pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    const [utime, stime, cutime, cstime] = fields.slice(11, 15);
    return (pid === "self-children" ? cutime + cstime : utime + stime + cutime + cstime) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
