/**
 * Raw wire peers for the hostile-input tests (issue 11): frames built by hand and parsed by hand, so that the
 * tests judge the server by the bytes it sends, not through the client library under repair.
 */
import { createSocket } from "node:dgram";
import { connect, type Socket } from "node:net";

/** A received frame. `header` is null when the header was not JSON (the raw text is then in `headerText`). */
export interface RawFrame {
  header: Record<string, any> | null;
  headerText: string;
  headerBytes: number;
  body: Buffer;
}

/** One frame: length prefix (the real one unless `declaredLength` lies), header, body. */
export function frameOf(header: object | string, body: Buffer = Buffer.alloc(0), declaredLength?: number): Buffer {
  const text = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(declaredLength ?? text.length);
  return Buffer.concat([prefix, text, body]);
}

/** Parses whole frames off the front of `buf`; `rest` is what is left of an incomplete one. */
export function parseFrames(buf: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 4) break;
    const n = buf.readUInt32BE(at);
    if (buf.length - at < 4 + n) break;
    const headerText = buf.subarray(at + 4, at + 4 + n).toString("utf8");
    let header: Record<string, any> | null = null;
    try {
      const parsed = JSON.parse(headerText);
      header = typeof parsed === "object" && parsed !== null ? parsed : null;
    } catch {
      header = null;
    }
    const size = header !== null && Number.isSafeInteger(header.size) && header.size >= 0 ? (header.size as number) : 0;
    if (buf.length - at < 4 + n + size) break;
    frames.push({ header, headerText, headerBytes: n, body: Buffer.from(buf.subarray(at + 4 + n, at + 4 + n + size)) });
    at += 4 + n + size;
  }
  return { frames, rest: buf.subarray(at) };
}

/** Parses one datagram as one frame; null when it is not exactly one frame. */
export function parseDatagram(datagram: Buffer): RawFrame | null {
  const { frames, rest } = parseFrames(datagram);
  return frames.length === 1 && rest.length === 0 ? frames[0] : null;
}

/** The `error.code` of a reply header, if any. */
export function codeOf(frame: RawFrame | null | undefined): string | undefined {
  return frame?.header?.error?.code;
}

/** Short text of a frame for failure messages. */
export function describeFrame(frame: RawFrame | null | undefined): string {
  if (frame === null || frame === undefined) return "nothing";
  const text = frame.headerText.length > 300 ? `${frame.headerText.slice(0, 300)}... (${frame.headerBytes} bytes)` : frame.headerText;
  return `${text}${frame.body.length > 0 ? ` + ${frame.body.length} body bytes` : ""}`;
}

/** A raw TCP connection that parses what the server sends. */
export class RawTcp {
  readonly socket: Socket;
  readonly frames: RawFrame[] = [];
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  #taken = 0;
  #wake: (() => void)[] = [];
  #isClosed = false;
  #discarding = false;
  /** Bytes received in total. */
  received = 0;

  private constructor(socket: Socket, collect: boolean) {
    this.socket = socket;
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#isClosed = true;
        this.#notify();
        resolve();
      }),
    );
    if (collect) socket.on("data", (chunk: Buffer) => this.push(chunk));
  }

  /** Connects to 127.0.0.1:`port` (from `localAddress` if given). `collect: false` leaves reading to the caller. */
  static open(port: number, options: { host?: string; localAddress?: string; collect?: boolean; timeoutMs?: number } = {}): Promise<RawTcp> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host ?? "127.0.0.1", port, localAddress: options.localAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`could not connect to port ${port} within ${options.timeoutMs ?? 2_000} ms`));
      }, options.timeoutMs ?? 2_000);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new RawTcp(socket, options.collect ?? true));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Bytes of an incomplete frame received so far. */
  get pendingBytes(): number {
    return this.#buffer.length;
  }

  /** From now on received bytes are counted and dropped, not parsed (for peers that do not care what comes back). */
  discard(): void {
    this.#discarding = true;
    this.#buffer = Buffer.alloc(0);
  }

  /** Feeds received bytes (when reading by hand). */
  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.#discarding) return;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const { frames, rest } = parseFrames(this.#buffer);
    this.#buffer = rest.length === 0 ? Buffer.alloc(0) : Buffer.from(rest);
    if (frames.length > 0) {
      this.frames.push(...frames);
      this.#notify();
    }
  }

  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The next frame not yet taken; rejects with `label` if none arrives within `timeoutMs` or the socket closes. */
  async next(timeoutMs = 2_000, label = "a frame"): Promise<RawFrame> {
    const frame = await this.#waitFor(() => (this.#taken < this.frames.length ? this.frames[this.#taken] : undefined), timeoutMs, label);
    this.#taken += 1;
    return frame;
  }

  /** The first frame whose id is `id` (not consuming others); rejects like next(). */
  reply(id: number | null, timeoutMs = 2_000, label = `the reply to id ${String(id)}`): Promise<RawFrame> {
    return this.#waitFor(() => this.frames.find((frame) => frame.header?.id === id), timeoutMs, label);
  }

  /** Sends a request frame and waits for the reply with its id. */
  async request(header: Record<string, unknown> & { id: number }, body?: Buffer, timeoutMs = 2_000): Promise<RawFrame> {
    const fields = body === undefined ? header : { ...header, size: body.length };
    this.send(frameOf(fields, body));
    return this.reply(header.id, timeoutMs, `the reply to ${String(header.type)} id ${header.id}`);
  }

  /**
   * Sends a request and resolves its final reply, removing it (and any event frames) from `frames`: for long-lived
   * peers that must not accumulate what they received. Do not mix with next().
   */
  async call(header: Record<string, unknown> & { id: number }, body?: Buffer, timeoutMs = 2_000): Promise<RawFrame> {
    const fields = body === undefined ? header : { ...header, size: body.length };
    this.send(frameOf(fields, body));
    const reply = await this.finalReply(header.id, timeoutMs, `the reply to ${String(header.type)} id ${header.id}`);
    const kept = this.frames.filter((frame) => frame !== reply && frame.header?.event === undefined && frame.header?.id !== header.id);
    this.frames.splice(0, this.frames.length, ...kept);
    return reply;
  }

  /** The first frame matching `match`, waiting up to `timeoutMs`; rejects like next(). */
  frame(match: (frame: RawFrame) => boolean, timeoutMs = 2_000, label = "a matching frame"): Promise<RawFrame> {
    return this.#waitFor(() => this.frames.find(match), timeoutMs, label);
  }

  /** The final reply (not an intermediate `more` frame) to request `id`. */
  finalReply(id: number, timeoutMs = 2_000, label = `the final reply to id ${id}`): Promise<RawFrame> {
    return this.frame((f) => f.header?.id === id && f.header.more !== true, timeoutMs, label);
  }

  destroy(): void {
    this.socket.destroy();
  }

  async #waitFor<T>(find: () => T | undefined, timeoutMs: number, label: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (this.#isClosed) throw new Error(`the server closed the connection before ${label} arrived (${this.frames.length} frames received, ${this.#buffer.length} bytes of an incomplete one)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${label} did not arrive within ${timeoutMs} ms (${this.frames.length} frames received)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}

/** Sends one datagram to 127.0.0.1:`port`; resolves every reply datagram that arrives within `timeoutMs`. */
export function udpExchange(port: number, datagram: Buffer, timeoutMs = 1_000, options: { firstOnly?: boolean } = {}): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const replies: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(replies);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("error", finish);
    socket.on("message", (msg) => {
      replies.push(msg);
      if (options.firstOnly !== false) finish();
    });
    socket.send(datagram, port, "127.0.0.1", (err) => {
      if (err) finish();
    });
  });
}

/** Sends datagrams without waiting for replies (hostile traffic). */
export async function udpFire(port: number, datagrams: Buffer[]): Promise<void> {
  const socket = createSocket("udp4");
  socket.on("error", () => {});
  // Replies are read (and dropped) so the kernel's buffer of this socket never matters.
  socket.on("message", () => {});
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  for (const datagram of datagrams) {
    await new Promise<void>((resolve) => socket.send(datagram, port, "127.0.0.1", () => resolve()));
  }
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

let pingId = 1_000_000;

/** A ping on a fresh TCP connection; resolves its round trip in ms, rejects if not answered within `timeoutMs`. */
export async function tcpPing(port: number, timeoutMs = 1_000): Promise<number> {
  const started = performance.now();
  const peer = await RawTcp.open(port, { timeoutMs });
  try {
    const id = pingId++;
    const body = Buffer.from(`ping-${id}`);
    const reply = await peer.request({ type: "ping", id }, body, Math.max(1, timeoutMs - (performance.now() - started)));
    if (reply.header?.ok !== true || !reply.body.equals(body)) throw new Error(`a fresh TCP ping got ${describeFrame(reply)}`);
    return performance.now() - started;
  } finally {
    peer.destroy();
  }
}

/** A ping datagram; resolves its round trip in ms, rejects if not answered within `timeoutMs`. */
export async function udpPing(port: number, timeoutMs = 1_000): Promise<number> {
  const started = performance.now();
  const id = pingId++;
  const body = Buffer.from(`udp-${id}`);
  const [reply] = await udpExchange(port, frameOf({ type: "ping", id, size: body.length }, body), timeoutMs);
  if (reply === undefined) throw new Error(`a UDP ping was not answered within ${timeoutMs} ms`);
  const frame = parseDatagram(reply);
  if (frame?.header?.id !== id || frame.header.ok !== true || !frame.body.equals(body)) throw new Error(`a UDP ping got ${describeFrame(frame)}`);
  return performance.now() - started;
}

/** Logs in on a raw connection; rejects with the reply when it fails. */
export async function rawLogin(peer: RawTcp, id: number, user: string, password: string, timeoutMs = 5_000): Promise<void> {
  const reply = await peer.request({ type: "auth", id, user, password }, undefined, timeoutMs);
  if (reply.header?.ok !== true) throw new Error(`login as ${user} failed: ${describeFrame(reply)}`);
}
