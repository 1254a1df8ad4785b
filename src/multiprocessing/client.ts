/**
 * The other side of a broker: one connection per broker address per process, shared by every handle that
 * points there. Requests are pipelined and the frames of one tick leave in one write. The socket keeps the
 * process alive only while some request waits for its reply.
 */
import { connect, type Socket } from "node:net";
import { flushAtTaskEnd } from "../pool/task-end.js";
import { FrameDecoder, encodeFrameParts, type FrameHeader } from "../wire/index.js";
import { decodeValue, encodeArgs } from "./codec.js";
import { FrameWriter } from "./frame-writer.js";
import { addressKey, answerChallenge, type Address } from "./broker.js";
import { BrokerGoneError, errorFromWire } from "./errors.js";

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const clients = new Map<string, BrokerClient>();

/** An object of this process that takes frames the broker pushes for it (a Pipe end owned here). */
export interface PushListener {
  /** A `{ event: "push", to, ... }` frame for this listener; its value is in `v` or the body (codec.ts). */
  onPush(header: FrameHeader, body: Buffer): void;
  /** The broker is gone: nothing more will come. */
  onGone(error: Error): void;
}

/** Options of one request. */
export interface RequestOptions {
  /** The op may wait: the broker keeps an abort handle, and `signal` can cancel it. */
  waits?: boolean | undefined;
  /** Aborting sends a cancel; the promise then settles with whatever the broker answers. */
  signal?: AbortSignal | undefined;
}

/** A connection to one broker. */
export class BrokerClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #authkey: Buffer;
  readonly #key: string;
  /** Frames written before the broker's challenge arrived; null once authenticated. */
  #outbox: Buffer[][] | null = [];
  #nextId = 1;
  /** Locks and permits this process holds, by object id: see {@link BrokerClient.noteHeld}. */
  readonly #held = new Map<number, number>();
  #gone: Error | undefined;
  readonly #writer: FrameWriter;
  #refed = false;
  #unrefQueued = false;
  readonly #listeners = new Map<string, PushListener>();
  /** Waits of this process on pushed frames: they keep the socket ref'd like a pending request. */
  #holds = 0;

  /** The client of `address` in this process, connecting on first use. */
  static for(address: Address, authkey: Buffer): BrokerClient {
    // Keyed by the auth key too: a process may hold a right and a wrong key for one address.
    const key = `${addressKey(address)}#${authkey.toString("hex")}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = new BrokerClient(address, authkey, key);
      clients.set(key, client);
    }
    return client;
  }

  private constructor(address: Address, authkey: Buffer, key: string) {
    this.#authkey = authkey;
    this.#key = key;
    const decoder = new FrameDecoder({ onFrame: (header, body) => this.#onFrame(header, body) });
    // Reads land in one reused buffer and go straight to the decoder, past the Readable stream's machinery
    // (a 'data' event, its buffering and a read-more tick per read). The decoder may keep a partial frame's
    // bytes until the next read, so it gets a copy of what was read.
    const onread = {
      buffer: Buffer.allocUnsafe(64 * 1024),
      callback: (length: number, buffer: Buffer): boolean => {
        try {
          decoder.push(Buffer.from(buffer.subarray(0, length)));
        } catch (error) {
          this.#socket.destroy(error as Error);
        }
        return true;
      },
    };
    this.#socket = typeof address === "string" ? connect({ path: address, onread }) : connect({ port: address.port, host: address.host, onread });
    this.#socket.setNoDelay(true);
    this.#writer = new FrameWriter(this.#socket);
    this.#socket.unref();
    this.#socket.on("error", (error) => this.#fail(new BrokerGoneError(`lost the broker at ${addressKey(address)}: ${error.message}`, { cause: error })));
    this.#socket.once("close", () => this.#fail(new BrokerGoneError(`the broker at ${addressKey(address)} closed the connection`)));
  }

  /**
   * Sends `op` on object `object`; resolves with the broker's result. With `noReply` the frame is sent and
   * nothing waits for it (ordered before every later request of this process).
   */
  request(object: number, op: string, args: unknown[], options?: RequestOptions): Promise<unknown> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    const header: FrameHeader = options?.waits ? { type: op, id, o: object, w: 1 } : { type: op, id, o: object };
    const promise = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#send(header, encodeArgs(header, args));
    const signal = options?.signal;
    if (signal !== undefined) {
      const onAbort = (): void => this.#send({ type: "cancel", ref: id });
      signal.addEventListener("abort", onAbort, { once: true });
      void promise.then(
        () => signal.removeEventListener("abort", onAbort),
        () => signal.removeEventListener("abort", onAbort),
      );
    }
    this.#updateRef();
    return promise;
  }

  /** Creates an object of `kind` on the broker (a Manager); resolves its id. */
  create(kind: string, init: unknown[]): Promise<number> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    const promise = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    const header: FrameHeader = { type: "create", id, kind };
    this.#send(header, encodeArgs(header, init));
    this.#updateRef();
    return promise as Promise<number>;
  }

  /**
   * Counts `n` locks or permits of `object` as held by this process (`n` < 0: given back). A release by a
   * process that holds what it releases cannot fail, so it is posted without waiting for a reply: the next
   * acquire leaves in the same write, and a hand-over between two processes costs one hop instead of three.
   */
  noteHeld(object: number, n: number): void {
    const held = (this.#held.get(object) ?? 0) + n;
    if (held > 0) this.#held.set(object, held);
    else this.#held.delete(object);
  }

  /** How many locks or permits of `object` this process holds, as far as it knows. */
  held(object: number): number {
    return this.#held.get(object) ?? 0;
  }

  /** Routes the frames the broker pushes to `key` (a Pipe end: `"<pipe id>.<end>"`) to `listener`. */
  listen(key: string, listener: PushListener): void {
    if (this.#gone !== undefined) listener.onGone(this.#gone);
    else this.#listeners.set(key, listener);
  }

  /**
   * Counts a wait of this process for a pushed frame (`+1`) or its end (`-1`): while any is pending the
   * connection keeps the process alive, as a pending request does.
   */
  hold(n: 1 | -1): void {
    this.#holds += n;
    this.#updateRef();
  }

  /** Sends `op` without waiting for any reply. Failures of such ops are not reported. */
  post(object: number, op: string, args: unknown[]): void {
    if (this.#gone !== undefined) throw this.#gone;
    const header: FrameHeader = { type: op, id: this.#nextId++, o: object, n: 1 };
    this.#send(header, encodeArgs(header, args));
    // A child's task must not end (and its process exit) before the broker has what it posted.
    flushAtTaskEnd(this.#flush);
  }

  readonly #flush = (): Promise<void> => this.ready().catch(() => {});

  /** Resolves once the broker took every frame sent so far (or rejects if it is gone). */
  async ready(): Promise<void> {
    await this.request(0, "ping", []);
  }

  #send(header: FrameHeader, body?: Uint8Array): void {
    const parts = encodeFrameParts(header, body);
    if (this.#outbox !== null) {
      this.#outbox.push(parts);
      return;
    }
    this.#writer.write(parts);
  }

  #onFrame(header: FrameHeader, body: Buffer): void {
    if (header.event === "challenge") {
      const outbox = this.#outbox ?? [];
      this.#outbox = null;
      this.#pending.set(0, {
        resolve: () => {},
        reject: (error) => this.#fail(error as Error),
      });
      this.#send({ type: "hello", id: 0, pid: process.pid }, answerChallenge(this.#authkey, body));
      for (const parts of outbox) this.#writer.write(parts);
      return;
    }
    if (header.event === "push") {
      this.#listeners.get(header.to as string)?.onPush(header, body);
      return;
    }
    const id = header.id as number;
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    if (header.ok === true) pending.resolve(decodeValue(header, "v", body));
    else pending.reject(errorFromWire(header.error));
    this.#updateRef();
  }

  #fail(error: Error): void {
    if (this.#gone !== undefined) return;
    this.#gone = error;
    clients.delete(this.#key);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    const listeners = [...this.#listeners.values()];
    this.#listeners.clear();
    for (const listener of listeners) listener.onGone(error);
    this.#socket.destroy();
  }

  get #busy(): boolean {
    return this.#holds > 0 || this.#pending.size > (this.#pending.has(0) ? 1 : 0);
  }

  /**
   * Waiting replies keep the process alive; an idle connection does not. The unref waits for the next tick
   * (after this tick's promise reactions), so a loop of requests does not ref and unref the socket on every reply.
   */
  #updateRef(): void {
    if (this.#busy) {
      if (!this.#refed) {
        this.#refed = true;
        this.#socket.ref();
      }
    } else if (this.#refed && !this.#unrefQueued) {
      this.#unrefQueued = true;
      process.nextTick(this.#unrefIfIdle);
    }
  }

  readonly #unrefIfIdle = (): void => {
    this.#unrefQueued = false;
    if (this.#refed && !this.#busy) {
      this.#refed = false;
      this.#socket.unref();
    }
  };
}
