import { EventEmitter } from "node:events";
import { DatagramClient, MAX_USEFUL_PADDING } from "../../client/index.js";
import { ErrorCode, WharfError, parseEndpoint, type FrameHeader } from "../../wire/index.js";
import { parseHistory, toReceived, type HistoryMessage, type ReceivedMessage } from "./client.js";

/**
 * The least size of every chat request datagram. A server answers at most 3x the request over UDP
 * (docs/protocol.md §5); the replies of join, leave and send measure 50 to 190 bytes (test/client/padding.test.ts),
 * so 256 bytes keeps each of them, and error replies with a longer message, within the rule.
 */
export const CHAT_REQUEST_SIZE = 256;

/**
 * The request size for a reply of a given type. `who`, `rooms` and `history` answer as much as fits in one
 * datagram, so they are padded for any reply; a keepalive names every room of the member, so it grows with them.
 * Anything larger than foreseen is asked again padded when the server answers `E_USE_STREAM`.
 */
function requestSize(type: string, rooms: Iterable<string>): number {
  switch (type) {
    case "chat.who":
    case "chat.rooms":
    case "chat.history":
      return MAX_USEFUL_PADDING;
    case "chat.udp.keepalive":
      // {"user":"~nick","rooms":[...],"id":N,"ok":true}: the list plus at most ~90 bytes; padded for twice that,
      // so that the server's list may hold a room or two more than this client's.
      return Math.max(CHAT_REQUEST_SIZE, Math.ceil((Buffer.byteLength(JSON.stringify([...rooms])) + 128) / 2));
    default:
      return CHAT_REQUEST_SIZE;
  }
}

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

interface Track {
  next: number;
  missing: Set<number>;
}

/**
 * A chat client over UDP, as a guest with a nickname (shown as `~nick`). One socket for its whole life: the server
 * knows a datagram member by its address and port. Requests are retried with the same id; sends carry a
 * sequence number, so a retried send is not delivered twice. Emits `"message"` (ReceivedMessage, with `late` or
 * `recovered` when it came after a gap), `"gap"` (GapEvent) when msgIds are skipped, `"presence"`, and `"error"`
 * (socket errors, when listened to; the requests in flight fail with `E_CONNECT` anyway). Requests are padded so
 * that their replies pass a server's anti-amplification rule (see {@link CHAT_REQUEST_SIZE}).
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
  #client: DatagramClient;
  #recover: boolean;
  #seq = 0;
  #cookie: string | undefined;
  #tracks = new Map<string, Track>();
  #rooms = new Set<string>();
  #keepalive: NodeJS.Timeout;
  #closed = false;

  private constructor(client: DatagramClient, nick: string, options: UdpChatOptions) {
    super();
    this.#client = client;
    this.nick = nick;
    this.name = `~${nick}`;
    this.#recover = options.recover ?? true;
    client.on("event", (header: FrameHeader, body: Buffer) => this.#onEvent(header, body));
    client.on("error", (err: Error) => {
      if (this.listenerCount("error") > 0) this.emit("error", err);
    });
    this.#keepalive = setInterval(() => void this.#keepAlive(), options.keepalive ?? 20_000);
    this.#keepalive.unref();
  }

  /** Opens a socket towards a `udp://` server. */
  static async open(url: string, nick: string, options: UdpChatOptions = {}): Promise<UdpChatClient> {
    if (parseEndpoint(url).transport !== "udp") throw new TypeError(`UdpChatClient takes a udp:// URL, got ${url}`);
    const client = await DatagramClient.open(url, { timeout: options.timeout ?? 1_000, retries: options.retries ?? 4 });
    return new UdpChatClient(client, nick, options);
  }

  /** The local port (the server knows this client by it). */
  get port(): number {
    return this.#client.port;
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

  /**
   * One request, retried with the same id until answered, padded for its reply; rejects with the server's error
   * code.
   */
  async request(type: string, fields: Record<string, unknown>, body?: Uint8Array): Promise<{ header: Record<string, unknown>; body: Buffer }> {
    if (this.#closed) throw new WharfError(ErrorCode.CONNECTION_CLOSED, "the chat client is closed");
    const reply = await this.#client.request(type, fields, body, { minRequestSize: requestSize(type, this.#rooms) });
    return { header: reply.header as Record<string, unknown>, body: reply.body };
  }

  /** Leaves nothing behind: pending requests fail, the socket closes. The server forgets this member after its timeout. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepalive);
    await this.#client.close();
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

  #onEvent(header: FrameHeader, body: Buffer): void {
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
