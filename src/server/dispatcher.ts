import { Readable } from "node:stream";
import type { Logger } from "pino";
import { ErrorCode, type IncomingBody, type RequestHeader, type WireErrorBody } from "../wire/index.js";
import type { RequestContext } from "./context.js";
import { quote, toWireError } from "./reply.js";
import { RequestTiming } from "./request-timing.js";
import type { ReplyInit, Route, Router } from "./router.js";

/**
 * @internal Where a request came from and where its reply goes: a stream connection, or one datagram and its
 * sender. The dispatcher decides what happens to a request; the source only knows how to answer on its
 * transport.
 */
export interface RequestSource {
  /** False for datagrams: types that stream their bodies, streamed replies and `cancel` need a stream. */
  readonly streams: boolean;
  /** The transport's name, as in PeerInfo.transport. */
  readonly transport: string;
  readonly logger: Logger;
  /** The context of a request about to run. */
  context(id: number, type: string): RequestContext;
  /** A handler is about to run (counted until `finish`). */
  started(ctx: RequestContext): void;
  /** The handler returned a promise: the request can now be cancelled or aborted. */
  track(ctx: RequestContext): void;
  /** The request is over: write its reply, or its error when `error` is set. Must not throw. */
  finish(ctx: RequestContext, reply: ReplyInit | undefined, error: WireErrorBody | undefined): void;
  /** Answers a request that no handler ran for. */
  refuse(id: number, error: WireErrorBody): void;
  /** `{ type: "cancel", ref }` (stream sources only). */
  cancel?(id: number, ref: unknown): void;
}

/** The label of the requests of a type the server does not serve. */
const OTHER = "(other)";

const SHUTTING_DOWN: WireErrorBody = { code: ErrorCode.SHUTTING_DOWN, message: "the server is shutting down" };

/** Attached to every streamed request body, so that a body nobody reads can fail without an unhandled 'error'. */
function ignoreBodyError(): void {}

/**
 * The one path every request takes, whatever its transport: the drain check, unknown types, the handler call,
 * turning what it throws into a wire error, and the in-flight registry that a server's close() waits on. The
 * runtime owns request bodies: a streamed body a handler did not read to its end is drained and discarded, and
 * its errors never surface as unhandled events.
 */
export class Dispatcher {
  #router: Router;
  #draining = false;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  /** How long requests take, for the metrics and `wharf:request`: see request-timing.ts. */
  readonly timing = new RequestTiming();

  constructor(router: Router) {
    this.#router = router;
  }

  /** The route of a request type: looked up once per frame, before its body is read. */
  route(type: string): Route | undefined {
    return this.#router.get(type);
  }

  /** From now on, every type not registered `duringDrain` is refused with `E_SHUTTING_DOWN`. */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Resolves once no handler is running. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Hands a streamed request body to the runtime before any handler sees it. */
  ownBody(body: IncomingBody): IncomingBody {
    body.on("error", ignoreBodyError);
    return body;
  }

  /** Serves one request. `route` is `route(header.type)`, looked up by the caller. */
  dispatch(source: RequestSource, header: RequestHeader, body: Buffer | Readable, route: Route | undefined): void {
    const { id, type } = header;
    if (this.#draining && route?.duringDrain !== true) {
      discard(body);
      source.refuse(id, SHUTTING_DOWN);
      this.#refused(route, type, source, SHUTTING_DOWN.code);
      return;
    }
    if (type === "cancel" && source.cancel !== undefined) {
      source.cancel(id, header.ref);
      return;
    }
    if (route === undefined || (route.stream && !source.streams)) {
      discard(body);
      const message =
        route === undefined
          ? `unknown request type ${quote(type)}`
          : `request type ${quote(type)} streams its body and needs a stream transport, not udp`;
      source.refuse(id, { code: ErrorCode.UNKNOWN_TYPE, message });
      this.#refused(route, type, source, ErrorCode.UNKNOWN_TYPE);
      return;
    }
    const ctx = source.context(id, type);
    const start = this.timing.start();
    this.#inFlight += 1;
    source.started(ctx);
    let result: ReplyInit | void | Promise<ReplyInit | void>;
    try {
      result = route.handler(header, body, ctx);
    } catch (err) {
      this.#settle(source, ctx, body, false, err, start, true);
      return;
    }
    if (result !== undefined && result !== null && typeof (result as Promise<unknown>).then === "function") {
      source.track(ctx);
      let settled = false;
      // A thenable that calls back twice (a handler's own promise type) must not settle a request twice.
      (result as Promise<ReplyInit | void>).then(
        (reply) => {
          if (settled) return;
          settled = true;
          this.#settle(source, ctx, body, true, reply, start, false);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          this.#settle(source, ctx, body, false, err, start, false);
        },
      );
    } else {
      this.#settle(source, ctx, body, true, result, start, true);
    }
  }

  /**
   * `ok`: `value` is the handler's reply; otherwise what it threw. `start`: the tick clock if published, else -1.
   * `sameTick`: the handler answered before returning.
   */
  #settle(source: RequestSource, ctx: RequestContext, body: Buffer | Readable, ok: boolean, value: unknown, start: number, sameTick: boolean): void {
    this.#inFlight -= 1;
    discard(body);
    let code: string | null = null;
    try {
      if (ok) source.finish(ctx, (value as ReplyInit | void) ?? undefined, undefined);
      else {
        const error = toWireError(value, source.logger, { id: ctx.id, type: ctx.type });
        code = error.code;
        source.finish(ctx, undefined, error);
      }
    } catch (err) {
      // A source must not throw; if one does, the request is still over and the process must go on.
      source.logger.error({ err, id: ctx.id, type: ctx.type }, "writing a reply failed");
    }
    this.timing.end(ctx.type, ctx.type, source.transport, code, start, sameTick);
    if (this.#inFlight === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /**
   * A request no handler ran for: told with its input's other answers, so the channel keeps their order. A type
   * the server does not serve (no `route`) is counted as "(other)".
   */
  #refused(route: Route | undefined, type: string, source: RequestSource, code: string): void {
    this.timing.end(route === undefined ? OTHER : type, type, source.transport, code, this.timing.start(), true);
  }
}

/** A streamed body its handler did not read to the end is read and dropped, so the connection can go on. */
function discard(body: Buffer | Readable): void {
  if (body instanceof Readable && !body.readableEnded && !body.destroyed) body.resume();
}
