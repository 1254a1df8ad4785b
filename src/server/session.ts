/**
 * Per-connection state that the handlers of one connection share, read and written through typed keys: each
 * service declares its keys once (`new SessionKey<Account>("wharf.user")`) and gets its own type back, with no
 * cast at the reader and no way for two services to collide on a string.
 */

/**
 * The key of one value in a {@link Session}, carrying the value's type. Keys compare by identity, not by name:
 * the name is for logs and debugging only.
 *
 * @example
 * ```ts
 * const VISITS = new SessionKey<number>("example.visits");
 * server.handle("visit", (_h, _b, ctx) => {
 *   const visits = (ctx.session.get(VISITS) ?? 0) + 1;
 *   ctx.session.set(VISITS, visits);
 *   return { header: { visits } };
 * });
 * ```
 */
export class SessionKey<T> {
  /** Never set: only here so that keys of different value types are different types. */
  declare readonly __type?: T;

  constructor(readonly name: string) {
    if (typeof name !== "string" || name.length === 0) throw new TypeError("name must be a non-empty string");
  }

  toString(): string {
    return `SessionKey(${this.name})`;
  }
}

/**
 * The state of one connection (a datagram gets a fresh, empty one per request). Made by the server; handlers
 * reach it as `ctx.session`.
 *
 * @example
 * ```ts
 * const USER = new SessionKey<{ name: string }>("example.user");
 * ctx.session.set(USER, { name: "alice" });
 * ctx.session.get(USER)?.name; // "alice"
 * ```
 */
export class Session {
  // A Map keyed by the key objects: identity is what keeps two services with the same name apart.
  #values = new Map<SessionKey<unknown>, unknown>();

  /** The value under `key`, or undefined. */
  get<T>(key: SessionKey<T>): T | undefined {
    return this.#values.get(key) as T | undefined;
  }

  /** The value under `key`, made with `create` and stored on first use. */
  getOrCreate<T>(key: SessionKey<T>, create: () => T): T {
    if (this.#values.has(key)) return this.#values.get(key) as T;
    const value = create();
    this.#values.set(key, value);
    return value;
  }

  set<T>(key: SessionKey<T>, value: T): this {
    this.#values.set(key, value);
    return this;
  }

  has(key: SessionKey<unknown>): boolean {
    return this.#values.has(key);
  }

  /** Removes the value; true when there was one. */
  delete(key: SessionKey<unknown>): boolean {
    return this.#values.delete(key);
  }

  /** How many values are stored. */
  get size(): number {
    return this.#values.size;
  }
}
