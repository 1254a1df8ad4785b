import type { ReplyInit, Server } from "../../server/index.js";
import { MAX_DATAGRAM_SIZE, WharfError } from "../../wire/index.js";
import { ChatErrorCode } from "./errors.js";
import {
  historyFields,
  joinFields,
  messageText,
  parseFields,
  roomFields,
  sendFields,
  udpJoinFields,
  type ChatMessage,
} from "./messages.js";
import type { ChatDeps, ChatOptions } from "./options.js";
import { ChatService } from "./service.js";
import { typesAdded } from "../service.js";
import { originOf, type ChatOrigin } from "./origin.js";

/** A chat request handler, on a request's origin rather than its context (so relayed requests are served too). */
export type ChatHandler = (header: Record<string, unknown>, body: Buffer, origin: ChatOrigin) => ReplyInit | Promise<ReplyInit>;

/** Room for a reply's header and framing inside one datagram. */
const DATAGRAM_BODY_BUDGET = MAX_DATAGRAM_SIZE - 2_048;
/** Largest history reply body over a stream connection. */
const STREAM_BODY_BUDGET = 8 * 1024 * 1024;

/**
 * Adds the chat request types to a server and returns the service (for its `close()` and for tests):
 * `chat.join`, `chat.leave`, `chat.send`, `chat.rooms`, `chat.who`, `chat.history` over stream connections (logged
 * in users) and over UDP (guests that joined with `chat.udp.join`), plus `chat.udp.join` and `chat.udp.keepalive`.
 * Messages reach members as `chat.message` events; see docs/chat.md and docs/protocol.md.
 *
 * @example
 * ```ts
 * registerAuth(server, accounts);
 * const chat = registerChat(server, { dataDir: "./wharf-data" }, { rate: { rate: 20, burst: 40 } });
 * // ... on shutdown
 * await chat.close();
 * ```
 */
export function registerChat(server: Server, deps: ChatDeps, options: ChatOptions = {}): ChatService {
  return registerChatService(server, new ChatService(deps, options));
}

/** Adds the chat request types to a server for a chat service made by the caller (shared chat, say). */
export function registerChatService<T extends ChatService>(server: Server, chat: T): T {
  const handlers = chatHandlers(chat);
  chat.types = typesAdded(server, () => {
    for (const [type, handler] of handlers) server.handle(type, (header, body: Buffer, ctx) => handler(header, body, originOf(ctx)));
  });
  return chat;
}

/** Every chat request type, stream and datagram. */
export const CHAT_REQUEST_TYPES: readonly string[] = ["chat.join", "chat.udp.join", "chat.udp.keepalive", "chat.leave", "chat.send", "chat.rooms", "chat.who", "chat.history"];

/**
 * The chat request types and their handlers on a service: what {@link registerChat} registers, and what a
 * cluster primary runs for the requests its workers relay.
 */
export function chatHandlers(chat: ChatService): Map<string, ChatHandler> {
  const handlers = new Map<string, ChatHandler>();
  const server = { handle: (type: string, handler: ChatHandler) => handlers.set(type, handler) };
  addHandlers(server, chat);
  return handlers;
}

function addHandlers(server: { handle(type: string, handler: ChatHandler): unknown }, chat: ChatService): void {
  server.handle("chat.join", (header, _body, ctx) => {
    if (ctx.stream === null) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "over udp, join with chat.udp.join");
    const { room, since } = parseFields(joinFields, header);
    const member = chat.streamMember(ctx);
    return then(chat.joinRoom(member, room, since, `user:${member.name}`), (fields) => ({ header: fields }));
  });

  server.handle("chat.udp.join", (header, _body, ctx) => {
    if (ctx.stream !== null) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "chat.udp.join is for datagrams; use chat.join");
    const { room, user, cookie } = parseFields(udpJoinFields, header);
    const port = ctx.peer.port ?? 0;
    if (!chat.cookies.check(cookie, ctx.peer.address, port)) {
      // Not yet proven to receive at this address: answer with the cookie only (no bigger than the request).
      return { header: { joined: false, cookie: chat.cookies.make(ctx.peer.address, port) } };
    }
    const member = chat.datagramJoin(ctx, user);
    return then(chat.joinRoom(member, room, undefined, `udp:${ctx.peer.address}`), (fields) => ({ header: { joined: true, user: member.name, ...fields } }));
  });

  server.handle("chat.udp.keepalive", (_header, _body, ctx) => {
    if (ctx.stream !== null) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "chat.udp.keepalive is for datagrams");
    const member = chat.datagramMember(ctx);
    return { header: { user: member.name, rooms: [...member.rooms].map((r) => r.name).sort() } };
  });

  server.handle("chat.leave", (header, _body, ctx) => {
    const { room } = parseFields(roomFields, header);
    const member = chat.memberOf(ctx);
    return then(chat.leaveRoom(member, room), (left) => {
      // A guest in no room is forgotten at once: its address and nickname are free again.
      if (ctx.stream === null && member.rooms.size === 0) chat.drop(member);
      return { header: { room, left } };
    });
  });

  server.handle("chat.send", (header, body, ctx) => {
    const fields = parseFields(sendFields, header);
    const member = chat.memberOf(ctx);
    const text = messageText(body, chat.maxMessageBytes);
    const udp = ctx.stream === null;
    let ids;
    if (udp) {
      if (fields.seq === undefined) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "seq: a datagram send needs the sender's sequence number");
      ids = { dedupKey: member.key, retryId: `s:${fields.seq}`, rateKey: `udp:${ctx.peer.address}` };
    } else {
      if (fields.clientId === undefined) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "clientId: a send needs a client-chosen id");
      ids = { dedupKey: `user:${member.name}`, retryId: `c:${fields.clientId}`, rateKey: `user:${member.name}`, cid: fields.clientId };
    }
    const result = chat.send(member, fields, text, body, ids, udp ? { seq: fields.seq } : undefined);
    const reply = (r: { msgId: number; ts: number; duplicate: boolean }): ReplyInit => ({
      header: r.duplicate ? { msgId: r.msgId, ts: r.ts, duplicate: true } : { msgId: r.msgId, ts: r.ts },
    });
    return result instanceof Promise ? result.then(reply) : reply(result);
  });

  server.handle("chat.rooms", async (_header, _body, ctx): Promise<ReplyInit> => {
    chat.memberOf(ctx);
    const rooms = await chat.rooms();
    const items = fitJson(rooms, budget(ctx));
    return { header: { count: items.length, remaining: rooms.length - items.length }, body: Buffer.from(JSON.stringify(items)) };
  });

  server.handle("chat.who", (header, _body, ctx) => {
    const { room } = parseFields(roomFields, header);
    chat.memberOf(ctx);
    return then(chat.whoIn(room), (names) => {
      const items = fitJson(names, budget(ctx));
      return { header: { room, count: items.length, remaining: names.length - items.length }, body: Buffer.from(JSON.stringify(items)) };
    });
  });

  server.handle("chat.history", (header, _body, ctx) => {
    const { room, since, before, limit } = parseFields(historyFields, header);
    chat.memberOf(ctx);
    return then(chat.historyOf(room, since ?? 0, before), ({ messages, lastMsgId, firstKept }) => {
      const { body, count } = historyLines(messages, limit ?? messages.length, budget(ctx));
      // Not "more": that name marks an intermediate frame of a streamed reply (protocol.md §2.4).
      return { header: { room, count, remaining: messages.length - count, lastMsgId, firstKept }, body };
    });
  });
}

/** `fn` of a value that may still be coming: at once when it is there (the local service answers synchronously). */
function then<T, R>(value: T | Promise<T>, fn: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

function budget(ctx: ChatOrigin): number {
  return ctx.stream === null ? DATAGRAM_BODY_BUDGET : STREAM_BODY_BUDGET;
}

/** The longest prefix of `items` whose JSON array fits in `maxBytes`. */
function fitJson<T>(items: T[], maxBytes: number): T[] {
  let bytes = 2;
  let n = 0;
  for (; n < items.length; n += 1) {
    bytes += Buffer.byteLength(JSON.stringify(items[n])) + 1;
    if (bytes > maxBytes) break;
  }
  return n === items.length ? items : items.slice(0, n);
}

/** Messages as JSON lines (`{msgId, ts, from, text}`), oldest first, as many as fit. */
function historyLines(messages: ChatMessage[], limit: number, maxBytes: number): { body: Buffer; count: number } {
  const lines: string[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (lines.length >= limit) break;
    const line = `${JSON.stringify({ msgId: message.msgId, ts: message.ts, from: message.from, text: message.text })}\n`;
    bytes += Buffer.byteLength(line);
    if (bytes > maxBytes) break;
    lines.push(line);
  }
  return { body: Buffer.from(lines.join("")), count: lines.length };
}
