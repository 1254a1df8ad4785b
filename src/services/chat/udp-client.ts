import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { ErrorCode, ProtocolError, WharfError, decodeDatagram, encodeDatagram, parseEndpoint } from "../../wire/index.js";
import { parseHistory, toReceived, type HistoryMessage, type ReceivedMessage } from "./client.js";

/** Options of {@link UdpChatClient.open}. */
export interface UdpChatOptions {
  /** Milliseconds to wait for each attempt of a request. Default 1,000. */
  timeout?: number;
  /** Attempts after the first (same id, same seq: the server answers a repeat without delivering twice). Default 4. */
  retries?: number;
  /** Milliseconds between keepalives; the server forgets a silent member after a minute. Default 20,000. */
  keepalive?: number;
  /** Fetch messages lost in a gap from the room's history. Default true. */
  recover?: boolean;
}

/** Messages a receiver did not get: msgIds first..last of a room (or of your direct messages, room undefined). */
export interface GapEvent {
  room?: string;
  first: number;
  last: number;
}

interface Pending {
  resolve(header: Record<string, unknown>, body: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface Track {
  next: number;
  missing: Set<number>;
}

/**
 * A chat client over UDP, as a guest with a nickname (shown as `~nick`). One socket for its whole life: the server
 * knows a datagram member by its address and port. Requests are retried with the same id; sends carry a
 * sequence number, so a retried send is not delivered twice. Emits `"message"` (ReceivedMessage, with `late` or
 * `recovered` when it came after a gap), `"gap"` (GapEvent) when msgIds are skipped, `"presence"`, and `"error"`.
 *
 * @example
 * ```ts
 * const chat = await UdpChatClient.open("udp://127.0.0.1:9000", "bob");
 * chat.on("message", (m) => console.log(`${m.from}: ${m.text}`));
 * chat.on("gap", (g) => console.log(`lost ${g.first}..${g.last}`));
 * await chat.join("lobby");
 * await chat.send("lobby", "hi from udp");
 * await chat.close();
 * ```
 */
export class UdpChatClient extends EventEmitter {
  readonly nick: string;
  /** The name others see: `~nick`. */
  readonly name: string;
  #socket: Socket;
  #host: string;
  #port: number;
  #timeout: number;
  #retries: number;
  #recover: boolean;
  #nextId = 1;
  #seq = 0;
  #cookie: string | undefined;
  #pending = new Map<number, Pending>();
  #tracks = new Map<string, Track>();
  #rooms = new Set<string>();
  #keepalive: NodeJS.Timeout;
  #closed = false;

  private constructor(socket: Socket, host: string, port: number, nick: string, options: UdpChatOptions) {
    super();
    this.#socket = socket;
    this.#host = host;
    this.#port = port;
    this.nick = nick;
    this.name = `~${nick}`;
    this.#timeout = options.timeout ?? 1_000;
    this.#retries = options.retries ?? 4;
    this.#recover = options.recover ?? true;
    socket.on("message", (msg) => this.#onDatagram(msg));
    socket.on("error", (err) => this.emit("error", err));
    this.#keepalive = setInterval(() => void this.#keepAlive(), options.keepalive ?? 20_000);
    this.#keepalive.unref();
  }

  /** Opens a socket towards a `udp://` server. */
  static async open(url: string, nick: string, options: UdpChatOptions = {}): Promise<UdpChatClient> {
    const endpoint = parseEndpoint(url);
    if (endpoint.transport !== "udp") throw new TypeError(`UdpChatClient takes a udp:// URL, got ${url}`);
    const socket = createSocket(endpoint.host.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve) => socket.bind(0, resolve));
    return new UdpChatClient(socket, endpoint.host, endpoint.port, nick, options);
  }

  /** The local port (the server knows this client by it). */
  get port(): number {
    return this.#socket.address().port;
  }

  /** Joins a room (first proving, with the server's cookie, that this address receives). */
  async join(room: string): Promise<{ lastMsgId: number; memberCount: number }> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const fields: Record<string, unknown> = { room, user: this.nick };
      if (this.#cookie !== undefined) fields.cookie = this.#cookie;
      const { header } = await this.request("chat.udp.join", fields);
      if (header.joined === true) {
        this.#rooms.add(room);
        const track = this.#tracks.get(room);
        const lastMsgId = Number(header.lastMsgId);
        if (track === undefined || track.next <= lastMsgId) this.#tracks.set(room, { next: lastMsgId + 1, missing: new Set() });
        return { lastMsgId, memberCount: Number(header.memberCount) };
      }
      this.#cookie = String(header.cookie);
    }
    throw new WharfError(ErrorCode.PROTOCOL, "the server did not accept the join cookie");
  }

  async leave(room: string): Promise<boolean> {
    const { header } = await this.request("chat.leave", { room });
    this.#rooms.delete(room);
    this.#tracks.delete(room);
    return header.left === true;
  }

  /** Sends to a room; resolves with the room's msgId for it. */
  async send(room: string, text: string): Promise<{ msgId: number; seq: number; duplicate: boolean }> {
    return this.#send({ room }, text);
  }

  /** Sends to one user (`alice`, or `~nick` for a guest). */
  async sendTo(user: string, text: string): Promise<{ msgId: number; seq: number; duplicate: boolean }> {
    return this.#send({ to: user }, text);
  }

  async who(room: string): Promise<string[]> {
    const { body } = await this.request("chat.who", { room });
    return JSON.parse(body.toString("utf8")) as string[];
  }

  async rooms(): Promise<{ room: string; members: number }[]> {
    const { body } = await this.request("chat.rooms", {});
    return JSON.parse(body.toString("utf8")) as never;
  }

  async history(room: string, options: { since?: number; before?: number; limit?: number } = {}): Promise<{ messages: HistoryMessage[]; more: boolean }> {
    const { header, body } = await this.request("chat.history", { room, ...options });
    return { messages: parseHistory(body), more: Number(header.remaining) > 0 };
  }

  /** One request, retried with the same id until answered; rejects with the server's error code. */
  request(type: string, fields: Record<string, unknown>, body?: Uint8Array): Promise<{ header: Record<string, unknown>; body: Buffer }> {
    if (this.#closed) return Promise.reject(new WharfError(ErrorCode.CONNECTION_CLOSED, "the chat client is closed"));
    const id = this.#nextId++;
    const datagram = encodeDatagram({ ...fields, type, id }, body);
    return new Promise((resolve, reject) => {
      let attempts = 0;
      const attempt = (): void => {
        if (attempts > this.#retries) {
          this.#pending.delete(id);
          reject(new WharfError(ErrorCode.TIMEOUT, `no reply to ${type} after ${attempts} attempts of ${this.#timeout} ms`));
          return;
        }
        attempts += 1;
        this.#socket.send(datagram, this.#port, this.#host);
        pending.timer = setTimeout(attempt, this.#timeout);
      };
      const pending: Pending = {
        resolve: (header, replyBody) => resolve({ header, body: replyBody }),
        reject,
        timer: undefined,
      };
      this.#pending.set(id, pending);
      attempt();
    });
  }

  /** Leaves nothing behind: pending requests fail, the socket closes. The server forgets this member after its timeout. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepalive);
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new WharfError(ErrorCode.CONNECTION_CLOSED, "the chat client closed"));
      this.#pending.delete(id);
    }
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  async #send(target: Record<string, unknown>, text: string): Promise<{ msgId: number; seq: number; duplicate: boolean }> {
    const seq = ++this.#seq;
    const { header } = await this.request("chat.send", { ...target, seq }, Buffer.from(text, "utf8"));
    return { msgId: Number(header.msgId), seq, duplicate: header.duplicate === true };
  }

  async #keepAlive(): Promise<void> {
    if (this.#rooms.size === 0) return;
    try {
      const { header } = await this.request("chat.udp.keepalive", {});
      const known = new Set(header.rooms as string[]);
      for (const room of this.#rooms) if (!known.has(room)) await this.join(room);
    } catch (err) {
      // The server forgot this address (a restart, a long silence): join again.
      if (err instanceof WharfError && err.code === "E_AUTH") for (const room of this.#rooms) await this.join(room).catch(() => {});
    }
  }

  #onDatagram(msg: Buffer): void {
    let frame;
    try {
      frame = decodeDatagram(msg);
    } catch (err) {
      if (err instanceof ProtocolError) return;
      throw err;
    }
    const { header, body } = frame;
    if (typeof header.id === "number") {
      const pending = this.#pending.get(header.id);
      if (pending === undefined) return; // a repeat of a reply already taken
      this.#pending.delete(header.id);
      clearTimeout(pending.timer);
      if (header.ok === true) pending.resolve(header, body);
      else {
        const error = header.error as { code?: string; message?: string; data?: unknown } | undefined;
        pending.reject(new WharfError(error?.code ?? ErrorCode.PROTOCOL, error?.message ?? "the request failed", { data: error?.data }));
      }
      return;
    }
    if (header.event === "chat.presence") {
      this.emit("presence", { room: header.room, user: header.user, action: header.action });
      return;
    }
    const message = toReceived(header, body);
    if (message !== null) this.#onMessage(message);
  }

  /** Orders what arrives by msgId: drops repeats, reports gaps, marks late arrivals, recovers from history. */
  #onMessage(message: ReceivedMessage): void {
    // Direct messages to me are numbered per recipient; my own sends to others come back unnumbered for me.
    const key = message.room ?? (message.to === this.name ? "@" : null);
    if (key === null) {
      this.emit("message", message);
      return;
    }
    let track = this.#tracks.get(key);
    if (track === undefined) {
      track = { next: message.msgId, missing: new Set() };
      this.#tracks.set(key, track);
    }
    if (message.msgId < track.next) {
      if (!track.missing.delete(message.msgId)) return; // a duplicate datagram
      this.emit("message", { ...message, late: true });
      return;
    }
    if (message.msgId > track.next) {
      const gap: GapEvent = { room: message.room, first: track.next, last: message.msgId - 1 };
      for (let id = gap.first; id <= gap.last && track.missing.size < 10_000; id += 1) track.missing.add(id);
      this.emit("gap", gap);
      if (this.#recover && message.room !== undefined) void this.#recoverGap(message.room, gap, track);
    }
    track.next = message.msgId + 1;
    this.emit("message", message);
  }

  async #recoverGap(room: string, gap: GapEvent, track: Track): Promise<void> {
    try {
      const { messages } = await this.history(room, { since: gap.first - 1, before: gap.last + 1 });
      for (const m of messages) {
        if (track.missing.delete(m.msgId)) this.emit("message", { room, from: m.from, msgId: m.msgId, ts: m.ts, text: m.text, recovered: true });
      }
    } catch {
      // the gap stays reported; a later message or the user's /history may fill it
    }
  }
}
