/**
 * A Pipe end owned by a process other than the pipe's broker: the values sent to it are pushed here by the broker
 * (objects/pipe-state.ts) and wait in a local inbox, so `recv()` and `poll()` cost no message; `send()` and
 * `close()` are posted to the broker. Attaching (the first use) is sent before anything else this process
 * sends on the end, so the broker knows where to push before the peer's next value.
 */
import { QueueShutDown } from "../sync/errors.js";
import { Queue } from "../sync/queue.js";
import { resolveFalse, WaitQueue } from "../sync/waiters.js";
import type { FrameHeader } from "../wire/index.js";
import type { BrokerClient, PushListener } from "./client.js";
import { decodeValue } from "./codec.js";
import { PipeClosedError } from "./errors.js";
import { pollAfterFrame } from "./poll-window.js";
import { pushKey } from "./objects/pipe-state.js";

/** The local side of an attached pipe end. */
export class AttachedEnd implements PushListener {
  readonly #client: BrokerClient;
  readonly #id: number;
  readonly #end: 0 | 1;
  readonly #inbox = new Queue<unknown>();
  readonly #pollers = new WaitQueue<boolean>();
  /** Why nothing more will arrive (the peer closed, or the broker is gone); set once. */
  #ended: Error | undefined;
  #closed = false;
  /**
   * The last value came from the broker's own process (`l: 1` on its push): only two processes take part in
   * this pipe's exchange, so a `recv()` that waits polls for the reply (poll-window.ts) instead of sleeping.
   * Between two children it does not: with the broker in the middle, three pollers would share two cores.
   */
  #peerAtBroker = false;

  constructor(client: BrokerClient, id: number, end: 0 | 1) {
    this.#client = client;
    this.#id = id;
    this.#end = end;
    client.listen(pushKey(id, end), this);
    // A request, not a post: an end another process already owns is refused, and its recv() must say so.
    client.request(id, "attach", [end]).catch((error: Error) => this.#endStream(error));
  }

  onPush(header: FrameHeader, body: Buffer): void {
    if (header.eof === 1) {
      this.#endStream(new PipeClosedError());
      return;
    }
    if (this.#ended !== undefined) return;
    this.#peerAtBroker = header.l === 1;
    this.#inbox.putNowait(decodeValue(header, "v", body));
    const poller = this.#pollers.shift();
    if (poller !== null) this.#pollers.grant(poller, true);
  }

  onGone(error: Error): void {
    this.#endStream(error);
  }

  /** Posts a value to the broker (which pushes it on to the other end). */
  send(value: unknown): void {
    if (this.#closed) throw new PipeClosedError("send() on a closed pipe end");
    this.#client.post(this.#id, "send", [this.#end, value]);
  }

  recv(signal: AbortSignal | undefined): Promise<unknown> {
    if (this.#closed) return Promise.reject(new PipeClosedError("recv() on a closed pipe end"));
    const inbox = this.#inbox;
    if (inbox.qsize() > 0) return Promise.resolve(inbox.getNowait());
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    this.#client.hold(1);
    if (this.#peerAtBroker) pollAfterFrame();
    return inbox.get({ signal }).then(
      (value) => {
        this.#client.hold(-1);
        return value;
      },
      (error: unknown) => {
        this.#client.hold(-1);
        throw error instanceof QueueShutDown ? (this.#ended ?? new PipeClosedError("recv() on a closed pipe end")) : error;
      },
    );
  }

  poll(timeout: number | undefined, signal: AbortSignal | undefined): boolean | Promise<boolean> {
    if (this.#closed) throw new PipeClosedError("poll() on a closed pipe end");
    if (this.#inbox.qsize() > 0 || this.#ended !== undefined) return true;
    if (timeout === 0) return false;
    this.#client.hold(1);
    const wait = this.#pollers.wait({ timeout, signal }, resolveFalse);
    const done = (): void => this.#client.hold(-1);
    wait.then(done, done);
    return wait;
  }

  /** Closes this end here and at the broker (which tells the peer); resolves once the broker took it. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#inbox.shutdown(true);
    for (let p = this.#pollers.shift(); p !== null; p = this.#pollers.shift()) this.#pollers.grant(p, true);
    return this.#client.request(this.#id, "close", [this.#end]) as Promise<void>;
  }

  #endStream(reason: Error): void {
    if (this.#ended !== undefined) return;
    this.#ended = reason;
    this.#inbox.shutdown(); // what arrived before is still read first
    for (let p = this.#pollers.shift(); p !== null; p = this.#pollers.shift()) this.#pollers.grant(p, true);
  }
}
