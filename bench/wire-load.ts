/**
 * The load generator of the wire benchmark (issue 3). It runs in a process of its own (`LoadGenerator`), so
 * that it never shares an event loop with the server it measures, and it is deliberately cheap per request:
 * request frames are encoded once before the run, replies are parsed by a byte scanner rather than JSON.parse,
 * and the replies of one read trigger the next requests in one corked write. A costly load generator would
 * flatten every server to its own speed and make the ratios meaningless.
 *
 * It shares no code with wharf, so a wharf bug cannot hide behind a matching client bug.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createConnection, type Socket } from "node:net";
import { createHistogram, performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";

/** One measurement: how hard to drive which server, and for how long. */
export interface LoadConfig {
  host: string;
  port: number;
  connections: number;
  /** Requests kept in flight per connection: 1 is ping-pong, more is pipelining. */
  depth: number;
  bodySize: number;
  /** Load applied before measuring, so that JIT, buffers and caches are warm. */
  warmupMs: number;
  durationMs: number;
}

/** What one measurement found. Latencies are in microseconds, from writing a request to parsing its reply. */
export interface LoadResult {
  requests: number;
  seconds: number;
  /** Every reply of the run, warmup and drain included: the denominator of the server's CPU time per request. */
  totalReplies: number;
  /**
   * CPU the load generator itself used while measuring, in cores (1 = one core busy all along). Near 1, the
   * load generator, not the server, may be what limits requests/s.
   */
  generatorCpu: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  /** Wrong replies (bad id, ok:false, wrong size or body) or broken connections; empty on a clean run. */
  errors: string[];
  errorCount: number;
}

/** Every this many replies the whole body is compared with the request's; the rest check size only. */
const BODY_CHECK_EVERY = 256;
/** How long the in-flight requests may take to come back after the measurement window. */
const DRAIN_TIMEOUT_MS = 20_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** The reply fields the load generator needs, as the byte scanner reads them. */
interface Scan {
  id: number;
  ok: boolean;
  size: number;
}

/**
 * Reads `id`, `ok` and `size` from a flat JSON object (`{"id":1,"ok":true,"size":64}`, with or without spaces)
 * without building a string. Returns false for anything else (strings, nested objects, escapes, fractions), which
 * the caller then hands to JSON.parse: error replies take the slow, exact path.
 */
function scanReply(b: Buffer, start: number, end: number, out: Scan): boolean {
  out.id = -1;
  out.ok = false;
  out.size = 0;
  let i = start;
  if (b[i] !== 0x7b) return false; // {
  i += 1;
  while (i < end) {
    let c = b[i];
    while (c === 0x20 || c === 0x2c || c === 0x0a || c === 0x09) c = b[++i]; // space , \n \t
    if (c === 0x7d) return out.id >= 0; // }
    if (c !== 0x22) return false; // "
    const keyStart = i + 1;
    let keyEnd = keyStart;
    while (keyEnd < end && b[keyEnd] !== 0x22) {
      if (b[keyEnd] === 0x5c) return false; // backslash
      keyEnd += 1;
    }
    i = keyEnd + 1;
    while (b[i] === 0x20) i += 1;
    if (b[i] !== 0x3a) return false; // :
    i += 1;
    while (b[i] === 0x20) i += 1;
    c = b[i];
    let value: number | boolean;
    if (c >= 0x30 && c <= 0x39) {
      let n = 0;
      while (i < end && b[i] >= 0x30 && b[i] <= 0x39) n = n * 10 + (b[i++] - 0x30);
      if (b[i] === 0x2e || b[i] === 0x65 || b[i] === 0x45) return false; // . e E
      value = n;
    } else if (c === 0x74) {
      value = true;
      i += 4;
    } else if (c === 0x66) {
      value = false;
      i += 5;
    } else {
      return false;
    }
    const keyLength = keyEnd - keyStart;
    if (keyLength === 2 && b[keyStart] === 0x69 && b[keyStart + 1] === 0x64) {
      if (typeof value !== "number") return false;
      out.id = value;
    } else if (keyLength === 2 && b[keyStart] === 0x6f && b[keyStart + 1] === 0x6b) {
      out.ok = value === true;
    } else if (
      keyLength === 4 &&
      b[keyStart] === 0x73 &&
      b[keyStart + 1] === 0x69 &&
      b[keyStart + 2] === 0x7a &&
      b[keyStart + 3] === 0x65
    ) {
      if (typeof value !== "number") return false;
      out.size = value;
    }
  }
  return false;
}

/** The exact fallback of scanReply, for replies the scanner does not take (error replies). */
function parseReply(b: Buffer, start: number, end: number, out: Scan): string | null {
  let header: { id?: unknown; ok?: unknown; size?: unknown; error?: unknown };
  try {
    header = JSON.parse(b.toString("utf8", start, end));
  } catch (err) {
    return `reply header is not JSON: ${(err as Error).message}`;
  }
  out.id = typeof header.id === "number" ? header.id : -1;
  out.ok = header.ok === true;
  out.size = typeof header.size === "number" ? header.size : 0;
  return out.ok ? null : `reply ${JSON.stringify(header)}`;
}

/** A request frame for every id slot: `{"type":"ping","id":N,"size":S}` then the shared body. */
function encodeRequests(slots: number, body: Buffer): Buffer[] {
  return Array.from({ length: slots }, (_, id) => {
    const json = Buffer.from(JSON.stringify({ type: "ping", id, size: body.length }));
    const frame = Buffer.allocUnsafe(4 + json.length + body.length);
    frame.writeUInt32BE(json.length, 0);
    json.copy(frame, 4);
    body.copy(frame, 4 + json.length);
    return frame;
  });
}

/** State shared by every connection of one run. */
class Run {
  readonly config: LoadConfig;
  readonly body: Buffer;
  readonly frames: Buffer[];
  readonly histogram = createHistogram();
  measuring = false;
  sending = true;
  counted = 0;
  replies = 0;
  errorCount = 0;
  errors: string[] = [];
  inFlight = 0;
  onIdle: (() => void) | null = null;

  constructor(config: LoadConfig) {
    this.config = config;
    this.body = Buffer.alloc(config.bodySize);
    for (let i = 0; i < this.body.length; i += 1) this.body[i] = (i * 131 + 7) & 0xff;
    // Twice the depth: an id is only reused once its reply is back, even when replies come out of order.
    this.frames = encodeRequests(Math.max(2 * config.depth, 8), this.body);
  }

  error(message: string): void {
    this.errorCount += 1;
    if (this.errors.length < 10 && !this.errors.includes(message)) this.errors.push(message);
  }
}

/**
 * One connection keeping `depth` requests in flight, each id in at most one of them. Replies are parsed as a
 * stream: only a header split across reads is gathered (a few bytes); bodies are checked where they lie in the
 * received chunks and never copied, so large bodies cost the load generator no more than the kernel's copy.
 */
class LoadConnection {
  readonly socket: Socket;
  #run: Run;
  #free: number[];
  #sentAt: Float64Array;
  #outstanding: Uint8Array;
  #inFlight = 0;
  /** The start of a reply header split across reads, or null. */
  #head: Buffer | null = null;
  /** The reply whose header has been read. */
  #scan: Scan = { id: -1, ok: false, size: 0 };
  /** Body bytes of the current reply still to come; -1 while reading a header. */
  #bodyLeft = -1;
  #bodyOffset = 0;
  #checkBody = false;
  #bodyDiffers = false;
  #sinceCheck = 0;
  closed = false;

  constructor(run: Run, socket: Socket) {
    this.#run = run;
    this.socket = socket;
    const slots = run.frames.length;
    this.#free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
    this.#sentAt = new Float64Array(slots);
    this.#outstanding = new Uint8Array(slots);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("close", () => {
      this.closed = true;
      if (this.#inFlight > 0) {
        run.error(`connection closed with ${this.#inFlight} requests unanswered`);
        run.inFlight -= this.#inFlight;
        this.#inFlight = 0;
        if (run.inFlight === 0) run.onIdle?.();
      }
    });
    socket.on("error", (err) => run.error(`socket error: ${err.message}`));
  }

  start(): void {
    this.socket.cork();
    for (let i = 0; i < this.#run.config.depth; i += 1) this.#send();
    this.socket.uncork();
  }

  #send(): void {
    const id = this.#free.pop() as number;
    this.#sentAt[id] = performance.now();
    this.#outstanding[id] = 1;
    this.#inFlight += 1;
    this.#run.inFlight += 1;
    this.socket.write(this.#run.frames[id]);
  }

  #onData(chunk: Buffer): void {
    // The requests that the replies of this read release leave in one writev.
    this.socket.cork();
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.#bodyLeft >= 0) {
        offset = this.#consumeBody(chunk, offset);
        continue;
      }
      if (this.#head !== null) {
        offset = this.#continueHead(chunk, offset);
        continue;
      }
      const available = end - offset;
      const headerEnd = available < 4 ? end + 1 : offset + 4 + chunk.readUInt32BE(offset);
      if (headerEnd > end) {
        this.#head = Buffer.from(chunk.subarray(offset)); // a copy: the chunk may be large
        break;
      }
      if (!this.#header(chunk, offset + 4, headerEnd)) return;
      offset = headerEnd;
    }
    this.socket.uncork();
  }

  /** Adds bytes to a split header; parses it once whole. Returns the new offset in `chunk`. */
  #continueHead(chunk: Buffer, offset: number): number {
    const head = this.#head as Buffer;
    const need = head.length < 4 ? 4 : 4 + head.readUInt32BE(0);
    const take = Math.min(need - head.length, chunk.length - offset);
    const grown = Buffer.concat([head, chunk.subarray(offset, offset + take)]);
    offset += take;
    if (grown.length < 4 || grown.length < 4 + grown.readUInt32BE(0)) {
      this.#head = grown;
      return offset;
    }
    this.#head = null;
    return this.#header(grown, 4, grown.length) ? offset : chunk.length;
  }

  /** Reads a reply header; false when the stream cannot be followed (no id), after closing the connection. */
  #header(bytes: Buffer, start: number, end: number): boolean {
    const run = this.#run;
    const scan = this.#scan;
    if (!scanReply(bytes, start, end, scan)) {
      const problem = parseReply(bytes, start, end, scan);
      if (problem !== null) run.error(problem);
      if (scan.id < 0) {
        this.socket.destroy();
        return false;
      }
    }
    if (scan.ok && scan.size !== run.body.length) run.error(`reply body of ${scan.size} bytes, expected ${run.body.length}`);
    this.#sinceCheck += 1;
    this.#checkBody = scan.ok && scan.size === run.body.length && this.#sinceCheck >= BODY_CHECK_EVERY;
    if (this.#checkBody) this.#sinceCheck = 0;
    this.#bodyDiffers = false;
    this.#bodyOffset = 0;
    this.#bodyLeft = scan.size;
    if (scan.size === 0) this.#finishReply(); // complete as soon as its header is
    return true;
  }

  #consumeBody(chunk: Buffer, offset: number): number {
    const n = Math.min(this.#bodyLeft, chunk.length - offset);
    if (this.#checkBody && this.#run.body.compare(chunk, offset, offset + n, this.#bodyOffset, this.#bodyOffset + n) !== 0) {
      this.#bodyDiffers = true;
    }
    this.#bodyOffset += n;
    this.#bodyLeft -= n;
    if (this.#bodyLeft === 0) this.#finishReply();
    return offset + n;
  }

  #finishReply(): void {
    this.#bodyLeft = -1;
    const run = this.#run;
    const id = this.#scan.id;
    if (id >= this.#outstanding.length || this.#outstanding[id] === 0) {
      run.error(`reply for id ${id}, which is not in flight`);
      return;
    }
    if (this.#bodyDiffers) run.error("reply body differs from the request body");
    const now = performance.now();
    this.#outstanding[id] = 0;
    this.#free.push(id);
    this.#inFlight -= 1;
    run.inFlight -= 1;
    run.replies += 1;
    if (run.measuring) {
      run.counted += 1;
      const micros = Math.round((now - this.#sentAt[id]) * 1000);
      run.histogram.record(micros > 0 ? micros : 1);
    }
    if (run.sending) this.#send();
    else if (run.inFlight === 0) run.onIdle?.();
  }
}

function connectAll(config: LoadConfig, run: Run): Promise<LoadConnection[]> {
  return Promise.all(
    Array.from(
      { length: config.connections },
      () =>
        new Promise<LoadConnection>((resolve, reject) => {
          const socket = createConnection({ host: config.host, port: config.port });
          const timer = setTimeout(() => socket.destroy(new Error("connect timed out")), CONNECT_TIMEOUT_MS);
          socket.once("error", reject);
          socket.once("connect", () => {
            clearTimeout(timer);
            socket.off("error", reject);
            resolve(new LoadConnection(run, socket));
          });
        }),
    ),
  );
}

/**
 * Drives a server with `connections` × `depth` ping requests for `warmupMs + durationMs`, counting and timing
 * only the replies of the last `durationMs`, then lets every request in flight come back and closes cleanly.
 */
export async function runLoad(config: LoadConfig): Promise<LoadResult> {
  const run = new Run(config);
  const connections = await connectAll(config, run);
  for (const connection of connections) connection.start();
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  await sleep(config.warmupMs);
  run.histogram.reset();
  run.counted = 0;
  run.measuring = true;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  await sleep(config.durationMs);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  run.measuring = false;
  run.sending = false;
  const requests = run.counted;

  if (run.inFlight > 0) {
    const drained = new Promise<void>((resolve) => (run.onIdle = resolve));
    const timer = setTimeout(() => run.onIdle?.(), DRAIN_TIMEOUT_MS);
    await drained;
    clearTimeout(timer);
    if (run.inFlight > 0) run.error(`${run.inFlight} requests unanswered ${DRAIN_TIMEOUT_MS} ms after the run`);
  }
  await Promise.all(
    connections.map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.closed) return resolve();
          connection.socket.once("close", () => resolve());
          connection.socket.end();
          setTimeout(() => connection.socket.destroy(), 5_000).unref();
        }),
    ),
  );
  const h = run.histogram;
  return {
    requests,
    seconds,
    totalReplies: run.replies,
    generatorCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    rps: requests / seconds,
    p50Us: h.count > 0 ? h.percentile(50) : 0,
    p99Us: h.count > 0 ? h.percentile(99) : 0,
    meanUs: h.count > 0 ? h.mean : 0,
    maxUs: h.count > 0 ? h.max : 0,
    errors: run.errors,
    errorCount: run.errorCount,
  };
}

/** What the child sends back: a result, or why it has none. */
type ChildReply = { result: LoadResult } | { error: string };

/**
 * The load generator in a child process of its own (this module is its entry point), so that it never shares an
 * event loop or a core's time slice with the benchmark's bookkeeping. One child serves many runs, one at a time,
 * which spares a process start per measurement; a child that dies is replaced at the next run.
 */
export class LoadGenerator {
  #child: ChildProcess | null = null;

  /** Runs one measurement and resolves its result; rejects if the child fails or overruns by a wide margin. */
  run(config: LoadConfig): Promise<LoadResult> {
    const child = this.#spawn();
    return new Promise((resolve, reject) => {
      const limit = config.warmupMs + config.durationMs + DRAIN_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 15_000;
      const timer = setTimeout(() => child.kill("SIGKILL"), limit);
      const onMessage = (message: ChildReply): void => {
        settle();
        if ("result" in message) resolve(message.result);
        else reject(new Error(`load generator: ${message.error}`));
      };
      const onExit = (code: number | null, signal: string | null): void => {
        settle();
        reject(new Error(`the load generator exited (${code ?? signal}) without a result`));
      };
      const settle = (): void => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
      child.send(config);
    });
  }

  /** Ends the child (it exits once its IPC channel closes) and waits for it. */
  async close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.disconnect();
    await exited;
  }

  #spawn(): ChildProcess {
    const current = this.#child;
    if (current !== null && current.exitCode === null && current.signalCode === null && current.connected) return current;
    const child = fork(fileURLToPath(import.meta.url), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.#child = child;
    return child;
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry && process.send !== undefined) {
  process.on("message", (config: LoadConfig) => {
    runLoad(config).then(
      (result) => process.send?.({ result } satisfies ChildReply),
      (err: unknown) => process.send?.({ error: (err as Error).stack ?? String(err) } satisfies ChildReply),
    );
  });
  // The parent closing the channel is the signal to go.
  process.on("disconnect", () => process.exit(0));
}
