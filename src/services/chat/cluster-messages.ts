import type { PeerInfo } from "../../server/index.js";
import type { WireErrorBody } from "../../wire/index.js";

/**
 * The chat messages between a cluster primary (which owns chat state) and its workers (which hold the stream
 * connections), over the cluster's IPC channel. Every message is `{ wharfChat: "batch", items }`: items queued in
 * one turn of the event loop travel together, in order, so that a member's events and a request's reply keep the
 * order the primary made them in. Bodies travel as base64 (requests, replies) or UTF-8 text (chat events).
 */
export type WorkerItem =
  /** A chat request of connection `conn` (user: its login, null before one). */
  | { k: "req"; rid: number; conn: number; user: string | null; peer: PeerInfo; type: string; header: Record<string, unknown>; body: string }
  /** Connection `conn` closed: drop its member. */
  | { k: "drop"; conn: number };

export type PrimaryItem =
  /** The answer to request `rid`. */
  | { k: "reply"; rid: number; header?: Record<string, unknown>; body?: string; error?: WireErrorBody }
  /** One event frame for every connection in `conns`. */
  | { k: "event"; event: string; fields: Record<string, unknown>; text?: string; conns: number[] }
  /** Close connection `conn` with this fatal error. */
  | { k: "close"; conn: number; error: WireErrorBody };

export interface ChatBatch<Item> {
  wharfChat: "batch";
  items: Item[];
}

/** True for a chat batch (other cluster messages pass by). */
export function isChatBatch<Item>(message: unknown): message is ChatBatch<Item> {
  return typeof message === "object" && message !== null && (message as { wharfChat?: unknown }).wharfChat === "batch";
}

/**
 * Queues items and sends them as one batch at the end of the event loop's turn (setImmediate): one IPC message for
 * a room's fan-out and the replies of every request the turn served, instead of one per item.
 *
 * @example
 * ```ts
 * const out = new IpcBatcher<WorkerItem>((batch) => process.send?.(batch));
 * out.push({ k: "drop", conn: 7 });
 * ```
 */
export class IpcBatcher<Item> {
  #items: Item[] = [];
  #scheduled = false;
  #send: (batch: ChatBatch<Item>) => void;

  constructor(send: (batch: ChatBatch<Item>) => void) {
    this.#send = send;
  }

  push(item: Item): void {
    this.#items.push(item);
    this.#schedule();
  }

  /** The newest queued item (to extend a fan-out), or undefined. */
  last(): Item | undefined {
    return this.#items.at(-1);
  }

  /** Sends what is queued now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#send({ wharfChat: "batch", items });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }
}
