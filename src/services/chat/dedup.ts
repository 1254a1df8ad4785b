/** What a send was answered with, remembered for its retries. */
export interface SentRecord {
  msgId: number;
  ts: number;
  room?: string;
  to?: string;
}

/**
 * Remembers the last `perKey` client-chosen ids of each sender (a user's clientIds, a datagram sender's seqs), so a
 * retried send is answered with the original message instead of being delivered twice.
 *
 * @example
 * ```ts
 * const seen = new DedupWindow(1000);
 * seen.get("user:alice", "c-17") ?? seen.remember("user:alice", "c-17", { msgId: 5, ts: Date.now(), room: "lobby" });
 * ```
 */
export class DedupWindow {
  readonly perKey: number;
  #maxKeys: number;
  #keys = new Map<string, Map<string, SentRecord>>();

  constructor(perKey = 1000, maxKeys = 100_000) {
    this.perKey = perKey;
    this.#maxKeys = maxKeys;
  }

  get(key: string, id: string): SentRecord | undefined {
    return this.#keys.get(key)?.get(id);
  }

  remember(key: string, id: string, record: SentRecord): void {
    let ids = this.#keys.get(key);
    if (ids === undefined) {
      ids = new Map();
      this.#keys.set(key, ids);
      if (this.#keys.size > this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value as string);
    }
    ids.set(id, record);
    if (ids.size > this.perKey) ids.delete(ids.keys().next().value as string);
  }

  /** Forgets a sender (a datagram sender that went away). */
  forget(key: string): void {
    this.#keys.delete(key);
  }
}
