/**
 * The one shape every service has: a name, the request types it answers, and a graceful `close()`. A host
 * (`wharf serve`, or a program of yours) registers services on a server, serves, and on shutdown closes the
 * server first (in-flight requests drain) and then every service, awaiting each.
 */
import type { Server } from "../server/index.js";

/**
 * A service hosted on a {@link Server}: what `registerFiles`, `registerChat`, `registerExec`, `registerRpc`,
 * `registerTime` and `registerAuth` return.
 *
 * `close()` is graceful and idempotent: it releases what the service holds beyond its requests (upload locks,
 * queued history, running commands, timers) and resolves once that is done. Call it after `server.close()`, so
 * that no request of the service is still running; requests that arrive after it get the service's errors.
 *
 * @example
 * ```ts
 * const services = [registerAuth(server, accounts), registerTime(server)];
 * // ... on shutdown
 * await server.close();
 * await Promise.all(services.map((s) => s.close()));
 * ```
 */
export interface Service {
  /** Short and stable: "files", "chat", "exec", "rpc", "time", "auth". */
  readonly name: string;
  /** The request types the service registered on its server, sorted. */
  readonly types: readonly string[];
  /** Releases everything the service holds; safe to call twice (the second call awaits the first). */
  close(): Promise<void>;
}

/**
 * Runs `register` and returns the request types it added to the server, sorted: how each service learns its
 * {@link Service.types} without a second list to keep in step with its `server.handle` calls.
 */
export function typesAdded(server: Server, register: () => void): string[] {
  const before = new Set(server.requestTypes());
  register();
  return server.requestTypes().filter((type) => !before.has(type));
}

/**
 * Makes `close` idempotent: the first call runs it, later calls get the same promise.
 *
 * @example
 * ```ts
 * const close = once(async () => { clearInterval(timer); await flush(); });
 * ```
 */
export function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () => (closing ??= close());
}

/**
 * The services of one server, closed together.
 *
 * @example
 * ```ts
 * const services = registerServices(server, deps);
 * services.get("rpc"); // the RPC service, or undefined
 * await server.close();
 * await services.close();
 * ```
 */
export class ServiceSet implements Iterable<Service> {
  readonly #services: Service[];
  #closing: Promise<void> | null = null;

  constructor(services: Iterable<Service>) {
    this.#services = [...services];
  }

  /** The service of a name, or undefined. */
  get(name: string): Service | undefined {
    return this.#services.find((service) => service.name === name);
  }

  [Symbol.iterator](): Iterator<Service> {
    return this.#services[Symbol.iterator]();
  }

  /**
   * Closes every service at once and resolves when all are closed. A service whose close fails does not stop
   * the others: every failure is awaited, then the first is thrown (as an AggregateError when several failed).
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#closeAll());
  }

  async #closeAll(): Promise<void> {
    const results = await Promise.allSettled(this.#services.map((service) => service.close()));
    const errors = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} services failed to close`);
  }
}
