/**
 * Manager: a server process that holds shared objects and hands out proxies, `multiprocessing.Manager`.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { registerDaemon } from "../pool/children.js";
import type { Address } from "./broker.js";
import { BrokerClient } from "./client.js";
import { BrokerGoneError } from "./errors.js";
import { handleFor, type Ref, type SharedObject } from "./handle.js";
import type { BarrierOptions, Condition, Event, Barrier } from "./event.js";
import type { Lock, RLock } from "./lock.js";
import type { DictProxy, ListProxy, NamespaceProxy } from "./proxies.js";
import type { JoinableQueue, Queue, QueueOptions } from "./queue.js";
import type { BoundedSemaphore, Semaphore } from "./semaphore.js";
import "./revive.js";

const serverPath = new URL("./manager-server.js", import.meta.url);

/** Options of {@link Manager}. */
export interface ManagerOptions {
  /**
   * A TCP address to listen on, so that processes of other machines can {@link Manager.connect} (port 0 picks a
   * free port). Default: a Unix socket in a private temp folder.
   */
  address?: { host: string; port: number } | undefined;
  /** The shared secret connecting processes must know (string or bytes). Default: 32 random bytes. */
  authkey?: string | Uint8Array | undefined;
}

/** Options of {@link Manager.connect}. */
export interface ManagerConnectOptions {
  address: Address;
  authkey: string | Uint8Array;
}

function keyBytes(authkey: string | Uint8Array | undefined, name: string): Buffer {
  if (authkey === undefined) return randomBytes(32);
  if (typeof authkey === "string") return Buffer.from(authkey, "utf8");
  if (authkey instanceof Uint8Array) return Buffer.from(authkey);
  throw new TypeError(`${name} must be a string or a Uint8Array`);
}

/**
 * Starts a server process that holds dicts, lists, queues, locks and namespaces, and hands out proxies to them.
 * Proxies pass to children like the primitives; every proxy method is async. The server dies with this process;
 * with an `address` and an `authkey`, processes of other machines reach it with {@link Manager.connect} (over
 * wharf frames on TCP, each connection proving it knows the key with an HMAC challenge, never sending it).
 *
 * @example
 * ```ts
 * const m = new Manager();
 * await m.start();
 * const d = await m.dict<string, number>();
 * await d.set("hits", 0);
 * await m.shutdown();
 * ```
 */
export class Manager {
  readonly #options: ManagerOptions;
  readonly #authkey: Buffer;
  #child: ChildProcess | undefined;
  #address: Address | undefined;
  #client: BrokerClient | undefined;

  constructor(options: ManagerOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    this.#options = options;
    this.#authkey = keyBytes(options.authkey, "options.authkey");
  }

  /**
   * Connects to a Manager started elsewhere (another process or machine). Rejects with `AuthkeyError`
   * (E_AUTHKEY) for a wrong key, `BrokerGoneError` if nothing answers.
   *
   * @example
   * ```ts
   * const m = await Manager.connect({ address: { host: "10.0.0.5", port: 50000 }, authkey: "secret" });
   * const jobs = await m.Queue();
   * ```
   */
  static async connect(options: ManagerConnectOptions): Promise<Manager> {
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    const manager = new Manager({ authkey: keyBytes(options.authkey, "options.authkey") });
    manager.#address = options.address;
    manager.#client = BrokerClient.for(options.address, manager.#authkey);
    await manager.#client.ready();
    return manager;
  }

  /** Where the server listens (after `start()`). */
  get address(): Address | undefined {
    return this.#address;
  }

  /** The server process's id (after `start()`; undefined for a connected manager). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The auth key (bytes). */
  get authkey(): Buffer {
    return this.#authkey;
  }

  /**
   * Starts the server process and waits until it listens.
   *
   * @example
   * ```ts
   * await manager.start();
   * ```
   */
  async start(): Promise<void> {
    if (this.#child !== undefined || this.#client !== undefined) throw new TypeError("the manager is already started");
    const child = fork(serverPath, [], { execArgv: [], serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.#child = child;
    registerDaemon(child);
    const address = this.#options.address;
    child.send({ host: address?.host, port: address?.port, authkey: this.#authkey.toString("hex") });
    const reply = await new Promise<{ address?: Address; error?: { message: string } }>((resolve) => {
      child.once("message", resolve);
      child.once("exit", (code) => resolve({ error: { message: `the manager process exited with code ${code}` } }));
    });
    if (reply.error !== undefined || reply.address === undefined) {
      throw new BrokerGoneError(`the manager could not start: ${reply.error?.message}`);
    }
    this.#address = reply.address;
    this.#client = BrokerClient.for(reply.address, this.#authkey);
    // The server must not keep this process alive; waiting proxies keep their own connection referenced.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  /**
   * Stops the server process; proxies then fail with `BrokerGoneError`. Idempotent.
   *
   * @example
   * ```ts
   * await manager.shutdown();
   * ```
   */
  async shutdown(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.ref();
    if (child.connected) child.send({ shutdown: true });
    else child.kill("SIGTERM");
    await exited;
  }

  async #create<T extends SharedObject>(kind: string, init: unknown[], extra?: unknown): Promise<T> {
    if (this.#client === undefined) throw new TypeError("start() or connect() the manager first");
    const id = await this.#client.create(kind, init);
    const ref: Ref = { kind, id, address: this.#address!, authkey: this.#authkey.toString("hex"), extra };
    return handleFor<T>(ref);
  }

  /** A shared Map. @example `const d = await m.dict();` */
  dict<K = unknown, V = unknown>(): Promise<DictProxy<K, V>> {
    return this.#create("dict", []);
  }
  /** A shared array, optionally filled with `items`. @example `const l = await m.list([1, 2]);` */
  async list<T = unknown>(items: readonly T[] = []): Promise<ListProxy<T>> {
    const list = await this.#create<ListProxy<T>>("list", []);
    if (items.length > 0) await list.extend(items);
    return list;
  }
  /** A shared Namespace with `init`'s attributes. @example `const ns = await m.Namespace({ x: 0 });` */
  Namespace(init: Record<string, unknown> = {}): Promise<NamespaceProxy> {
    return this.#create("Namespace", [init]);
  }
  /** A Queue held by the manager. @example `const q = await m.Queue();` */
  Queue<T = unknown>(options: QueueOptions = {}): Promise<Queue<T>> {
    return this.#create("Queue", [options.maxsize ?? 0], options.maxsize ?? 0);
  }
  /** A JoinableQueue held by the manager. @example `const q = await m.JoinableQueue();` */
  JoinableQueue<T = unknown>(options: QueueOptions = {}): Promise<JoinableQueue<T>> {
    return this.#create("JoinableQueue", [options.maxsize ?? 0], options.maxsize ?? 0);
  }
  /** A Lock held by the manager. @example `const lock = await m.Lock();` */
  Lock(): Promise<Lock> {
    return this.#create("Lock", []);
  }
  /** An RLock held by the manager. @example `const rlock = await m.RLock();` */
  RLock(): Promise<RLock> {
    return this.#create("RLock", []);
  }
  /** A Semaphore held by the manager. @example `const sem = await m.Semaphore(5);` */
  Semaphore(value = 1): Promise<Semaphore> {
    return this.#create("Semaphore", [value]);
  }
  /** A BoundedSemaphore held by the manager. @example `const sem = await m.BoundedSemaphore(5);` */
  BoundedSemaphore(value = 1): Promise<BoundedSemaphore> {
    return this.#create("BoundedSemaphore", [value]);
  }
  /** An Event held by the manager. @example `const ev = await m.Event();` */
  Event(): Promise<Event> {
    return this.#create("Event", []);
  }
  /** A Condition (over a new RLock) held by the manager. @example `const cond = await m.Condition();` */
  Condition(): Promise<Condition> {
    return this.#create("Condition", [undefined]);
  }
  /** A Barrier held by the manager. @example `const b = await m.Barrier(3);` */
  Barrier(parties: number, options: BarrierOptions = {}): Promise<Barrier> {
    return this.#create("Barrier", [parties, options.timeout], parties);
  }
}
