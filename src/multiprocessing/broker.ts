/**
 * The broker: the process that creates a process-shared object keeps its state and serves every other process
 * that holds it, over a Unix socket (or TCP, for a Manager reached from elsewhere) speaking wharf frames. Each
 * connection is a {@link Session}; when one closes (its process died or exited) the broker aborts its waits and
 * lets each object take back what it held, so a dead holder never blocks the others.
 *
 * Frames (docs/architecture.md, "Across processes"): a request `{ type: op, id, o: objectId, a?, w?: 1, n?: 1 }`
 * with its argument array in `a` or in the body (codec.ts); a reply `{ id, ok, v? }` with the result in `v` or in
 * the body, or
 * `{ id, ok: false, error: { code, message } }`. `w` marks an op that may wait (the broker keeps an abort handle
 * for it), `n` one that wants no reply. `{ type: "cancel", ref }` aborts the waiting op `ref`. The broker opens
 * with `{ event: "challenge" }` (32 random bytes) and the client answers `{ type: "hello", id: 0, pid }` with their
 * HMAC-SHA256 under the auth key, as Python's multiprocessing.connection does.
 *
 * A session ends when its socket closes. When the process that runs this broker sees one of its own children
 * exit (src/pool's child-exit channel), it withdraws that child's waits at once, before `join()` returns: the
 * socket's close may be read later than the exit, and an item put in between must not go to a dead consumer.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WharfError } from "../errors/index.js";
import { FrameDecoder, encodeFrameParts, type FrameHeader } from "../wire/index.js";
import { CHILD_EXIT_CHANNEL } from "../pool/children.js";
import { readCopies } from "../wire/read-into.js";
import { decodeArgs, encodeValue } from "./codec.js";
import { FrameWriter } from "./frame-writer.js";
import { pollAfterFrame } from "./poll-window.js";
import { OpSignal } from "./op-signal.js";
import { AuthkeyError, BrokerGoneError, errorToWire } from "./errors.js";

/** Where a broker listens: a Unix socket path, or a TCP host and port. */
export type Address = string | { host: string; port: number };

/** A connection to the broker, or the broker's own process (`local`), as the objects see it. */
export interface Session {
  readonly id: number;
  readonly local: boolean;
  /** Aborted when the session closes: for waits the broker starts on the session's behalf. */
  readonly closed: AbortSignal;
}

/** The broker-side state of one shared object. */
export interface BrokerObject {
  /** Runs one operation; may return a promise. Throws or rejects with a WharfError the caller should see. */
  call(session: Session, op: string, args: unknown[], signal: AbortSignal | undefined): unknown;
  /** The session's process is gone: give back what it held. Its waits were aborted just before. */
  sessionClosed?(session: Session): void;
}

/** Builds the state of a kind from its creation arguments; `id` is the object's id in `broker`. */
export type ObjectFactory = (init: unknown[], broker: Broker, id: number) => BrokerObject;

const factories = new Map<string, ObjectFactory>();

/** Registers a kind of shared object (done once per kind, by the module that defines it). */
export function defineKind(kind: string, factory: ObjectFactory): void {
  factories.set(kind, factory);
}

/** A stable string for an address, to find the client or broker of it. */
export function addressKey(address: Address): string {
  return typeof address === "string" ? `unix:${address}` : `tcp:${address.host}:${address.port}`;
}

/** The HMAC a client answers a challenge with. */
export function answerChallenge(authkey: Buffer, challenge: Buffer): Buffer {
  return createHmac("sha256", authkey).update(challenge).digest();
}

/** Options of {@link Broker.listen}. */
export interface BrokerListenOptions {
  /** A TCP address (a Manager reachable from other machines); default a Unix socket in a private temp folder. */
  address?: { host: string; port: number } | undefined;
  /** The shared secret every connecting process proves it knows; default 32 random bytes. */
  authkey?: Buffer | undefined;
}

interface RemoteSession extends Session {
  readonly socket: Socket;
  readonly abort: AbortController;
  readonly pending: Map<number, OpSignal>;
  authed: boolean;
  readonly writer: FrameWriter;
  /** The process on the other side, as its `hello` said. */
  pid?: number;
}

const brokers = new Map<string, Broker>();
let processBroker: Broker | undefined;

/**
 * Holds the shared objects of one process and serves them. Not public API: users meet it through the primitives
 * (which start this process's broker on first use) and through `Manager`.
 */
export class Broker {
  readonly objects = new Map<number, BrokerObject>();
  readonly localSession: Session = { id: 0, local: true, closed: new AbortController().signal };
  readonly sessions = new Set<RemoteSession>();
  #nextObject = 1;
  #nextSession = 1;
  #server: Server | undefined;
  #address: Address | undefined;
  #authkey: Buffer = randomBytes(32);
  #dir: string | undefined;
  /** Waits of this process on its own objects that have not settled yet: see {@link Broker.trackLocalWait}. */
  #localWaits = 0;
  /** The listener and sessions are ref'd (some local wait was pending at the last tick). */
  #refed = false;
  #unrefQueued = false;

  constructor() {
    subscribe(CHILD_EXIT_CHANNEL, this.#onChildExit);
  }

  /** The broker of this process for primitives made here (a Unix socket, started on first use). */
  static forProcess(): Broker {
    if (processBroker === undefined) {
      processBroker = new Broker();
      processBroker.listenUnixSync();
    }
    return processBroker;
  }

  /** The broker listening at `address` if it lives in this process. */
  static find(address: Address): Broker | undefined {
    return brokers.get(addressKey(address));
  }

  get address(): Address {
    if (this.#address === undefined) throw new Error("broker not listening");
    return this.#address;
  }

  get authkey(): Buffer {
    return this.#authkey;
  }

  /**
   * Listens on a fresh Unix socket. Synchronous so that a primitive knows its address the moment it exists:
   * binding a socket path does not wait on the event loop. The server does not keep the process alive.
   */
  listenUnixSync(): void {
    this.#dir = mkdtempSync(join(tmpdir(), "wharf-mp-"));
    const path = join(this.#dir, "broker.sock");
    this.#server = this.#makeServer();
    this.#server.listen(path);
    this.#server.unref();
    this.#address = path;
    brokers.set(addressKey(path), this);
    const dir = this.#dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }

  /** Listens on TCP (a Manager with an address) or a Unix socket; resolves once listening. */
  async listen(options: BrokerListenOptions = {}): Promise<Address> {
    if (options.authkey !== undefined) this.#authkey = options.authkey;
    if (options.address === undefined) {
      this.listenUnixSync();
      return this.address;
    }
    const server = (this.#server = this.#makeServer());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.address!.port, options.address!.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const info = server.address() as AddressInfo;
    this.#address = { host: options.address.host, port: info.port };
    brokers.set(addressKey(this.#address), this);
    return this.#address;
  }

  /** Stops listening and closes every session (their waits fail with E_BROKER_GONE on the other side). */
  close(): void {
    unsubscribe(CHILD_EXIT_CHANNEL, this.#onChildExit);
    this.#server?.close();
    for (const session of this.sessions) session.socket.destroy();
    if (this.#address !== undefined) brokers.delete(addressKey(this.#address));
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
  }

  /**
   * Counts a wait of this process on one of its objects until it settles. While any is pending, the listener
   * and the connections of other processes keep this process alive (only they can end the wait, as a Python
   * parent blocked in `q.get()` waits for its children, for ever if none comes); otherwise they do not, so that
   * idle pool children still connected never keep a finished program from exiting.
   */
  trackLocalWait<T>(wait: Promise<T>): Promise<T> {
    if (this.#localWaits++ === 0 && !this.#refed) {
      this.#refed = true;
      this.#refSessions(true);
    }
    const done = (): void => {
      if (--this.#localWaits === 0 && !this.#unrefQueued) {
        // Unref'd only if no wait started again before the next tick: a loop of send/recv round trips would
        // otherwise ref and unref every socket twice a round trip (6 us in a profile). A tick, not setImmediate:
        // an Immediate per round trip cost 3 us of CPU (the loop's check phase and its handle).
        this.#unrefQueued = true;
        process.nextTick(this.#unrefIfIdle);
      }
    };
    wait.then(done, done);
    return wait;
  }

  readonly #unrefIfIdle = (): void => {
    this.#unrefQueued = false;
    if (this.#localWaits === 0 && this.#refed) {
      this.#refed = false;
      this.#refSessions(false);
    }
  };

  #refSessions(ref: boolean): void {
    // The listener too: the process that will end the wait may not have connected yet.
    if (ref) this.#server?.ref();
    else this.#server?.unref();
    for (const session of this.sessions) {
      if (ref) session.socket.ref();
      else session.socket.unref();
    }
  }

  /** Creates an object of `kind` and returns its id. */
  create(kind: string, init: unknown[]): number {
    const factory = factories.get(kind);
    if (factory === undefined) throw new TypeError(`unknown shared object kind "${kind}"`);
    const id = this.#nextObject++;
    this.objects.set(id, factory(init, this, id));
    return id;
  }

  /** Runs an op for `session`; throws (or returns a rejecting promise) with the op's error. */
  invoke(session: Session, id: number, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    const object = this.objects.get(id);
    if (object === undefined) throw new BrokerGoneError(`no shared object ${id} in this broker`);
    return object.call(session, op, args, signal);
  }

  #makeServer(): Server {
    return createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  #accept(socket: Socket): void {
    const abort = new AbortController();
    const session: RemoteSession = {
      id: this.#nextSession++,
      local: false,
      closed: abort.signal,
      abort,
      socket,
      pending: new Map(),
      authed: false,
      writer: new FrameWriter(socket),
    };
    this.sessions.add(session);
    if (!this.#refed) socket.unref();
    const challenge = randomBytes(32);
    const decoder = new FrameDecoder({ onFrame: (header, body) => this.#onFrame(session, header, body, challenge) });
    const push = (chunk: Buffer): void => {
      pollAfterFrame();
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy(); // a peer that breaks the framing is not one of ours
      }
    };
    // Past the Readable stream (wire/read-into.ts): a Pipe round trip's broker side, 44 -> 40 us of CPU.
    readCopies(socket, push);
    socket.on("error", () => {});
    socket.once("close", () => this.#closeSession(session));
    this.#write(session, { event: "challenge" }, challenge);
  }

  #closeSession(session: RemoteSession): void {
    this.sessions.delete(session);
    // Waits first (a dead waiter must not be handed anything), then what the session held.
    this.#withdrawWaits(session, "the session closed");
    for (const object of this.objects.values()) object.sessionClosed?.(session);
  }

  #withdrawWaits(session: RemoteSession, why: string): void {
    session.abort.abort(new BrokerGoneError(why));
    for (const controller of session.pending.values()) controller.abort(new BrokerGoneError(why));
    session.pending.clear();
  }

  /**
   * A child of this process exited: its waits are withdrawn now, and later waiting ops from its session (frames
   * still unread in the socket) fail at once. What it holds is given back when the socket's close is read, after
   * every frame it sent before dying (a release, a put) has been taken.
   */
  readonly #onChildExit = (message: unknown): void => {
    const pid = (message as { pid?: number }).pid;
    for (const session of this.sessions) if (session.pid === pid) this.#withdrawWaits(session, "the session's process exited");
  };

  #onFrame(session: RemoteSession, header: FrameHeader, body: Buffer, challenge: Buffer): void {
    const id = header.id as number;
    if (!session.authed) {
      const expected = answerChallenge(this.#authkey, challenge);
      if (header.type === "hello" && body.length === expected.length && timingSafeEqual(body, expected)) {
        session.authed = true;
        if (typeof header.pid === "number") session.pid = header.pid;
        this.#write(session, { id, ok: true });
      } else {
        this.#write(session, { id, ok: false, error: new AuthkeyError().toWire() });
        session.writer.end();
      }
      return;
    }
    const type = header.type as string;
    if (type === "ping") {
      this.#write(session, { id, ok: true });
      return;
    }
    if (type === "cancel") {
      session.pending.get(header.ref as number)?.abort(new WharfError("E_CANCELLED", "cancelled by the caller"));
      return;
    }
    let result: unknown;
    let controller: OpSignal | undefined;
    try {
      const args = decodeArgs(header, body);
      if (type === "create") {
        result = this.create(header.kind as string, args);
      } else {
        if (header.w === 1) {
          controller = new OpSignal();
          if (session.closed.aborted) controller.abort(session.closed.reason as Error);
          else session.pending.set(id, controller);
        }
        result = this.invoke(session, header.o as number, type, args, controller?.signal);
      }
    } catch (error) {
      if (controller !== undefined) session.pending.delete(id);
      if (header.n !== 1) this.#write(session, { id, ok: false, error: errorToWire(error) });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.#settle(session, header, id, value, undefined),
        (error) => this.#settle(session, header, id, undefined, error ?? new Error("rejected")),
      );
    } else {
      this.#settle(session, header, id, result, undefined);
    }
  }

  #settle(session: RemoteSession, header: FrameHeader, id: number, value: unknown, error: unknown): void {
    if (header.w === 1) session.pending.delete(id);
    if (header.n === 1 || session.closed.aborted) return;
    if (error !== undefined) this.#write(session, { id, ok: false, error: errorToWire(error) });
    else {
      const reply: FrameHeader = { id, ok: true };
      this.#write(session, reply, encodeValue(reply, "v", value));
    }
  }

  /**
   * Sends `session` a frame it did not ask for (a Pipe pushing a value to the process that owns an end):
   * `header` plus `value` in its field `v` or in the body. Ordered with the session's replies.
   */
  push(session: Session, header: FrameHeader, value?: unknown): void {
    if (session.local) throw new TypeError("cannot push to the broker's own process");
    this.#write(session as RemoteSession, header, encodeValue(header, "v", value));
  }

  #write(session: RemoteSession, header: FrameHeader, body?: Uint8Array): void {
    if (session.socket.destroyed) return;
    pollAfterFrame();
    // Replies of one tick leave in one write: many waiters granted at once cost one syscall.
    session.writer.write(encodeFrameParts(header, body));
  }
}
