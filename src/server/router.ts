import type { RequestHeader, StreamedBody } from "../wire/index.js";
import type { RequestContext } from "./context.js";

export type { StreamedBody };

/**
 * What a handler returns: header fields for the reply (besides `id`, `ok` and `size`, which the server sets) and
 * an optional body. Returning nothing replies `{ id, ok: true }` with an empty body.
 */
export interface ReplyInit {
  header?: Record<string, unknown>;
  body?: Uint8Array | StreamedBody;
}

/**
 * A request handler. `body` is a Buffer, or for types registered with `{ body: "stream" }` an IncomingBody: a
 * Readable, or handed to a sink piece by piece with `drainInto` (no copy of the connection's reads). Throw a
 * WharfError to reply with its code; any other error replies `E_INTERNAL` and is logged.
 */
export type Handler<Body = Buffer> = (
  header: RequestHeader,
  body: Body,
  ctx: RequestContext,
) => ReplyInit | void | Promise<ReplyInit | void>;

/** How a request type is served. */
export interface HandlerOptions {
  /** "stream" hands the handler a Readable body with backpressure instead of a Buffer. Not over UDP. */
  body?: "buffer" | "stream";
  /**
   * Keep serving this type while the server drains for shutdown, when every other type gets `E_SHUTTING_DOWN`:
   * for health checks, which must be able to say "not serving" on connections still open.
   */
  duringDrain?: boolean;
}

/** @internal One registered request type. */
export interface Route {
  handler: Handler<any>;
  stream: boolean;
  duringDrain: boolean;
}

/** Maps request types to handlers. */
export class Router {
  #routes = new Map<string, Route>();

  /** Registers (or replaces) the handler of a request type. */
  handle(type: string, handler: Handler<any>, options: HandlerOptions = {}): void {
    if (typeof type !== "string" || type.length === 0) throw new TypeError("type must be a non-empty string");
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    if (options.body !== undefined && options.body !== "buffer" && options.body !== "stream") {
      throw new TypeError('options.body must be "buffer" or "stream"');
    }
    this.#routes.set(type, { handler, stream: options.body === "stream", duringDrain: options.duringDrain === true });
  }

  /** The route of a type, if registered. */
  get(type: string): Route | undefined {
    return this.#routes.get(type);
  }

  /** Registered type names. */
  types(): string[] {
    return [...this.#routes.keys()];
  }
}
