/**
 * The load of issue 7's chat benchmark, the same for both servers: 100 member connections and 1 sender, all
 * logged in (`auth`) and in one room (the sender too: its own copies are not counted). The sender keeps `window` messages in flight, where a message is in flight
 * until every member has it, so neither server is ever asked to buffer without bound. Each body carries its
 * sequence number and send time; a member's receipt gives one end-to-end latency sample.
 *
 * Members parse frames minimally (length, the header's "size", the body) so that the load generator, which shares
 * the machine's two cores with the server, stays light.
 */
import { connect, type Socket } from "node:net";

export interface ChatLoadOptions {
  host: string;
  port: number;
  members: number;
  /** Messages sent before measuring. */
  warmup: number;
  /** Messages measured. */
  messages: number;
  window: number;
  bodySize: number;
  /** Called when the measured part begins and ends (e.g. to read the server's CPU time). */
  onMeasure?: (phase: "start" | "end") => void;
}

export interface ChatLoadResult {
  /** Messages per second delivered to every member. */
  messagesPerSecond: number;
  /** Deliveries per second (messages x members). */
  deliveriesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Member connections closed by the server during the run (a slow-consumer cut would show here). */
  dropped: number;
  /** CPU time of this (load) process per measured message, µs. */
  loadCpuUsPerMessage: number;
}

function frame(header: Record<string, unknown>, body?: Buffer): Buffer {
  const json = JSON.stringify(body === undefined ? header : { ...header, size: body.length });
  const out = Buffer.allocUnsafe(4 + Buffer.byteLength(json) + (body?.length ?? 0));
  const n = out.write(json, 4, "utf8");
  out.writeUInt32BE(n, 0);
  body?.copy(out, 4 + n);
  return out;
}

const SIZE = Buffer.from('"size":');

/** Calls `onFrame(header bytes, body)` for each frame of a stream; JSON is not parsed. */
function frames(socket: Socket, onFrame: (header: Buffer, body: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    for (;;) {
      if (buffered.length - offset < 4) break;
      const headerEnd = offset + 4 + buffered.readUInt32BE(offset);
      if (headerEnd > buffered.length) break;
      const header = buffered.subarray(offset + 4, headerEnd);
      let size = 0;
      const at = header.indexOf(SIZE);
      if (at >= 0) for (let i = at + SIZE.length; header[i] >= 48 && header[i] <= 57; i += 1) size = size * 10 + header[i] - 48;
      if (headerEnd + size > buffered.length) break;
      onFrame(header, buffered.subarray(headerEnd, headerEnd + size));
      offset = headerEnd + size;
    }
    buffered = offset === buffered.length ? Buffer.alloc(0) : buffered.subarray(offset);
  });
}

async function open(host: string, port: number): Promise<Socket> {
  const socket = connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}

/** Sends requests one after another on a fresh socket and waits for each reply: auth, then join. */
async function enter(socket: Socket, room: string, onEvent: (header: Buffer, body: Buffer) => void, join: boolean): Promise<void> {
  let waiting: { resolve(): void; reject(err: Error): void } | null = null;
  frames(socket, (header, body) => {
    if (header.includes('"event"')) {
      onEvent(header, body);
      return;
    }
    const waiter = waiting;
    waiting = null;
    if (header.includes('"ok":false')) {
      const err = new Error(`request failed: ${header.toString()}`);
      if (waiter !== null) waiter.reject(err);
      else socket.destroy(err);
    } else waiter?.resolve();
  });
  const ask = (request: Record<string, unknown>): Promise<void> => new Promise((resolve, reject) => {
    waiting = { resolve, reject };
    socket.write(frame(request));
  });
  await ask({ type: "auth", id: 1, user: "bench", password: "pw" });
  if (join) await ask({ type: "chat.join", id: 2, room });
}

/** Runs one measurement against a server; every connection is closed afterwards. */
export async function runChatLoad(options: ChatLoadOptions): Promise<ChatLoadResult> {
  const { host, port, members, warmup, messages, window, bodySize } = options;
  const room = `bench${Date.now() % 1_000_000}`;
  const total = warmup + messages;
  const sentAt = new Float64Array(total);
  const received = new Uint16Array(total);
  const latencies = new Float64Array(messages * members);
  let samples = 0;
  let complete = 0;
  let dropped = 0;
  let onComplete: (() => void) | null = null;
  let measureStart = 0;
  let cpuAtStart = process.cpuUsage();

  const onEvent = (_header: Buffer, body: Buffer): void => {
    const now = performance.now();
    const seq = Number(body.toString("latin1", 0, body.indexOf(32)));
    if (seq >= warmup) latencies[samples++] = now - sentAt[seq];
    received[seq] += 1;
    if (received[seq] === members) {
      complete += 1;
      if ((seq === warmup - 1 || warmup === 0) && measureStart === 0) {
        measureStart = now;
        cpuAtStart = process.cpuUsage();
        options.onMeasure?.("start");
      }
      onComplete?.();
    }
  };
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < members; i += 1) {
      const socket = await open(host, port);
      sockets.push(socket);
      socket.on("close", () => (dropped += 1));
      await enter(socket, room, onEvent, true);
    }
    const sender = await open(host, port);
    sockets.push(sender);
    // Both servers deliver to every member of the room, the sender included (wharf only lets members send);
    // the sender's own copies are not counted.
    await enter(sender, room, () => {}, true);
    const padding = "x".repeat(bodySize);
    let next = 0;
    const sendOne = (): void => {
      const seq = next++;
      const body = Buffer.from(`${seq} ${padding}`.slice(0, Math.max(bodySize, String(seq).length + 1)));
      sentAt[seq] = performance.now();
      sender.write(frame({ type: "chat.send", id: seq + 10, room, clientId: `c${seq}` }, body));
    };
    const started = performance.now();
    await new Promise<void>((resolve) => {
      onComplete = () => {
        if (complete === total) {
          resolve();
          return;
        }
        while (next < total && next - complete < window) sendOne();
      };
      while (next < Math.min(window, total)) sendOne();
    });
    const seconds = (performance.now() - (measureStart || started)) / 1000;
    options.onMeasure?.("end");
    const cpu = process.cpuUsage(cpuAtStart);
    const sorted = latencies.subarray(0, samples).sort();
    return {
      messagesPerSecond: messages / seconds,
      deliveriesPerSecond: (messages * members) / seconds,
      p50Ms: sorted[Math.floor(samples * 0.5)],
      p99Ms: sorted[Math.min(samples - 1, Math.floor(samples * 0.99))],
      dropped,
      loadCpuUsPerMessage: (cpu.user + cpu.system) / messages,
    };
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}
