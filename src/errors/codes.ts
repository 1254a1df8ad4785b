/**
 * The code constants of the layers below the services: wire, server and client (`ErrorCode`), `wharf/sync`
 * (`SyncErrorCode`) and `wharf/pool` (`PoolErrorCode`). A code that two layers share, `E_TIMEOUT` and
 * `E_CANCELLED`, is spelled once, here, and the others point at it. Services keep their own `XxxErrorCode`
 * objects beside their code; {@link ERROR_CODES} (registry.ts) lists every code of every layer with its meaning.
 *
 * @module
 */

/** Every error code of the wire, server and client layers. Services add their own (see docs/errors.md). */
export const ErrorCode = {
  /** A header length or body size above the receiver's limit. */
  FRAME_TOO_LARGE: "E_FRAME_TOO_LARGE",
  /** The header is not UTF-8 JSON, not an object, or lacks a valid `type` or `id`. */
  BAD_HEADER: "E_BAD_HEADER",
  /** `size` is not a non-negative safe integer, or does not match a datagram's length. */
  BAD_SIZE: "E_BAD_SIZE",
  /** A datagram or stream ended in the middle of a frame. */
  TRUNCATED: "E_TRUNCATED",
  /** No handler is registered for the request's `type`. */
  UNKNOWN_TYPE: "E_UNKNOWN_TYPE",
  /** A handler failed with an error that is not a WharfError. */
  INTERNAL: "E_INTERNAL",
  /** The server is shutting down and takes no new requests. */
  SHUTTING_DOWN: "E_SHUTTING_DOWN",
  /** The server already serves its maximum number of connections. */
  TOO_MANY_CONNECTIONS: "E_TOO_MANY_CONNECTIONS",
  /** The connection was idle for longer than the server allows. */
  IDLE_TIMEOUT: "E_IDLE_TIMEOUT",
  /** A UDP reply would be more than 3x its request datagram: ask again padded, or over a stream transport. */
  USE_STREAM: "E_USE_STREAM",
  /** The client gave up waiting for a reply (also: any wait of sync or pool that ran out of time). */
  TIMEOUT: "E_TIMEOUT",
  /** The caller aborted the request through its AbortSignal (also: a cancelled future or RPC call). */
  CANCELLED: "E_CANCELLED",
  /** The connection closed before the reply arrived. */
  CONNECTION_CLOSED: "E_CONNECTION_CLOSED",
  /** The client could not connect to the server. */
  CONNECT: "E_CONNECT",
  /** The peer sent a reply that breaks the protocol. */
  PROTOCOL: "E_PROTOCOL",
  /** `--proxy-protocol`: a connection from an untrusted address, or without a valid PROXY header. */
  PROXY_HEADER: "E_PROXY_HEADER",
  /** A shared store the request needs (Redis, `wharf serve --redis`) is unreachable; retry later. */
  UNAVAILABLE: "E_UNAVAILABLE",
} as const;

/** Error codes of `wharf/sync` (the classes are in src/sync/errors.ts). */
export const SyncErrorCode = {
  /** Release of a lock that is not held; wait/notify on a Condition without its lock. */
  NOT_HELD: "E_NOT_HELD",
  /** An RLock released by an async context that does not own it. */
  NOT_OWNER: "E_NOT_OWNER",
  /** A bounded semaphore released past its initial value. */
  TOO_MANY_RELEASES: "E_TOO_MANY_RELEASES",
  /** `taskDone()` called more times than items were put. */
  TOO_MANY_TASK_DONE: "E_TOO_MANY_TASK_DONE",
  /** A put on a full queue that could not wait (or whose timeout ran out). */
  QUEUE_FULL: "E_QUEUE_FULL",
  /** A get on an empty queue that could not wait (or whose timeout ran out). */
  QUEUE_EMPTY: "E_QUEUE_EMPTY",
  /** A put on a shut-down queue, or a get on one that is shut down and drained. */
  QUEUE_SHUT_DOWN: "E_QUEUE_SHUT_DOWN",
  /** A wait on a broken barrier. */
  BROKEN_BARRIER: "E_BROKEN_BARRIER",
  /** `runExclusive(fn, { timeout })` could not acquire in time. */
  TIMEOUT: ErrorCode.TIMEOUT,
  /** A SharedQueue item larger than its slot. */
  ITEM_TOO_LARGE: "E_ITEM_TOO_LARGE",
} as const;

/** Error codes of `wharf/pool` (the classes are in src/pool/errors.ts). */
export const PoolErrorCode = {
  /** A wait for a future's result ran out of time; the task keeps running. */
  TIMEOUT: ErrorCode.TIMEOUT,
  /** The future was cancelled before it started. */
  CANCELLED: ErrorCode.CANCELLED,
  /** The worker thread or child process running the task died. */
  WORKER_DIED: "E_WORKER_DIED",
  /** `submit()` or `map()` after `shutdown()`. */
  SHUTDOWN: "E_SHUTDOWN",
  /** The task's module or export could not be found. */
  TASK_NOT_FOUND: "E_TASK_NOT_FOUND",
  /** A Process started twice, or joined before it started. */
  PROCESS_STATE: "E_PROCESS_STATE",
} as const;

/** Error codes of `wharf/multiprocessing` (the classes are in src/multiprocessing/errors.ts). */
export const MultiprocessingErrorCode = {
  /** The process that holds a process-shared object (its creator, or a Manager) exited or closed the connection. */
  BROKER_GONE: "E_BROKER_GONE",
  /** A connection to a broker or Manager that presented the wrong auth key. */
  AUTHKEY: "E_AUTHKEY",
  /** `recv()` on a Pipe end whose other end is closed and nothing is left to read, or a send on a closed end. */
  PIPE_CLOSED: "E_PIPE_CLOSED",
} as const;
