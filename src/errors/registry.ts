import { ErrorCode, MultiprocessingErrorCode, PoolErrorCode, SyncErrorCode } from "./codes.js";

/** Where a code comes from: a layer of the runtime or a service. */
export type ErrorLayer = "wire" | "server" | "client" | "sync" | "pool" | "multiprocessing" | "accounts" | "files" | "chat" | "exec" | "rpc" | "cli";

/** One entry of {@link ERROR_CODES}. */
export interface ErrorCodeInfo {
  /** The code as it travels on the wire, e.g. `E_TIMEOUT`. */
  readonly code: string;
  /** Every layer or service that raises it (a code shared by several means the same thing in each). */
  readonly layers: readonly ErrorLayer[];
  /** What it means, in one line (docs/errors.md says what to do about it). */
  readonly meaning: string;
}

const entry = (code: string, layers: ErrorLayer[], meaning: string): ErrorCodeInfo => Object.freeze({ code, layers: Object.freeze(layers), meaning });

/**
 * Every error code of wharf, of every layer and service, with a one-line meaning: the one list that
 * docs/errors.md is checked against (test/errors/registry.test.ts). It lives at the bottom floor, which imports
 * nothing from the rest of wharf, so the services' codes are spelled here as strings; the same test checks them
 * against each service's own `XxxErrorCode` object, so neither list can drift from the other.
 *
 * A new code goes in three places: the `XxxErrorCode` object of its layer or service, this list, and
 * docs/errors.md.
 *
 * @example
 * ```ts
 * import { describeErrorCode } from "wharf/wire";
 * describeErrorCode("E_USE_STREAM")?.meaning; // "a UDP reply would be more than 3x its request ..."
 * ```
 */
export const ERROR_CODES: readonly ErrorCodeInfo[] = Object.freeze([
  // wire, server, client (src/errors/codes.ts ErrorCode)
  entry(ErrorCode.FRAME_TOO_LARGE, ["wire"], "a header length or body size above the receiver's limit, or a reply that does not fit one datagram"),
  entry(ErrorCode.BAD_HEADER, ["wire"], "the header is not UTF-8 JSON, not an object, or lacks a valid type or id"),
  entry(ErrorCode.BAD_SIZE, ["wire"], "size is not a non-negative safe integer, or does not match a datagram's length"),
  entry(ErrorCode.TRUNCATED, ["wire"], "a datagram or stream ended in the middle of a frame"),
  entry(ErrorCode.UNKNOWN_TYPE, ["server"], "no handler for the request's type (or a streamed type over UDP)"),
  entry(ErrorCode.INTERNAL, ["server", "rpc"], "a handler failed with an error that is not a WharfError"),
  entry(ErrorCode.SHUTTING_DOWN, ["server", "rpc"], "the server is shutting down and takes no new requests"),
  entry(ErrorCode.TOO_MANY_CONNECTIONS, ["server"], "the server already serves its maximum number of connections"),
  entry(ErrorCode.IDLE_TIMEOUT, ["server"], "the connection was idle, or a header trickled in, for too long"),
  entry(ErrorCode.USE_STREAM, ["server"], "a UDP reply would be more than 3x its request datagram: pad the request or use a stream transport"),
  entry(ErrorCode.TIMEOUT, ["client", "sync", "pool"], "a wait ran out of time: no reply, no lock, no result in time"),
  entry(ErrorCode.CANCELLED, ["client", "pool", "rpc"], "the operation was aborted by its caller (AbortSignal, cancel())"),
  entry(ErrorCode.CONNECTION_CLOSED, ["client"], "the connection closed before the reply arrived"),
  entry(ErrorCode.CONNECT, ["client"], "the server could not be reached"),
  entry(ErrorCode.PROTOCOL, ["client"], "the peer sent a reply that breaks the protocol"),
  entry(ErrorCode.PROXY_HEADER, ["server"], "with --proxy-protocol: a connection from an untrusted address, or without a valid PROXY header"),
  entry(ErrorCode.UNAVAILABLE, ["server"], "a shared store the request needs (Redis) is unreachable; retry later"),
  // wharf/sync (SyncErrorCode)
  entry(SyncErrorCode.NOT_HELD, ["sync"], "release of a lock that is not held; Condition wait/notify without its lock"),
  entry(SyncErrorCode.NOT_OWNER, ["sync"], "an RLock released by an async context that does not own it"),
  entry(SyncErrorCode.TOO_MANY_RELEASES, ["sync"], "a bounded semaphore released past its initial value"),
  entry(SyncErrorCode.TOO_MANY_TASK_DONE, ["sync"], "taskDone() called more times than items were put"),
  entry(SyncErrorCode.QUEUE_FULL, ["sync"], "a put on a full queue that could not wait, or whose timeout ran out"),
  entry(SyncErrorCode.QUEUE_EMPTY, ["sync"], "a get on an empty queue that could not wait, or whose timeout ran out"),
  entry(SyncErrorCode.QUEUE_SHUT_DOWN, ["sync"], "a put on a shut-down queue, or a get on one shut down and drained"),
  entry(SyncErrorCode.BROKEN_BARRIER, ["sync"], "a wait on a broken barrier"),
  entry(SyncErrorCode.ITEM_TOO_LARGE, ["sync"], "a SharedQueue item larger than its slot"),
  // wharf/pool (PoolErrorCode)
  entry(PoolErrorCode.WORKER_DIED, ["pool"], "the worker thread or child process running the task died"),
  entry(PoolErrorCode.SHUTDOWN, ["pool"], "submit() or map() after shutdown()"),
  entry(PoolErrorCode.TASK_NOT_FOUND, ["pool"], "the task's module could not be imported or lacks that export"),
  entry(PoolErrorCode.PROCESS_STATE, ["pool"], "a Process started twice, or joined before it started"),
  // wharf/multiprocessing (MultiprocessingErrorCode)
  entry(MultiprocessingErrorCode.BROKER_GONE, ["multiprocessing"], "the process holding a process-shared object (its creator or a Manager) exited or closed the connection"),
  entry(MultiprocessingErrorCode.AUTHKEY, ["multiprocessing"], "a connection to a broker or Manager presented the wrong auth key"),
  entry(MultiprocessingErrorCode.PIPE_CLOSED, ["multiprocessing"], "recv() on a Pipe end whose peer is closed and drained, or a send on a closed end"),
  // accounts (src/services/accounts/errors.ts AccountErrorCode)
  entry("E_AUTH", ["accounts"], "not logged in, or a wrong user name or password"),
  entry("E_FORBIDDEN", ["accounts"], "logged in, but this user may not do that"),
  entry("E_AUTH_THROTTLED", ["accounts"], "too many failed logins: wait and retry"),
  // several services
  entry("E_INVALID_PARAMS", ["files", "chat", "exec", "rpc"], "request fields or parameters are missing, malformed or fail a schema"),
  // files (FileErrorCode)
  entry("E_PATH", ["files"], "a remote path that leaves the home, is absolute, holds NUL or a reserved name"),
  entry("E_NOT_FOUND", ["files", "cli"], "no such file or directory (remote, or on this machine for the CLI)"),
  entry("E_EXISTS", ["files"], "something already exists at that path"),
  entry("E_NOT_EMPTY", ["files"], "a directory that is not empty (rm without recursive)"),
  entry("E_IS_DIR", ["files"], "a directory where a file is needed"),
  entry("E_NOT_DIR", ["files"], "a file where a directory is needed"),
  entry("E_QUOTA", ["files"], "the upload would take the user over their quota"),
  entry("E_NO_SPACE", ["files"], "the server's disk is full"),
  entry("E_BUSY", ["files"], "another upload to the same name is in progress"),
  entry("E_INTEGRITY", ["files"], "the sha256 of what was received differs from the sender's"),
  // chat (ChatErrorCode)
  entry("E_SLOW_CONSUMER", ["chat"], "the member did not read its messages and was disconnected"),
  entry("E_RATE_LIMITED", ["chat"], "too many sends or joins too fast"),
  entry("E_MESSAGE_TOO_LARGE", ["chat"], "a message body over the size limit"),
  entry("E_NOT_IN_ROOM", ["chat"], "a send to a room this client has not joined"),
  entry("E_USER_OFFLINE", ["chat"], "a direct message to a user with no chat client connected"),
  entry("E_ROOM_LIMIT", ["chat"], "the client is in as many rooms as allowed"),
  // exec (ExecErrorCode)
  entry("E_EXEC_NOT_ALLOWED", ["exec"], "the server's policy refuses this command"),
  entry("E_EXEC_BUSY", ["exec"], "the user already runs as many commands as allowed"),
  entry("E_EXEC_NOT_FOUND", ["exec"], "the program does not exist on the server's PATH"),
  entry("E_EXEC_SPAWN", ["exec"], "the program exists but could not be started"),
  entry("E_EXEC_TIMEOUT", ["exec"], "the command ran past its time limit and was killed"),
  entry("E_EXEC_OUTPUT_LIMIT", ["exec"], "the command wrote more than the output limit and was killed"),
  // the command line (src/cli/fail.ts CliErrorCode): failures on this machine
  entry("E_USAGE", ["cli"], "a bad flag, argument, URL or JSON argument (exit code 2)"),
  entry("E_LOCAL_IO", ["cli"], "a local file or folder could not be read or written"),
  // rpc (RpcErrorCode)
  entry("E_NO_METHOD", ["rpc"], "no RPC method of that name"),
  entry("E_DEADLINE", ["rpc"], "the call's deadline passed before it finished"),
  entry("E_RPC_BUDGET", ["rpc"], "a JSON-RPC batch exceeds its cost or reply-size budget"),
]);

const byCode = new Map(ERROR_CODES.map((info) => [info.code, info]));

/**
 * The registry's entry for a code, or undefined for a code wharf does not define (an RPC method may throw codes
 * of its own).
 *
 * @example
 * ```ts
 * describeErrorCode("E_TIMEOUT")?.layers; // ["client", "sync", "pool"]
 * ```
 */
export function describeErrorCode(code: string): ErrorCodeInfo | undefined {
  return byCode.get(code);
}
