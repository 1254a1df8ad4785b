import type { BigIntStats } from "node:fs";

/**
 * A key for one version of a file, as the server's memories of files know it (delta-list-cache.ts,
 * verified-reads.ts): `tag` (what is remembered of it, e.g. the algorithm), the device, inode, size, mtime and
 * ctime in ns. Any write to the file moves its ctime, so a changed file gets a new key. (File times tick at the
 * kernel's coarse clock, 1-4 ms: a same-size rewrite within one tick of the key being taken goes unseen.)
 *
 * @example
 * ```ts
 * const key = fileVersionKey(await file.stat({ bigint: true }), "blake3");
 * ```
 */
export function fileVersionKey(info: BigIntStats, tag: string): string {
  return [tag, info.dev, info.ino, info.size, info.mtimeNs, info.ctimeNs].join(":");
}

/**
 * A map of at most `capacity` entries that forgets the least recently used first: `get` counts as a use, `set`
 * adds (or renews) an entry and forgets the oldest past the capacity. A capacity of 0 keeps nothing. With `weight`,
 * the entries' weights (their bytes, say) are also held to `weight.max`: an entry heavier than that is not kept.
 *
 * @example
 * ```ts
 * const recent = new RecentMap<string>(2);
 * recent.set("a", "1"); recent.set("b", "2"); recent.get("a"); recent.set("c", "3"); // "b" is forgotten
 * ```
 */
export class RecentMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #capacity: number;
  readonly #weigh: ((value: V) => number) | undefined;
  readonly #maxWeight: number;
  #weight = 0;

  constructor(capacity: number, weight?: { of: (value: V) => number; max: number }) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError("capacity must be a non-negative integer");
    this.#capacity = capacity;
    this.#weigh = weight?.of;
    this.#maxWeight = weight?.max ?? Infinity;
  }

  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key); // most recently used last
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.#delete(key);
    const weight = this.#weigh?.(value) ?? 0;
    if (this.#capacity === 0 || weight > this.#maxWeight) return; // kept, it would push out everything else
    this.#entries.set(key, value);
    this.#weight += weight;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity && this.#weight <= this.#maxWeight) break;
      this.#delete(oldest);
    }
  }

  #delete(key: string): void {
    const value = this.#entries.get(key);
    if (value === undefined) return;
    this.#weight -= this.#weigh?.(value) ?? 0;
    this.#entries.delete(key);
  }
}
