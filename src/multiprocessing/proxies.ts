/**
 * The proxies a Manager hands out for its dict, list and Namespace, `multiprocessing.managers`' DictProxy,
 * ListProxy and NamespaceProxy. Every method is one message to the Manager's process; values are copies.
 */
import { registerHandle, SharedObject } from "./handle.js";

abstract class ManagedProxy extends SharedObject {
  /** @internal Proxies are made by a Manager. */
  constructor() {
    super("proxy", () => {
      throw new TypeError("proxies are made by a Manager: await manager.dict()");
    });
  }
}

/**
 * A Map held by a Manager. Keys and values are structured-cloned.
 *
 * @example
 * ```ts
 * const d = await manager.dict<string, number>();
 * await d.set("sold", 0);
 * await d.add("sold", 1); // atomic read-modify-write on the manager
 * console.log(await d.get("sold"));
 * ```
 */
export class DictProxy<K = unknown, V = unknown> extends ManagedProxy {
  /** The value of `key`, or `fallback`. */
  get(key: K, fallback?: V): Promise<V | undefined> {
    return this.call("get", [key, fallback]) as Promise<V | undefined>;
  }
  /** Sets `key` to `value`. */
  set(key: K, value: V): Promise<void> {
    return this.call("set", [key, value]) as Promise<void>;
  }
  /** Whether `key` is present. */
  has(key: K): Promise<boolean> {
    return this.call("has", [key]) as Promise<boolean>;
  }
  /** Removes `key`; true if it was there. */
  delete(key: K): Promise<boolean> {
    return this.call("delete", [key]) as Promise<boolean>;
  }
  /** Removes `key` and returns its value (or `fallback`). */
  pop(key: K, fallback?: V): Promise<V | undefined> {
    return this.call("pop", [key, fallback]) as Promise<V | undefined>;
  }
  /** Sets `key` to `value` unless present; returns the value now held. */
  setdefault(key: K, value: V): Promise<V> {
    return this.call("setdefault", [key, value]) as Promise<V>;
  }
  /** Adds `delta` to a number held at `key` (missing counts as 0) in one step; returns the sum. */
  add(key: K, delta: number): Promise<number> {
    return this.call("add", [key, delta]) as Promise<number>;
  }
  /** Sets every entry of `entries`. */
  update(entries: Iterable<[K, V]> | Record<string, V>): Promise<void> {
    const list = Symbol.iterator in Object(entries) ? [...(entries as Iterable<[K, V]>)] : Object.entries(entries);
    return this.call("update", [list]) as Promise<void>;
  }
  /** Number of entries. */
  size(): Promise<number> {
    return this.call("size", []) as Promise<number>;
  }
  keys(): Promise<K[]> {
    return this.call("keys", []) as Promise<K[]>;
  }
  values(): Promise<V[]> {
    return this.call("values", []) as Promise<V[]>;
  }
  entries(): Promise<[K, V][]> {
    return this.call("entries", []) as Promise<[K, V][]>;
  }
  clear(): Promise<void> {
    return this.call("clear", []) as Promise<void>;
  }
}

/**
 * An array held by a Manager.
 *
 * @example
 * ```ts
 * const results = await manager.list<number>();
 * await results.append(42);
 * console.log(await results.toArray());
 * ```
 */
export class ListProxy<T = unknown> extends ManagedProxy {
  /** Appends `item`; returns the new length. */
  append(item: T): Promise<number> {
    return this.call("append", [item]) as Promise<number>;
  }
  /** Appends every item; returns the new length. */
  extend(items: readonly T[]): Promise<number> {
    return this.call("extend", [[...items]]) as Promise<number>;
  }
  /** The item at `index` (negative counts from the end), or undefined. */
  get(index: number): Promise<T | undefined> {
    return this.call("get", [index]) as Promise<T | undefined>;
  }
  /** Replaces the item at `index`; rejects with RangeError out of range. */
  set(index: number, item: T): Promise<void> {
    return this.call("set", [index, item]) as Promise<void>;
  }
  insert(index: number, item: T): Promise<void> {
    return this.call("insert", [index, item]) as Promise<void>;
  }
  /** Removes and returns the item at `index` (default the last). */
  pop(index?: number): Promise<T> {
    return this.call("pop", [index]) as Promise<T>;
  }
  /** Removes the first item equal (`===` after the copy, so primitives) to `item`. */
  remove(item: T): Promise<void> {
    return this.call("remove", [item]) as Promise<void>;
  }
  indexOf(item: T): Promise<number> {
    return this.call("indexOf", [item]) as Promise<number>;
  }
  length(): Promise<number> {
    return this.call("length", []) as Promise<number>;
  }
  slice(start?: number, end?: number): Promise<T[]> {
    return this.call("slice", [start, end]) as Promise<T[]>;
  }
  /** A copy of the whole list. */
  toArray(): Promise<T[]> {
    return this.call("slice", []) as Promise<T[]>;
  }
  clear(): Promise<void> {
    return this.call("clear", []) as Promise<void>;
  }
}

/**
 * Named attributes held by a Manager, Python's `Namespace`; read and written with `get`/`set`, since a property
 * access cannot wait for another process.
 *
 * @example
 * ```ts
 * const ns = await manager.Namespace({ x: 1 });
 * await ns.set("y", 2);
 * console.log(await ns.toObject()); // { x: 1, y: 2 }
 * ```
 */
export class NamespaceProxy extends ManagedProxy {
  get<T = unknown>(name: string): Promise<T | undefined> {
    return this.call("get", [name]) as Promise<T | undefined>;
  }
  set(name: string, value: unknown): Promise<void> {
    return this.call("set", [name, value]) as Promise<void>;
  }
  delete(name: string): Promise<boolean> {
    return this.call("delete", [name]) as Promise<boolean>;
  }
  toObject(): Promise<Record<string, unknown>> {
    return this.call("toObject", []) as Promise<Record<string, unknown>>;
  }
}

registerHandle("dict", DictProxy);
registerHandle("list", ListProxy);
registerHandle("Namespace", NamespaceProxy);
