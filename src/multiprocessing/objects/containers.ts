/**
 * Broker-side state of a Manager's dict, list and Namespace. Values are copies (structured clone), as with
 * Python's proxies: changing an object read from a dict changes nothing until it is set back.
 */
import { defineKind, type BrokerObject } from "../broker.js";

class DictState implements BrokerObject {
  readonly #map = new Map<unknown, unknown>();

  call(_session: unknown, op: string, args: unknown[]): unknown {
    const m = this.#map;
    const [key, value] = args;
    switch (op) {
      case "get":
        return m.has(key) ? m.get(key) : value;
      case "set":
        m.set(key, value);
        return undefined;
      case "has":
        return m.has(key);
      case "delete":
        return m.delete(key);
      case "pop": {
        if (!m.has(key)) return value;
        const old = m.get(key);
        m.delete(key);
        return old;
      }
      case "setdefault":
        if (!m.has(key)) m.set(key, value);
        return m.get(key);
      case "update":
        for (const [k, v] of args[0] as [unknown, unknown][]) m.set(k, v);
        return undefined;
      case "add": {
        // Read-modify-write in one step, so processes incrementing one key lose no update.
        const next = ((m.get(key) as number | undefined) ?? 0) + (value as number);
        m.set(key, next);
        return next;
      }
      case "size":
        return m.size;
      case "keys":
        return [...m.keys()];
      case "values":
        return [...m.values()];
      case "entries":
        return [...m.entries()];
      case "clear":
        return m.clear();
    }
    throw new TypeError(`dict has no operation "${op}"`);
  }
}

class ListState implements BrokerObject {
  #items: unknown[] = [];

  call(_session: unknown, op: string, args: unknown[]): unknown {
    const a = this.#items;
    switch (op) {
      case "append":
        a.push(args[0]);
        return a.length;
      case "extend":
        a.push(...(args[0] as unknown[]));
        return a.length;
      case "get":
        return a.at(args[0] as number);
      case "set": {
        const i = args[0] as number;
        if (i < -a.length || i >= a.length) throw new RangeError(`list index ${i} out of range`);
        a[i < 0 ? a.length + i : i] = args[1];
        return undefined;
      }
      case "insert":
        a.splice(args[0] as number, 0, args[1]);
        return undefined;
      case "pop": {
        if (a.length === 0) throw new RangeError("pop from an empty list");
        const i = (args[0] as number | undefined) ?? -1;
        return a.splice(i, 1)[0];
      }
      case "remove": {
        const i = a.indexOf(args[0]);
        if (i === -1) throw new RangeError("list.remove(x): x not in list");
        a.splice(i, 1);
        return undefined;
      }
      case "indexOf":
        return a.indexOf(args[0]);
      case "length":
        return a.length;
      case "slice":
        return a.slice(args[0] as number | undefined, args[1] as number | undefined);
      case "clear":
        this.#items = [];
        return undefined;
    }
    throw new TypeError(`list has no operation "${op}"`);
  }
}

class NamespaceState implements BrokerObject {
  readonly #attrs = new Map<string, unknown>();

  constructor(init: Record<string, unknown>) {
    for (const [k, v] of Object.entries(init)) this.#attrs.set(k, v);
  }

  call(_session: unknown, op: string, args: unknown[]): unknown {
    const [name, value] = args as [string, unknown];
    switch (op) {
      case "get":
        return this.#attrs.get(name);
      case "set":
        this.#attrs.set(name, value);
        return undefined;
      case "delete":
        return this.#attrs.delete(name);
      case "toObject":
        return Object.fromEntries(this.#attrs);
    }
    throw new TypeError(`Namespace has no operation "${op}"`);
  }
}

defineKind("dict", () => new DictState());
defineKind("list", () => new ListState());
defineKind("Namespace", ([init]) => new NamespaceState((init ?? {}) as Record<string, unknown>));
