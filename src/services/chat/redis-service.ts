import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { WharfError } from "../../wire/index.js";
import { ChatErrorCode } from "./errors.js";
import { OutgoingEvent, type Member } from "./member.js";
import type { ChatMessage } from "./messages.js";
import type { ChatDeps, ChatOptions } from "./options.js";
import { guard, storeDown, type ChatRedisLink } from "./redis-link.js";
import { SharedRoom, eventOf, type SharedMessage } from "./redis-room.js";
import { chatScripts, type ChatScripts } from "./redis-scripts.js";
import type { Room } from "./room.js";
import { ChatService, type RoomHistory, type SendIds, type SendResult } from "./service.js";

/** Options of shared chat, besides {@link ChatOptions}. */
export interface SharedChatOptions {
  /** How long a node's presence in a room lasts without a refresh, ms (refreshed every third of it). Default 30,000. */
  presenceTtl?: number;
  /** How often each room is checked against Redis for messages pub/sub did not bring, ms. Default 2,000. */
  auditInterval?: number;
  /** Retry ids remembered per room (for a retried send on any node). Default 10,000. */
  dedupPerRoom?: number;
  /** Prefix of every key and channel. Default "wharf:chat:". */
  prefix?: string;
}

/**
 * Chat shared by every node through Redis (`wharf serve --redis`): each room has one sequence (INCR), its history
 * in a Redis Stream of bounded length (XADD MAXLEN ~), its fan-out over pub/sub to the nodes with members in it,
 * its presence in a sorted set with expiry, and its retry memory (clientId) in Redis, so a retry on another node
 * is recognised. A join with `since` replays from the stream: a member that reconnects to another node misses
 * nothing acknowledged. While Redis is unreachable, requests that need it fail at once with `E_UNAVAILABLE`;
 * when it returns, each room catches up from its stream by itself. Members, slow-consumer cuts, rate limits and
 * UDP guests stay per node.
 *
 * @example
 * ```ts
 * const redis = openRedis("redis://127.0.0.1:6379", logger);
 * const chat = registerSharedChat(server, { dataDir }, redis);
 * ```
 */
export class SharedChatService extends ChatService {
  readonly node = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  readonly redis: ChatRedisLink;
  #scripts: ChatScripts;
  #sub: Redis;
  #prefix: string;
  #presenceTtl: number;
  #dedupPerRoom: number;
  #shared = new Map<string, { room: SharedRoom; ready: Promise<SharedRoom> }>();
  #byChannel = new Map<string, SharedRoom>();
  #timers: NodeJS.Timeout[] = [];
  #closed = false;

  constructor(deps: ChatDeps, options: ChatOptions, redis: ChatRedisLink, shared: SharedChatOptions = {}) {
    super(deps, options);
    this.redis = redis;
    this.#prefix = shared.prefix ?? "wharf:chat:";
    this.#presenceTtl = shared.presenceTtl ?? 30_000;
    this.#dedupPerRoom = shared.dedupPerRoom ?? 10_000;
    this.#scripts = chatScripts(redis.client);
    this.#sub = redis.subscriber();
    this.#sub.on("message", (channel: string, payload: string) => this.#onPublished(channel, payload));
    // After a reconnection the subscriptions are made again; what was published meanwhile is in the streams.
    this.#sub.on("ready", () => {
      for (const { room } of this.#shared.values()) void room.catchUp();
    });
    void this.#sub.subscribe(this.#directChannel()).catch(() => {});
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(Math.max(100, Math.floor(this.#presenceTtl / 3)), () => void this.#refreshPresence());
    every(shared.auditInterval ?? 2_000, () => void this.#audit());
  }

  override async joinRoom(member: Member, name: string, since: number | undefined, rateKey: string): Promise<Record<string, unknown>> {
    let room = await this.#open(name);
    while (this.#shared.get(name)?.room !== room) room = await this.#open(name); // emptied and closed meanwhile
    const already = room.members.has(member);
    if (!already) {
      if (member.rooms.size >= this.maxRoomsPerMember) {
        throw new WharfError(ChatErrorCode.ROOM_LIMIT, `a client may be in at most ${this.maxRoomsPerMember} rooms`, { data: { maxRooms: this.maxRoomsPerMember } });
      }
      this.limit(rateKey);
      room.members.add(member);
      member.rooms.add(room);
    }
    room.hold(member);
    let floor = Number.MAX_SAFE_INTEGER;
    try {
      const [lastMsgId, users] = await guard(this.#scripts.join([this.#key(name, "who"), this.#key(name, "seq")], [this.node, member.name, this.#presenceTtl, this.#key(name, "ev")]));
      void this.redis.client.sadd(`${this.#prefix}rooms`, name).catch(() => {});
      const reply: Record<string, unknown> = { room: name, lastMsgId };
      floor = lastMsgId;
      if (since !== undefined && since < lastMsgId) {
        let missed = await this.#range(name, since, lastMsgId + 1);
        let bytes = 0;
        let first = missed.length;
        while (first > 0 && bytes + Buffer.byteLength(missed[first - 1].text) + 128 <= this.replayBytes) bytes += Buffer.byteLength(missed[--first].text) + 128;
        if (first > 0) {
          reply.truncated = true;
          missed = missed.slice(first);
        }
        for (const message of missed) member.deliver(eventOf(name, { ...message, extra: { ...message.extra, replay: true } }));
        reply.replayed = missed.length;
        if (missed.length > 0) reply.firstReplayed = missed[0].msgId;
      } else if (since !== undefined) {
        reply.replayed = 0;
      }
      reply.memberCount = users;
      return reply;
    } catch (err) {
      if (!already) {
        room.members.delete(member);
        member.rooms.delete(room);
        room.forget(member);
      }
      throw err;
    } finally {
      room.release(member, floor);
    }
  }

  override whoIn(name: string): Promise<string[]> {
    return guard(
      this.redis.client.zrangebyscore(this.#key(name, "who"), Date.now(), "+inf").then((entries) => [...new Set(entries.map((e) => e.slice(e.indexOf("\n") + 1)))].sort()),
    );
  }

  override async historyOf(name: string, since: number, before?: number): Promise<RoomHistory> {
    const [messages, seq, first] = await Promise.all([
      this.#range(name, since, before),
      guard(this.redis.client.get(this.#key(name, "seq"))),
      guard(this.redis.client.xrange(this.#key(name, "log"), "-", "+", "COUNT", 1)),
    ]);
    const kept = messages.map((m): ChatMessage => ({ msgId: m.msgId, ts: m.ts, from: m.from, text: m.text, room: name, body: Buffer.alloc(0) }));
    return { messages: kept, lastMsgId: Number(seq ?? 0), firstKept: first.length === 0 ? null : Number.parseInt(first[0][0], 10) };
  }

  override async rooms(): Promise<{ room: string; members: number; lastMsgId?: number }[]> {
    const names = (await guard(this.redis.client.smembers(`${this.#prefix}rooms`))).sort();
    return Promise.all(
      names.map(async (name) => {
        const [users, seq] = await Promise.all([this.whoIn(name), guard(this.redis.client.get(this.#key(name, "seq")))]);
        return { room: name, members: users.length, lastMsgId: Number(seq ?? 0) };
      }),
    );
  }

  override send(
    member: Member,
    target: { room?: string; to?: string },
    text: string,
    body: Buffer,
    ids: SendIds,
    extra?: Record<string, unknown>,
  ): Promise<SendResult> {
    if (target.to !== undefined) return this.#direct(member, target.to, text, ids.rateKey, extra);
    return this.sendToRoom(member, target.room as string, text, body, ids, extra);
  }

  protected override async sendToRoom(
    member: Member,
    name: string,
    text: string,
    _body: Buffer,
    ids: { dedupKey: string; retryId: string; rateKey: string },
    extra?: Record<string, unknown>,
  ): Promise<SendResult> {
    const room = this.#shared.get(name)?.room;
    if (room === undefined || !room.members.has(member)) throw new WharfError(ChatErrorCode.NOT_IN_ROOM, `join ${name} before sending to it`);
    this.limit(ids.rateKey);
    await this.#whenReady();
    const keys = ["seq", "log", "cids", "cidq"].map((part) => this.#key(name, part));
    const args = [member.name, ids.dedupKey, ids.retryId, text, Math.max(1, this.history), this.#key(name, "ev"), extra === undefined ? "" : JSON.stringify(extra), this.#dedupPerRoom];
    const [fresh, msgId, ts] = await guard(this.#scripts.send(keys, args));
    return { msgId: Number(msgId), ts: Number(ts), duplicate: Number(fresh) === 0 };
  }

  protected override announce(room: Room, member: Member, action: "join" | "leave"): void {
    // Joins are announced by the join script (only when no node had the user in the room).
    if (action === "join" || !(room instanceof SharedRoom)) return;
    room.forget(member);
    void this.#scripts.leave([this.#key(room.name, "who")], [this.node, member.name, this.#key(room.name, "ev")]).catch(() => {});
    if (room.members.size === 0) this.#closeRoom(room);
  }

  protected override userPresence(name: string, online: boolean): void {
    const key = `${this.#prefix}online:{${name}}`;
    const done = online ? this.redis.client.zadd(key, Date.now() + this.#presenceTtl, this.node) : this.redis.client.zrem(key, this.node);
    void done.catch(() => {});
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await Promise.allSettled(this.localUsers().map((user) => this.redis.client.zrem(`${this.#prefix}online:{${user}}`, this.node)));
    this.#sub.disconnect();
    await super.close();
  }

  /** The shared room, subscribed and started (its last msgId read after the subscription). */
  #open(name: string): Promise<SharedRoom> {
    const existing = this.#shared.get(name);
    if (existing !== undefined) return existing.ready;
    const room = new SharedRoom(name, (after) => this.#range(name, after), (err) => this.logger.debug({ err, room: name }, "chat catch-up failed; retried"));
    const channel = this.#key(name, "ev");
    const ready = (async () => {
      await this.#whenReady();
      this.#byChannel.set(channel, room);
      await withTimeout(this.#sub.subscribe(channel), 2_000);
      const seq = await guard(this.redis.client.get(this.#key(name, "seq")));
      room.start(Number(seq ?? 0));
      return room;
    })();
    this.#shared.set(name, { room, ready });
    ready.catch(() => {
      if (this.#shared.get(name)?.room === room) this.#closeRoom(room);
    });
    return ready.catch((err: unknown) => {
      throw storeDown(err);
    });
  }

  #closeRoom(room: SharedRoom): void {
    const channel = this.#key(room.name, "ev");
    if (this.#shared.get(room.name)?.room === room) this.#shared.delete(room.name);
    if (this.#byChannel.get(channel) === room) {
      this.#byChannel.delete(channel);
      void this.#sub.unsubscribe(channel).catch(() => {});
    }
  }

  /** Kept messages of a room with after < msgId < before, from its stream. */
  async #range(name: string, after: number, before?: number): Promise<SharedMessage[]> {
    const end = before === undefined ? "+" : `${before - 1}-9`;
    if (before !== undefined && before - 1 <= after) return [];
    const entries = await guard(this.redis.client.xrange(this.#key(name, "log"), `${after + 1}-0`, end));
    return entries.map(([id, fields]) => {
      const get = (field: string): string => fields[fields.indexOf(field) + 1] ?? "";
      const extra = get("x");
      return { msgId: Number.parseInt(id, 10), ts: Number(get("ts")), from: get("f"), text: get("t"), extra: extra === "" ? undefined : (JSON.parse(extra) as Record<string, unknown>) };
    });
  }

  #onPublished(channel: string, payload: string): void {
    let message: { k: string; id?: number; ts?: number; f?: string; t?: string; x?: string; u?: string; a?: string; to?: string };
    try {
      message = JSON.parse(payload) as typeof message;
    } catch {
      return;
    }
    if (channel === this.#directChannel()) {
      if (message.k === "d") this.#deliverDirect(message);
      return;
    }
    const room = this.#byChannel.get(channel);
    if (room === undefined) return;
    if (message.k === "m") {
      const extra = message.x === undefined || message.x === "" ? undefined : (JSON.parse(message.x) as Record<string, unknown>);
      room.onLive({ msgId: Number(message.id), ts: Number(message.ts), from: String(message.f), text: String(message.t), extra });
    } else if (message.k === "p") {
      const event = new OutgoingEvent("chat.presence", { room: room.name, user: message.u, action: message.a });
      for (const member of room.members) if (member.name !== message.u) member.deliver(event);
    }
  }

  async #direct(member: Member, to: string, text: string, rateKey: string, extra?: Record<string, unknown>): Promise<SendResult> {
    this.limit(rateKey);
    await this.#whenReady();
    const keys = [`${this.#prefix}online:{${to}}`, `${this.#prefix}inbox:{${to}}`];
    const [ok, msgId, ts] = await guard(this.#scripts.direct(keys, [to, member.name, text, extra === undefined ? "" : JSON.stringify(extra), this.#directChannel()]));
    if (Number(ok) === 0) throw new WharfError(ChatErrorCode.USER_OFFLINE, `${to} has no chat client connected`);
    return { msgId: Number(msgId), ts: Number(ts), duplicate: false };
  }

  #deliverDirect(message: { id?: number; ts?: number; f?: string; t?: string; x?: string; to?: string }): void {
    const to = String(message.to);
    const from = String(message.f);
    const extra = message.x === undefined || message.x === "" ? {} : (JSON.parse(message.x) as Record<string, unknown>);
    const event = new OutgoingEvent("chat.message", { to, from, msgId: Number(message.id), ts: Number(message.ts), ...extra }, Buffer.from(String(message.t), "utf8"));
    for (const member of new Set([...this.clientsOf(to), ...this.clientsOf(from)])) member.deliver(event);
  }

  /** Renews this node's presence in each room with local members, and its users' online marks. */
  async #refreshPresence(): Promise<void> {
    if (!this.redis.ready) return;
    const expiry = Date.now() + this.#presenceTtl;
    const pipeline = this.redis.client.pipeline();
    for (const { room } of this.#shared.values()) {
      for (const user of new Set([...room.members].map((m) => m.name))) pipeline.zadd(this.#key(room.name, "who"), expiry, `${this.node}\n${user}`);
    }
    for (const user of this.localUsers()) pipeline.zadd(`${this.#prefix}online:{${user}}`, expiry, this.node);
    await pipeline.exec().catch(() => {});
  }

  /** Compares each room's sequence with what was delivered here and catches up when Redis is ahead. */
  async #audit(): Promise<void> {
    if (!this.redis.ready) return;
    for (const { room } of [...this.#shared.values()]) {
      const seq = await this.redis.client.get(this.#key(room.name, "seq")).catch(() => null);
      if (seq !== null && Number(seq) > room.last) void room.catchUp();
    }
  }

  /**
   * Resolves at once while Redis is reachable; otherwise waits a moment for it (a node that just started, a
   * reconnection under way) and then fails with `E_UNAVAILABLE`: requests never pile up behind a Redis that is down.
   */
  #whenReady(): Promise<void> {
    if (this.redis.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(storeDown(new Error("redis is not connected")));
      }, READY_GRACE_MS);
      const stop = this.redis.onReadyChange((ready) => {
        if (!ready) return;
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }

  #key(room: string, part: string): string {
    return `${this.#prefix}{${room}}:${part}`;
  }

  #directChannel(): string {
    return `${this.#prefix}direct`;
  }
}

/** How long a request waits for a Redis that is not connected before it fails with E_UNAVAILABLE. */
const READY_GRACE_MS = 750;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from redis in ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
