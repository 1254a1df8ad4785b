import { join } from "node:path";
import { readdir } from "node:fs/promises";
import { pino, type Logger } from "pino";
import type { ConnectionChannel } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import type { Service } from "../service.js";
import { AccountErrorCode } from "../accounts/index.js";
import { CookieJar } from "./cookie.js";
import { DedupWindow } from "./dedup.js";
import { ChatErrorCode } from "./errors.js";
import { HistoryLog } from "./history-log.js";
import { DatagramMember, OutgoingEvent, StreamMember, type Member } from "./member.js";
import type { ChatOrigin, MemberChannel } from "./origin.js";
import { RemoteChannel, RemoteMember } from "./remote-member.js";
import { GUEST_PREFIX, ROOM_NAME, eventFields, type ChatMessage } from "./messages.js";
import { count, type ChatDeps, type ChatOptions } from "./options.js";
import { RateLimiter } from "./rate-limit.js";
import { Room } from "./room.js";

/** The event that tells a chat client to reconnect (the server is draining): see docs/chat.md. */
export const RECONNECT_EVENT = "chat.reconnect";

/** What `chat.history` answers from. */
export interface RoomHistory {
  messages: ChatMessage[];
  lastMsgId: number;
  firstKept: number | null;
}

/** The result of a send: the message's number and time, and whether it was a retry of one already accepted. */
export interface SendResult {
  msgId: number;
  ts: number;
  duplicate: boolean;
}

/**
 * How a send is recognised: `dedupKey` and `retryId` find a retry of a send already accepted (the sender's
 * clientId or seq), `rateKey` is whose rate limit it counts against, and `cid` is the clientId kept with the
 * message, so that a retry is still recognised after a restart.
 */
export interface SendIds {
  dedupKey: string;
  retryId: string;
  rateKey: string;
  cid?: string;
}

/**
 * The chat service's state: rooms, members (stream connections and datagram senders), direct-message inboxes,
 * retry memory and rate limits. Request handlers (handlers.ts) translate requests into these operations.
 */
export class ChatService implements Service {
  readonly name = "chat";
  /** The request types {@link registerChat} added for this service (empty for a service made without it). */
  types: readonly string[] = [];
  readonly dataDir: string;
  readonly history: number;
  readonly maxQueuedBytes: number;
  readonly maxMessageBytes: number;
  readonly maxRoomsPerMember: number;
  readonly udpTimeout: number;
  readonly replayBytes: number;
  readonly logger: Logger;
  readonly cookies = new CookieJar();
  #rooms = new Map<string, Room>();
  #streamMembers = new Map<MemberChannel, StreamMember | RemoteMember>();
  #datagramMembers = new Map<string, DatagramMember>();
  #byUser = new Map<string, Set<Member>>();
  #inbox = new Map<string, number>();
  #dedup: DedupWindow;
  #limiter: RateLimiter;
  #sweep: NodeJS.Timeout;
  #closing: Promise<void> | null = null;

  constructor(deps: ChatDeps, options: ChatOptions = {}) {
    this.dataDir = deps.dataDir;
    this.logger = deps.logger ?? pino({ level: "silent" });
    this.history = count("history", options.history ?? deps.config?.chatHistory ?? 1000, 0);
    this.maxQueuedBytes = count("maxQueuedBytes", options.maxQueuedBytes ?? 1024 * 1024, 1);
    this.maxMessageBytes = count("maxMessageBytes", options.maxMessageBytes ?? 4096, 1);
    this.maxRoomsPerMember = count("maxRoomsPerMember", options.maxRoomsPerMember ?? 100, 1);
    this.udpTimeout = count("udpTimeout", options.udpTimeout ?? 60_000, 1);
    this.replayBytes = count("replayBytes", options.replayBytes ?? Math.floor(this.maxQueuedBytes / 2), 0);
    this.#dedup = new DedupWindow(count("dedupWindow", options.dedupWindow ?? 1000, 1));
    this.#limiter = new RateLimiter(options.rate);
    this.#sweep = setInterval(() => this.#expireDatagramMembers(), Math.max(50, Math.min(10_000, this.udpTimeout / 4)));
    this.#sweep.unref();
  }

  /** The room, created (and its history read) on first use. */
  room(name: string): Room {
    let room = this.#rooms.get(name);
    if (room === undefined) {
      const path = join(this.dataDir, "chat", `${name}.jsonl`);
      const log = this.history > 0 ? new HistoryLog(path, this.history, this.logger, () => created.latest()) : null;
      const created: Room = new Room(name, this.history, log, (messages) => this.#recall(messages));
      room = created;
      room.ready.catch((err: unknown) => {
        this.logger.error({ err, room: name }, "chat history could not be read");
        this.#rooms.delete(name);
      });
      this.#rooms.set(name, room);
    }
    return room;
  }

  /** Runs `fn` with the room loaded: at once when it is, else once its history is read. */
  withRoom<T>(name: string, fn: (room: Room) => T): T | Promise<T> {
    const room = this.room(name);
    return room.loaded ? fn(room) : room.ready.then(() => fn(room));
  }

  /** Joins a member to a room by name: {@link join} once the room is loaded. The reply's header fields. */
  joinRoom(member: Member, name: string, since: number | undefined, rateKey: string): Record<string, unknown> | Promise<Record<string, unknown>> {
    return this.withRoom(name, (room) => this.join(member, room, since, rateKey));
  }

  /** Takes a member out of a room by name; false when it was not in it. */
  leaveRoom(member: Member, name: string): boolean | Promise<boolean> {
    const joined = [...member.rooms].find((r) => r.name === name);
    return joined !== undefined && this.leave(member, joined);
  }

  /** The users in a room, sorted. */
  whoIn(name: string): string[] | Promise<string[]> {
    return this.withRoom(name, (room) => room.who());
  }

  /** Kept messages of a room with since < msgId < before, oldest first, with the room's newest and oldest kept msgIds. */
  historyOf(name: string, since: number, before?: number): RoomHistory | Promise<RoomHistory> {
    return this.withRoom(name, (room) => ({ messages: room.range(since, before), lastMsgId: room.lastMsgId, firstKept: room.firstKept() }));
  }

  /**
   * The member of a stream connection's logged-in user (made on its first chat request); `E_AUTH` before a
   * login. A connection a cluster worker relays for gets a {@link RemoteMember}.
   */
  streamMember(origin: ChatOrigin): StreamMember | RemoteMember {
    const stream = origin.stream;
    if (stream === null) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "a stream request came as a datagram");
    const existing = this.#streamMembers.get(stream.channel);
    if (existing !== undefined) return existing;
    if (stream.user === null) throw new WharfError(AccountErrorCode.AUTH, "log in first (request type auth)");
    const channel = stream.channel;
    const member =
      channel instanceof RemoteChannel
        ? new RemoteMember(stream.user, channel)
        : new StreamMember(stream.user, channel as ConnectionChannel, this.maxQueuedBytes, (m) => this.drop(m));
    this.#streamMembers.set(channel, member);
    this.#addUser(member);
    channel.onClose(() => this.drop(member));
    return member;
  }

  /** The datagram member at the request's source address; `E_AUTH` when that address has not joined. */
  datagramMember(origin: ChatOrigin): DatagramMember {
    const member = this.#datagramMembers.get(`udp:${origin.peer.address}:${origin.peer.port}`);
    if (member === undefined) throw new WharfError(AccountErrorCode.AUTH, "not in chat: chat.udp.join first");
    member.lastHeard = Date.now();
    return member;
  }

  /** The member a request comes from, by transport. */
  memberOf(origin: ChatOrigin): Member {
    return origin.stream !== null ? this.streamMember(origin) : this.datagramMember(origin);
  }

  /** Makes (or finds) the datagram member of a verified address. */
  datagramJoin(origin: ChatOrigin, nick: string): DatagramMember {
    const key = `udp:${origin.peer.address}:${origin.peer.port}`;
    const name = `${GUEST_PREFIX}${nick}`;
    const existing = this.#datagramMembers.get(key);
    if (existing !== undefined) {
      if (existing.name !== name) {
        throw new WharfError(ChatErrorCode.INVALID_PARAMS, `this address is in chat as ${existing.name}; leave every room before taking another name`);
      }
      existing.lastHeard = Date.now();
      return existing;
    }
    if (origin.udp === null) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "chat.udp.join is for datagrams");
    const member = new DatagramMember(name, origin.peer.address, origin.peer.port ?? 0, origin.udp, Date.now());
    this.#datagramMembers.set(key, member);
    this.#addUser(member);
    return member;
  }

  /**
   * The start of a graceful stop: every member this process reaches itself (its own stream connections and its
   * datagram guests) gets a `chat.reconnect` event, so that clients reconnect (through a balancer, to another
   * node) before the connections close. Members relayed by cluster workers are told by their worker.
   */
  drain(): number {
    const event = new OutgoingEvent(RECONNECT_EVENT, { reason: "draining" });
    let told = 0;
    for (const member of [...this.#streamMembers.values(), ...this.#datagramMembers.values()]) {
      if (!(member instanceof RemoteMember) && member.deliver(event)) told += 1;
    }
    return told;
  }

  /**
   * Adds a member to a room (the room must be loaded). With `since`, the kept messages after it are sent first as
   * `chat.message` events marked `replay`, so the member sees no gap and no repeat; at most `replayBytes` of them
   * (the newest), the reply then says `truncated` and where the replay began.
   */
  join(member: Member, room: Room, since: number | undefined, rateKey: string): Record<string, unknown> {
    const reply: Record<string, unknown> = { room: room.name, lastMsgId: room.lastMsgId };
    const already = room.members.has(member);
    if (!already) {
      if (member.rooms.size >= this.maxRoomsPerMember) {
        throw new WharfError(ChatErrorCode.ROOM_LIMIT, `a client may be in at most ${this.maxRoomsPerMember} rooms`, { data: { maxRooms: this.maxRoomsPerMember } });
      }
      this.limit(rateKey);
    }
    if (since !== undefined) {
      let missed = room.range(since);
      let bytes = 0;
      let first = missed.length;
      while (first > 0 && bytes + missed[first - 1].body.length + 128 <= this.replayBytes) bytes += missed[--first].body.length + 128;
      if (first > 0) {
        reply.truncated = true;
        missed = missed.slice(first);
      }
      for (const message of missed) member.deliver(new OutgoingEvent("chat.message", { ...eventFields(message), replay: true }, message.body));
      reply.replayed = missed.length;
      if (missed.length > 0) reply.firstReplayed = missed[0].msgId;
    }
    if (!already) {
      const announce = !room.hasUser(member.name);
      room.members.add(member);
      member.rooms.add(room);
      if (announce) this.announce(room, member, "join");
    }
    reply.memberCount = room.who().length;
    return reply;
  }

  /** Takes a member out of a room; false when it was not in it. */
  leave(member: Member, room: Room): boolean {
    if (!room.members.delete(member)) return false;
    member.rooms.delete(room);
    if (!room.hasUser(member.name)) this.announce(room, member, "leave");
    return true;
  }

  /** Drops a member everywhere (connection closed, cut off, timed out). Idempotent. */
  drop(member: Member): void {
    if (member.gone) return;
    member.markGone();
    for (const room of [...member.rooms]) this.leave(member, room);
    const users = this.#byUser.get(member.name);
    users?.delete(member);
    if (users?.size === 0) {
      this.#byUser.delete(member.name);
      this.userPresence(member.name, false);
    }
    if (member instanceof StreamMember || member instanceof RemoteMember) this.#streamMembers.delete(member.channel);
    if (member instanceof DatagramMember) {
      this.#datagramMembers.delete(member.key);
      this.#dedup.forget(member.key);
    }
  }

  /** Spends a rate token of `key` or throws `E_RATE_LIMITED`. */
  limit(key: string): void {
    const wait = this.#limiter.take(key);
    if (wait > 0) {
      throw new WharfError(ChatErrorCode.RATE_LIMITED, `too many messages: retry in ${wait} ms`, { data: { retryAfterMs: wait } });
    }
  }

  /**
   * Sends a message to a room (the member must be in it) or to a user (every chat client of that user, and the
   * sender's own clients). `retryId` is the sender's clientId or seq: a send seen before is answered with the
   * original msgId and not delivered again.
   */
  send(
    member: Member,
    target: { room?: string; to?: string },
    text: string,
    body: Buffer,
    ids: SendIds,
    extra?: Record<string, unknown>,
  ): SendResult | Promise<SendResult> {
    const seen = this.#dedup.get(ids.dedupKey, ids.retryId);
    if (seen !== undefined) return { msgId: seen.msgId, ts: seen.ts, duplicate: true };
    if (target.to !== undefined) {
      this.limit(ids.rateKey);
      const message = this.direct(member, target.to, text, body, extra);
      this.#dedup.remember(ids.dedupKey, ids.retryId, { msgId: message.msgId, ts: message.ts, to: target.to });
      return { msgId: message.msgId, ts: message.ts, duplicate: false };
    }
    return this.sendToRoom(member, target.room as string, text, body, ids, extra);
  }

  /** The room part of {@link send}: numbers, keeps and delivers the message. */
  protected sendToRoom(
    member: Member,
    name: string,
    text: string,
    body: Buffer,
    ids: SendIds,
    extra?: Record<string, unknown>,
  ): SendResult | Promise<SendResult> {
    return this.withRoom(name, (room) => {
      // Checked again once loaded: the history may hold this very send (a retry across a restart).
      const again = this.#dedup.get(ids.dedupKey, ids.retryId);
      if (again !== undefined) return { msgId: again.msgId, ts: again.ts, duplicate: true };
      if (!room.members.has(member)) throw new WharfError(ChatErrorCode.NOT_IN_ROOM, `join ${room.name} before sending to it`);
      this.limit(ids.rateKey);
      const message = room.publish({ ts: Date.now(), from: member.name, text, body, cid: ids.cid }, extra);
      this.#dedup.remember(ids.dedupKey, ids.retryId, { msgId: message.msgId, ts: message.ts, room: room.name });
      return { msgId: message.msgId, ts: message.ts, duplicate: false };
    });
  }

  /** Rooms with members now, or with history on disk, and how many users are in each. */
  async rooms(): Promise<{ room: string; members: number; lastMsgId?: number }[]> {
    const names = new Set(this.#rooms.keys());
    try {
      for (const file of await readdir(join(this.dataDir, "chat"))) {
        const name = file.replace(/\.jsonl$/, "");
        if (file.endsWith(".jsonl") && ROOM_NAME.test(name)) names.add(name);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    return [...names].sort().map((name) => {
      const room = this.#rooms.get(name);
      return room?.loaded === true ? { room: name, members: room.who().length, lastMsgId: room.lastMsgId } : { room: name, members: 0 };
    });
  }

  /** Writes every room's queued history. */
  async flush(): Promise<void> {
    await Promise.all([...this.#rooms.values()].map((room) => room.log?.flush()));
  }

  /**
   * Stops the timers and resolves once every room's queued history is written; the server's connections are
   * closed by the server (close it first). Idempotent: a second call awaits the first.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweep);
      await this.flush();
    })();
    return this.#closing;
  }

  /** A direct message: to every chat client of `to` and the sender's own clients. */
  protected direct(member: Member, to: string, text: string, body: Buffer, extra?: Record<string, unknown>): ChatMessage {
    const recipients = this.#byUser.get(to);
    if (recipients === undefined || recipients.size === 0) throw new WharfError(ChatErrorCode.USER_OFFLINE, `${to} has no chat client connected`);
    const msgId = (this.#inbox.get(to) ?? 0) + 1;
    this.#inbox.set(to, msgId);
    const message: ChatMessage = { msgId, ts: Date.now(), from: member.name, to, text, body };
    const fields = extra === undefined ? eventFields(message) : { ...eventFields(message), ...extra };
    const targets = new Set([...recipients, ...(this.#byUser.get(member.name) ?? [])]);
    const event = new OutgoingEvent("chat.message", fields, body);
    for (const target of targets) target.deliver(event);
    return message;
  }

  /** Tells the room's other members that a user joined or left (the first of its clients in, the last out). */
  protected announce(room: Room, member: Member, action: "join" | "leave"): void {
    const event = new OutgoingEvent("chat.presence", { room: room.name, user: member.name, action });
    for (const other of room.members) {
      if (other !== member) other.deliver(event);
    }
  }

  /** Called when a user gets its first chat client in this process (true) and loses its last (false). */
  protected userPresence(_name: string, _online: boolean): void {}

  /** The chat clients of a user in this process. */
  protected clientsOf(name: string): ReadonlySet<Member> {
    return this.#byUser.get(name) ?? new Set();
  }

  /** The users with a chat client in this process. */
  protected localUsers(): string[] {
    return [...this.#byUser.keys()];
  }

  #addUser(member: Member): void {
    let set = this.#byUser.get(member.name);
    if (set === undefined) {
      set = new Set();
      this.#byUser.set(member.name, set);
      this.userPresence(member.name, true);
    }
    set.add(member);
  }

  /** Re-learns the clientIds of kept messages, so a retry after a restart is still not delivered twice. */
  #recall(messages: ChatMessage[]): void {
    for (const message of messages) {
      if (message.cid !== undefined && !message.from.startsWith(GUEST_PREFIX)) {
        this.#dedup.remember(`user:${message.from}`, `c:${message.cid}`, { msgId: message.msgId, ts: message.ts, room: message.room });
      }
    }
  }

  #expireDatagramMembers(): void {
    const oldest = Date.now() - this.udpTimeout;
    for (const member of this.#datagramMembers.values()) {
      if (member.lastHeard < oldest || member.sender.closed) this.drop(member);
    }
  }
}
