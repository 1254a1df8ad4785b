import type { ConnectionChannel, PeerInfo, Server } from "../../server/index.js";
import { ErrorCode, WharfError, encodeEvent } from "../../wire/index.js";
import type { Service } from "../service.js";
import { IpcBatcher, isChatBatch, type ChatBatch, type PrimaryItem, type WorkerItem } from "./cluster-messages.js";
import { ChatErrorCode } from "./errors.js";
import { CHAT_REQUEST_TYPES } from "./handlers.js";
import { loggedInUser } from "./origin.js";
import { RECONNECT_EVENT } from "./service.js";

/** Options of {@link registerChatRelay}. */
export interface ChatRelayOptions {
  /** Unread bytes a connection may hold when an event is due before it is cut off. Default 1 MiB (as chat). */
  maxQueuedBytes?: number;
  /** Sends a batch to the primary. Default: `process.send` (a cluster worker's IPC channel). */
  send?: (batch: ChatBatch<WorkerItem>) => void;
  /** Where the primary's batches come from. Default: this process's `"message"` events. */
  receive?: (listener: (message: unknown) => void) => void;
}

/**
 * A cluster worker's chat: it owns no rooms. Every chat request of its connections is relayed to the cluster
 * primary ({@link ChatClusterHub}) with the connection's id and user; the primary answers, and sends the events
 * of the connection's rooms, which the relay writes to the connection (cutting off, as chat does, a connection
 * that does not read). A closed connection is reported, so its member leaves its rooms.
 */
export class ChatRelay implements Service {
  readonly name = "chat";
  types: readonly string[] = [];
  readonly maxQueuedBytes: number;
  #out: IpcBatcher<WorkerItem>;
  #channels = new Map<number, ConnectionChannel>();
  #pending = new Map<number, { resolve: (item: PrimaryItem & { k: "reply" }) => void; reject: (err: Error) => void }>();
  #nextRid = 1;
  #gone = false;

  constructor(options: ChatRelayOptions = {}) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? 1024 * 1024;
    const send = options.send ?? ((batch) => process.send?.(batch, undefined, undefined, () => {}));
    this.#out = new IpcBatcher<WorkerItem>((batch) => {
      if (!this.#gone) send(batch);
    });
    const receive = options.receive ?? ((listener) => process.on("message", listener));
    receive((message) => {
      if (isChatBatch<PrimaryItem>(message)) for (const item of message.items) this.#onItem(item);
    });
    if (options.receive === undefined) process.once("disconnect", () => this.#primaryGone());
  }

  /** Relays one request; resolves with the primary's reply. */
  request(channel: ConnectionChannel, user: string | null, peer: PeerInfo, type: string, header: Record<string, unknown>, body: Buffer): Promise<{ header?: Record<string, unknown>; body?: Buffer }> {
    if (this.#gone) return Promise.reject(new WharfError(ErrorCode.SHUTTING_DOWN, "chat is not served: the cluster primary is gone"));
    if (!this.#channels.has(channel.id)) {
      this.#channels.set(channel.id, channel);
      channel.onClose(() => this.#forget(channel));
    }
    const rid = this.#nextRid++;
    this.#out.push({ k: "req", rid, conn: channel.id, user, peer, type, header, body: body.toString("base64") });
    return new Promise((resolve, reject) => {
      this.#pending.set(rid, {
        resolve: (item) => {
          if (item.error !== undefined) reject(WharfError.fromWire(item.error, "chat failed"));
          else resolve({ header: item.header, body: item.body === undefined ? undefined : Buffer.from(item.body, "base64") });
        },
        reject,
      });
    });
  }

  /** Tells every chat connection of this worker to reconnect (the worker is draining). Returns how many. */
  drain(): number {
    let told = 0;
    for (const channel of this.#channels.values()) if (channel.sendEvent(RECONNECT_EVENT, { reason: "draining" })) told += 1;
    return told;
  }

  async close(): Promise<void> {
    this.#out.flush();
  }

  #onItem(item: PrimaryItem): void {
    switch (item.k) {
      case "reply": {
        const pending = this.#pending.get(item.rid);
        this.#pending.delete(item.rid);
        pending?.resolve(item);
        return;
      }
      case "event": {
        const parts = encodeEvent(item.event, item.fields, item.text === undefined ? undefined : Buffer.from(item.text, "utf8"));
        for (const conn of item.conns) {
          const channel = this.#channels.get(conn);
          if (channel !== undefined && !channel.closed) this.#deliver(channel, parts);
        }
        return;
      }
      case "close":
        this.#channels.get(item.conn)?.close(WharfError.fromWire(item.error, "closed by the chat service"));
    }
  }

  #deliver(channel: ConnectionChannel, parts: Buffer[]): void {
    const queued = channel.bufferedBytes;
    if (queued > this.maxQueuedBytes) {
      channel.close(
        new WharfError(ChatErrorCode.SLOW_CONSUMER, `you did not read your chat messages: ${queued} bytes were waiting (the limit is ${this.maxQueuedBytes})`, {
          data: { queuedBytes: queued, maxQueuedBytes: this.maxQueuedBytes },
        }),
      );
      // Out of its rooms now, not when the socket is finally gone (a peer that does not read takes up to 15 s).
      this.#forget(channel);
      return;
    }
    channel.sendFrame(parts);
  }

  /** The connection is no chat member any more: the primary drops it from its rooms. Idempotent. */
  #forget(channel: ConnectionChannel): void {
    if (this.#channels.get(channel.id) !== channel) return;
    this.#channels.delete(channel.id);
    this.#out.push({ k: "drop", conn: channel.id });
  }

  #primaryGone(): void {
    this.#gone = true;
    const err = new WharfError(ErrorCode.SHUTTING_DOWN, "chat is not served: the cluster primary is gone");
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
  }
}

/**
 * Registers chat on a cluster worker's server as a relay to the primary (see {@link ChatRelay}); replaces the
 * handlers of a local chat service registered before.
 *
 * @example
 * ```ts
 * if (cluster.isWorker) registerChatRelay(server);
 * ```
 */
export function registerChatRelay(server: Server, options: ChatRelayOptions = {}): ChatRelay {
  const relay = new ChatRelay(options);
  for (const type of CHAT_REQUEST_TYPES) {
    server.handle(type, (header, body: Buffer, ctx) => {
      if (ctx.channel === null) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "chat over datagrams is served by the cluster primary");
      return relay.request(ctx.channel, loggedInUser(ctx), ctx.peer, type, header, body);
    });
  }
  relay.types = [...CHAT_REQUEST_TYPES].sort();
  return relay;
}
