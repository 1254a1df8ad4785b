/**
 * Issue 13's WebSocket benchmark: small requests (a 64-byte ping) through `wharf serve`'s WebSocket gateway (the
 * wharf/browser client with the `ws` package's WebSocket), against the same requests over TCP (wharf/client),
 * and against a bare `ws` echo server that sends each message straight back (the same frames, encoded and
 * decoded by the same codec on the client; the server does nothing else), with 10 and 100 requests in flight.
 *
 * Target: the gateway serves at least 0.8x the requests per second of the bare ws server. Also printed: p50 and
 * p99 latency of each, and the ratios.
 *
 * Both servers run as child processes (started once); the load runs in this process, one system at a time;
 * rounds alternate the order, and the medians over rounds are reported.
 *
 * Environment: WHARF_BENCH_QUICK=1 for a short run; WHARF_BENCH_ROUNDS, WHARF_BENCH_REQUESTS override the rounds
 * and requests per measurement; WHARF_BENCH_STRICT=1 exits 1 when the target is missed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket, { WebSocketServer } from "ws";
import { connect as connectBrowser, decodeFrame, encodeFrame, type BrowserConnection } from "../src/browser/index.js";
import { connect as connectTcp, type Connection } from "../src/client/index.js";

const env = process.env;
const quick = process.argv.includes("--quick") || env.WHARF_BENCH_QUICK === "1";
const rounds = Number(env.WHARF_BENCH_ROUNDS ?? (quick ? 1 : 3));
const requests = Number(env.WHARF_BENCH_REQUESTS ?? (quick ? 5_000 : 20_000));
const windows = [10, 100];
const TARGET = 0.8;
const BODY = new Uint8Array(64).fill(0x61);

// --- the bare echo server, run as a child of this same file ---------------------------------------------------
if (process.argv[2] === "--echo-server") {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  server.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
  server.on("listening", () => {
    const address = server.address() as { port: number };
    console.log(`echo listening on ws://127.0.0.1:${address.port}`);
  });
} else {
  await main();
}

interface Measured {
  rate: number;
  p50: number;
  p99: number;
}

type Requester = (body: Uint8Array) => Promise<unknown>;

/** `total` requests, `window` of them in flight at any time; resolves the rate and the latency percentiles (ms). */
async function drive(request: Requester, total: number, window: number): Promise<Measured> {
  const latencies = new Float64Array(total);
  let started = 0;
  const begin = performance.now();
  const worker = async (): Promise<void> => {
    while (started < total) {
      const index = started++;
      const t0 = performance.now();
      await request(BODY);
      latencies[index] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  const seconds = (performance.now() - begin) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return { rate: total / seconds, p50: sorted[Math.floor(total * 0.5)], p99: sorted[Math.floor(total * 0.99)] };
}

/** A raw ws client speaking the same frames with the same codec; the echo comes back in order, so replies match FIFO. */
async function echoClient(url: string): Promise<{ request: Requester; close(): void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const waiting: ((value: unknown) => void)[] = [];
  let nextId = 1;
  ws.on("message", (data: ArrayBuffer) => {
    decodeFrame(new Uint8Array(data));
    waiting.shift()?.(undefined);
  });
  return {
    request: (body) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        ws.send(encodeFrame({ type: "ping", id: nextId++ }, body));
      }),
    close: () => ws.close(),
  };
}

async function startChild(args: string[], pattern: RegExp, children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code} before listening`)));
  });
  const match = pattern.exec(line);
  if (match === null) throw new Error(`unexpected first line: ${line}`);
  return match[0];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), "wharf-bench-ws-"));
  const wharfBin = fileURLToPath(new URL("../bin/wharf.cjs", import.meta.url));
  const connections: { close(): void }[] = [];
  try {
    const serveArgs = [wharfBin, "serve", "--host", "127.0.0.1", "--port", "0", "--udp-port", "0", "--http-port", "0", "--log-level", "warn", "--data", dataDir];
    const [first, echoUrl] = await Promise.all([
      startChild(serveArgs, /^wharf listening on .*$/, children),
      startChild([fileURLToPath(import.meta.url), "--echo-server"], /ws:\/\/\S+/, children),
    ]);
    const httpUrl = /http:\/\/\S+/.exec(first)![0];
    const tcpUrl = /tcp:\/\/\S+/.exec(first)![0];
    console.log(`ws bench: ${rounds} round(s) of ${requests} pings of ${BODY.length} B, windows ${windows.join(" and ")}; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`);
    console.log(`  gateway ${httpUrl}/ws, tcp ${tcpUrl}, bare ws echo ${echoUrl}`);

    const gateway: BrowserConnection = await connectBrowser(httpUrl, { WebSocket: WebSocket as never });
    const tcp: Connection = await connectTcp(tcpUrl);
    const echo = await echoClient(echoUrl);
    connections.push(gateway, { close: () => void tcp.close() }, echo);
    const systems: [string, Requester][] = [
      ["gateway (ws)", (body) => gateway.request({ type: "ping" }, body)],
      ["wharf tcp", (body) => tcp.request("ping", {}, body)],
      ["bare ws echo", echo.request],
    ];
    const results = new Map<string, Measured[]>();
    for (const [name, request] of systems) await drive(request, Math.min(2_000, requests), 10).then(() => drive(request, 1_000, 100)).catch((err) => { throw new Error(`${name} warm-up: ${String(err)}`); });
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? systems : [...systems].reverse();
      for (const window of windows) {
        for (const [name, request] of order) {
          const key = `${name}|${window}`;
          const list = results.get(key) ?? [];
          list.push(await drive(request, requests, window));
          results.set(key, list);
        }
      }
    }
    let missed = false;
    for (const window of windows) {
      console.log(`\n  ${window} in flight        req/s     p50 ms   p99 ms`);
      const rate = (name: string): number => median(results.get(`${name}|${window}`)!.map((m) => m.rate));
      for (const [name] of systems) {
        const list = results.get(`${name}|${window}`)!;
        console.log(`  ${name.padEnd(16)} ${rate(name).toFixed(0).padStart(9)} ${median(list.map((m) => m.p50)).toFixed(3).padStart(9)} ${median(list.map((m) => m.p99)).toFixed(3).padStart(8)}`);
      }
      const vsEcho = rate("gateway (ws)") / rate("bare ws echo");
      const vsTcp = rate("gateway (ws)") / rate("wharf tcp");
      if (vsEcho < TARGET) missed = true;
      console.log(`  gateway / bare ws echo = ${vsEcho.toFixed(2)}x (target >= ${TARGET}x: ${vsEcho >= TARGET ? "met" : "MISSED"}); gateway / tcp = ${vsTcp.toFixed(2)}x`);
    }
    if (missed && env.WHARF_BENCH_STRICT === "1") process.exitCode = 1;
  } finally {
    for (const conn of connections) conn.close();
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once("exit", resolve)) : null)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
