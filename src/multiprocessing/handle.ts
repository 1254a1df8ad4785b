/**
 * The base of every process-shared object a user holds: a reference to its state in a broker (the process that
 * created it, or a Manager), and the one place that sends operations there: straight to the broker's objects
 * when this process is the broker, as frames over its socket otherwise. Passing a handle to a child
 * (`new Process(t, [lock])`, `pool.submit(t, queue)`) sends only the reference (see src/pool/reduce.ts).
 */
import { ErrorCode } from "../errors/index.js";
import { kReduce, type Reduction } from "../pool/reduce.js";
import { waitOptionsError, type WaitOptions } from "../sync/options.js";
import { Broker, type Address } from "./broker.js";
import { BrokerClient } from "./client.js";

/** What travels to another process: enough to find the object's broker and the object in it. */
export interface Ref {
  readonly kind: string;
  readonly id: number;
  readonly address: Address;
  /** The broker's auth key, hex. */
  readonly authkey: string;
  /** Per-kind detail known at creation (a Pipe end's number, a Barrier's parties). */
  readonly extra?: unknown;
}

const REVIVER = new URL("./revive.js", import.meta.url).href;
const classes = new Map<string, new () => SharedObject>();
let reviving: Ref | undefined;

/** Registers the handle class of `kind` so that references of that kind can be revived. */
export function registerHandle(kind: string, Class: abstract new (...args: never[]) => SharedObject): void {
  classes.set(kind, Class as unknown as new () => SharedObject);
}

/** Builds the handle of `ref` in this process (a child reviving an argument, or a Manager's proxy). */
export function handleFor<T extends SharedObject>(ref: Ref): T {
  const Class = classes.get(ref.kind);
  if (Class === undefined) throw new TypeError(`unknown shared object kind "${ref.kind}"`);
  reviving = ref;
  try {
    return new Class() as T;
  } finally {
    reviving = undefined;
  }
}

/** Options of one operation sent to the broker. */
interface CallOptions {
  /** The op may wait for other processes. */
  waits?: boolean;
  signal?: AbortSignal | undefined;
}

/**
 * A handle of a process-shared object. Every method returns a promise: each is a message to the process that
 * holds the state, unless that process is this one.
 */
export abstract class SharedObject {
  readonly #ref: Ref;
  readonly #broker: Broker | undefined;
  #client: BrokerClient | undefined;

  /**
   * Creates the object in this process's broker with `init()` as its arguments, or, while reviving, attaches to
   * an existing one.
   */
  protected constructor(kind: string, init: () => unknown[], extra?: () => unknown) {
    if (reviving !== undefined) {
      this.#ref = reviving;
      reviving = undefined;
      this.#broker = Broker.find(this.#ref.address);
      return;
    }
    const broker = Broker.forProcess();
    const id = broker.create(kind, init());
    this.#ref = { kind, id, address: broker.address, authkey: broker.authkey.toString("hex"), extra: extra?.() };
    this.#broker = broker;
  }

  /** The reference that identifies this object in any process. @internal */
  get ref(): Ref {
    return this.#ref;
  }

  /** True when this process holds the object's state (no message is needed). */
  protected get isLocal(): boolean {
    return this.#broker !== undefined;
  }

  /** The connection to this object's broker (only when {@link isLocal} is false). */
  protected get client(): BrokerClient {
    return this.#remote();
  }

  /** Sends `op` and resolves with its result. */
  protected call(op: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    const signal = options?.signal;
    if (this.#broker !== undefined) {
      try {
        const broker = this.#broker;
        const result = broker.invoke(broker.localSession, this.#ref.id, op, args, signal);
        return result instanceof Promise ? broker.trackLocalWait(result) : Promise.resolve(result);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const promise = this.#remote().request(this.#ref.id, op, args, options);
    if (signal === undefined) return promise;
    return promise.catch((error: { code?: unknown }) => {
      // The broker cancelled the wait at our request: fail the way an in-loop wait does, with the reason.
      throw signal.aborted && error?.code === ErrorCode.CANCELLED ? signal.reason : error;
    });
  }

  /** Sends `op` and returns at once; nothing reports its failure. */
  protected post(op: string, args: unknown[]): void {
    if (this.#broker !== undefined) {
      void this.call(op, args).catch(() => {});
      return;
    }
    this.#remote().post(this.#ref.id, op, args);
  }

  /** Records that this process took (`n` > 0) or gave back (`n` < 0) `n` locks or permits of this object. */
  protected noteHeld(n: number): void {
    if (this.#broker === undefined) this.#remote().noteHeld(this.#ref.id, n);
  }

  /**
   * Releases `n`: posted without a reply when this process is known to hold at least `n` (such a release
   * cannot fail), sent as a request otherwise, so that a wrong release still rejects with its error.
   */
  protected releaseHeld(op: string, args: unknown[], n: number): Promise<void> {
    if (this.#broker === undefined && this.#remote().held(this.#ref.id) >= n) {
      this.#remote().noteHeld(this.#ref.id, -n);
      try {
        this.#remote().post(this.#ref.id, op, args);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    return this.call(op, args) as Promise<void>;
  }

  /** Validates wait options (a rejection, never a throw) and calls a waiting op with `[timeout, ...]`. */
  protected waitOp(op: string, options: WaitOptions | undefined, args: unknown[] = []): Promise<unknown> {
    const invalid = waitOptionsError(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    const timeout = options?.timeout === Infinity ? undefined : options?.timeout;
    return this.call(op, [...args, timeout], { waits: timeout !== 0, signal: options?.signal });
  }

  /** @internal How the pool passes this handle to a child process. */
  [kReduce](): Reduction {
    return { url: REVIVER, name: "revive", state: this.#ref };
  }

  #remote(): BrokerClient {
    return (this.#client ??= BrokerClient.for(this.#ref.address, Buffer.from(this.#ref.authkey, "hex")));
  }
}
