import type { Logger } from "pino";
import type { RateLimitOptions } from "./rate-limit.js";

/** Limits and settings of the chat service; every one has a default. */
export interface ChatOptions {
  /** Messages kept per room (memory and file); 0 keeps none. Default: the `chatHistory` config, else 1,000. */
  history?: number;
  /** A stream member with more unread bytes than this when a message is due is cut off. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** Largest message body. Default 4 KiB. */
  maxMessageBytes?: number;
  /** Sends and joins per user (per address for datagram guests). Default 20/s, bursts of 40. */
  rate?: RateLimitOptions;
  /** clientIds (or seqs) remembered per sender for retries. Default 1,000. */
  dedupWindow?: number;
  /** Rooms one client may be in at once. Default 100. */
  maxRoomsPerMember?: number;
  /** A datagram member not heard from for this long (ms) is dropped. Default 60,000. */
  udpTimeout?: number;
  /** Most bytes of missed messages replayed by a join with `since`. Default maxQueuedBytes / 2. */
  replayBytes?: number;
}

/** What the chat service needs from `wharf serve` (a subset of ServiceDeps). */
export interface ChatDeps {
  dataDir: string;
  logger?: Logger;
  config?: { chatHistory: number };
}

/** Checks an integer option. */
export function count(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`options.${name} must be an integer of at least ${min}, got ${String(value)}`);
  return value;
}
