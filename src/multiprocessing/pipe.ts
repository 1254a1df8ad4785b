/**
 * Pipe: two connected ends that processes send values through, `multiprocessing.Pipe`.
 */
import { waitOptionsError, type WaitOptions } from "../sync/options.js";
import { handleFor, registerHandle, SharedObject } from "./handle.js";
import { AttachedEnd } from "./pipe-end.js";
import "./objects/pipe-state.js";

/** Options of {@link Connection.recv}: an abort signal; wait with a timeout through `poll()`. */
export interface RecvOptions {
  signal?: AbortSignal | undefined;
}

/**
 * One end of a {@link Pipe}. Give each end to one process. An end belongs to the first process that uses it:
 * outside the process that made the pipe, the values sent to it are pushed to that process as they are sent
 * (its `recv()` and `poll()` cost no message), and another process that tries to read it gets E_PIPE_CLOSED.
 * When the owner dies (or calls `close()`), the other end's `recv()` returns what was already sent and then
 * rejects with `PipeClosedError` (E_PIPE_CLOSED), Python's `EOFError`.
 *
 * @example
 * ```ts
 * const [parent, child] = Pipe();
 * new Process(task(new URL("./echo.js", import.meta.url), "echo"), [child]).start();
 * await parent.send("ping");
 * console.log(await parent.recv());
 * ```
 */
export class Connection<T = unknown> extends SharedObject {
  #attachedEnd: AttachedEnd | undefined;

  /** @internal Ends are made by {@link Pipe}. */
  constructor() {
    super("Connection", () => {
      throw new TypeError("use Pipe() to make connections");
    });
  }

  get #end(): 0 | 1 {
    return this.ref.extra as 0 | 1;
  }

  /** This end in a process other than the broker's: attached on first use (pipe-end.ts). */
  get #attached(): AttachedEnd {
    return (this.#attachedEnd ??= new AttachedEnd(this.client, this.ref.id, this.#end));
  }

  /**
   * Sends a value (structured clone) to the other end; values of one process arrive in order. Like Python's
   * `send()`, it does not wait for the other side: from a child it resolves once the value is on its way (a
   * child's task does not end before its sends arrived). A send to a closed pipe is dropped, and the closed end
   * is reported by this end's next `recv()` (drained first) or `poll()`, as E_PIPE_CLOSED; in the process that
   * made the pipe it rejects at once.
   *
   * @example
   * ```ts
   * await conn.send({ hello: "world" });
   * ```
   */
  send(value: T): Promise<void> {
    if (this.isLocal) return this.call("send", [this.#end, value]) as Promise<void>;
    try {
      this.#attached.send(value);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /**
   * Waits for the next value from the other end. Rejects with `PipeClosedError` once the other end is closed
   * and nothing is left, `signal.reason` on abort.
   *
   * @example
   * ```ts
   * const reply = await conn.recv();
   * ```
   */
  recv(options?: RecvOptions): Promise<T> {
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (!this.isLocal) {
      try {
        return this.#attached.recv(options?.signal) as Promise<T>;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.call("recv", [this.#end], { waits: true, signal: options?.signal }) as Promise<T>;
  }

  /**
   * True if a value (or the end of the stream) is waiting; waits up to `timeout` ms (default 0: only checks).
   *
   * @example
   * ```ts
   * if (await conn.poll({ timeout: 100 })) console.log(await conn.recv());
   * ```
   */
  poll(options: WaitOptions = { timeout: 0 }): Promise<boolean> {
    if (this.isLocal) return this.waitOp("poll", options, [this.#end]) as Promise<boolean>;
    const invalid = waitOptionsError(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    try {
      return Promise.resolve(this.#attached.poll(options.timeout === Infinity ? undefined : options.timeout, options.signal));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Closes this end; the other end drains and then sees E_PIPE_CLOSED. @example `await conn.close();` */
  close(): Promise<void> {
    if (!this.isLocal) return this.#attached.close();
    return this.call("close", [this.#end]) as Promise<void>;
  }
}

/**
 * Makes a pipe and returns its two ends. Duplex (default): both ends send and receive. With `duplex: false`
 * the first end only receives and the second only sends, as in Python.
 *
 * @example
 * ```ts
 * const [a, b] = Pipe();
 * await b.send(1);
 * console.log(await a.recv()); // 1
 * ```
 */
export function Pipe<T = unknown>(duplex = true): [Connection<T>, Connection<T>] {
  if (typeof duplex !== "boolean") throw new TypeError("duplex must be a boolean");
  const state = new PipeHolder(duplex);
  const end = (n: 0 | 1): Connection<T> => handleFor<Connection<T>>({ ...state.ref, kind: "Connection", extra: n });
  return [end(0), end(1)];
}

/** The handle that creates a pipe's state; users only see its two ends. */
class PipeHolder extends SharedObject {
  constructor(duplex: boolean) {
    super("Pipe", () => [duplex]);
  }
}

registerHandle("Connection", Connection);
