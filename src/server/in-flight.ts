import type { RequestContext } from "./context.js";

/**
 * The requests of one connection still running after their handlers returned, oldest first: what a `cancel`
 * looks up and what a closing connection aborts.
 *
 * An array, not a Map keyed by id: a long-lived Map whose keys churn reallocates its hash table every few
 * requests, and those tables, reachable from an old object, keep V8's old-generation collector marking nonstop
 * under load (measured at 64 KiB bodies with V8's default collector: a quarter of the old-generation
 * collections, 1.5x the requests/s). Replies mostly finish oldest first, so removal rarely walks far.
 *
 * @example
 * ```ts
 * const running = new InFlightRequests();
 * running.add(ctx);
 * running.find(7)?.abort(new WharfError(ErrorCode.CANCELLED, "the client cancelled the request"));
 * running.remove(ctx);
 * ```
 */
export class InFlightRequests {
  #list: RequestContext[] = [];

  add(ctx: RequestContext): void {
    this.#list.push(ctx);
  }

  /** Removes `ctx` in place, keeping the order, without allocating. */
  remove(ctx: RequestContext): void {
    const list = this.#list;
    const index = list.indexOf(ctx);
    if (index < 0) return;
    for (let i = index; i < list.length - 1; i += 1) list[i] = list[i + 1];
    list.pop();
  }

  /** The running request with this id, if any. */
  find(id: number): RequestContext | undefined {
    return this.#list.find((ctx) => ctx.id === id);
  }

  /** Aborts every running request with `reason` and forgets them. */
  abortAll(reason: unknown): void {
    const contexts = this.#list;
    this.#list = [];
    for (const ctx of contexts) ctx.abort(reason);
  }
}
