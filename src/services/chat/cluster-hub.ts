import type { Worker } from "node:cluster";
import type { ReplyInit } from "../../server/index.js";
import { ErrorCode, WharfError } from "../../wire/index.js";
import { IpcBatcher, isChatBatch, type PrimaryItem, type WorkerItem } from "./cluster-messages.js";
import { chatHandlers, type ChatHandler } from "./handlers.js";
import { RemoteChannel } from "./remote-member.js";
import type { ChatService } from "./service.js";

interface WorkerState {
  out: IpcBatcher<PrimaryItem>;
  channels: Map<number, RemoteChannel>;
}

/**
 * The cluster primary's side of chat with `--workers N` and no shared store: the primary's {@link ChatService}
 * owns every room (sequence, history, presence, retry memory, rate limits) and serves the chat requests its
 * workers relay from their connections ({@link ChatRelay}), so that members on different workers are in one room
 * and see one order. Attach each worker as it is forked; a worker that exits takes its members with it.
 *
 * @example
 * ```ts
 * const hub = new ChatClusterHub(chat);
 * const worker = cluster.fork();
 * hub.attach(worker);
 * ```
 */
export class ChatClusterHub {
  readonly chat: ChatService;
  #handlers: Map<string, ChatHandler>;
  #workers = new Map<number, WorkerState>();
  #nextChannel = 1;

  constructor(chat: ChatService) {
    this.chat = chat;
    this.#handlers = chatHandlers(chat);
  }

  /** Serves a worker's relayed chat requests until it exits. */
  attach(worker: Worker): void {
    const state: WorkerState = {
      out: new IpcBatcher<PrimaryItem>((batch) => {
        if (worker.isConnected()) worker.send(batch, undefined, () => {});
      }),
      channels: new Map(),
    };
    this.#workers.set(worker.id, state);
    worker.on("message", (message: unknown) => {
      if (!isChatBatch<WorkerItem>(message)) return;
      for (const item of message.items) this.#onItem(state, item);
    });
    worker.once("exit", () => this.#detach(worker.id));
  }

  #detach(workerId: number): void {
    const state = this.#workers.get(workerId);
    if (state === undefined) return;
    this.#workers.delete(workerId);
    for (const channel of state.channels.values()) channel.markClosed();
    state.channels.clear();
  }

  #onItem(state: WorkerState, item: WorkerItem): void {
    if (item.k === "drop") {
      const channel = state.channels.get(item.conn);
      state.channels.delete(item.conn);
      channel?.markClosed();
      return;
    }
    let channel = state.channels.get(item.conn);
    if (channel === undefined || channel.closed) {
      channel = new RemoteChannel(this.#nextChannel++, item.conn, state.out);
      state.channels.set(item.conn, channel);
    }
    const reply = (result: ReplyInit): void => {
      // Chat replies are whole bodies (never streamed).
      const body = result.body === undefined ? undefined : Buffer.from(result.body as Uint8Array).toString("base64");
      state.out.push({ k: "reply", rid: item.rid, header: result.header, body });
    };
    const fail = (err: unknown): void => {
      const error = err instanceof WharfError ? err : new WharfError(ErrorCode.INTERNAL, "chat failed in the cluster primary");
      if (!(err instanceof WharfError)) this.chat.logger.error({ err, type: item.type }, "relayed chat request failed");
      state.out.push({ k: "reply", rid: item.rid, error: error.toWire() });
    };
    const handler = this.#handlers.get(item.type);
    if (handler === undefined) {
      fail(new WharfError(ErrorCode.UNKNOWN_TYPE, `no handler for ${item.type}`));
      return;
    }
    try {
      const origin = { stream: { channel, user: item.user }, peer: item.peer, udp: null };
      const result = handler(item.header, Buffer.from(item.body, "base64"), origin);
      if (result instanceof Promise) result.then(reply, fail);
      else reply(result);
    } catch (err) {
      fail(err);
    }
  }
}
