/**
 * Errors of `wharf/multiprocessing`, and the table that turns an error reply of a broker back into the class the
 * same failure has in one process (a `QueueEmpty` raised by the broker is a `QueueEmpty` in the child).
 */
import { MultiprocessingErrorCode, SyncErrorCode, WharfError } from "../errors/index.js";
import {
  BrokenBarrierError,
  NotHeldError,
  NotOwnerError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TooManyReleasesError,
  TooManyTaskDoneError,
  WaitTimeoutError,
} from "../sync/errors.js";

/**
 * The process that holds a shared object (its creator, or a Manager's server) exited or closed the connection.
 * Every pending wait of this process on its objects rejects with it, so a dead parent takes no waiter with it
 * silently.
 *
 * @example
 * ```ts
 * await lock.acquire().catch((err) => { if (err.code === "E_BROKER_GONE") process.exit(1); });
 * ```
 */
export class BrokerGoneError extends WharfError {
  constructor(message = "the process holding this shared object is gone", options?: { cause?: unknown }) {
    super(MultiprocessingErrorCode.BROKER_GONE, message, options);
  }
}

/**
 * A connection to a broker or Manager presented the wrong auth key.
 *
 * @example
 * ```ts
 * await Manager.connect({ address, authkey: "wrong" }).catch((err) => console.log(err.code)); // "E_AUTHKEY"
 * ```
 */
export class AuthkeyError extends WharfError {
  constructor(message = "wrong auth key") {
    super(MultiprocessingErrorCode.AUTHKEY, message);
  }
}

/**
 * `recv()` on a Pipe end whose other end is closed and nothing is left to read, or a send on a closed end:
 * Python's `EOFError`.
 *
 * @example
 * ```ts
 * await conn.recv().catch((err) => console.log(err.code)); // "E_PIPE_CLOSED" once the peer closed
 * ```
 */
export class PipeClosedError extends WharfError {
  constructor(message = "the other end of the pipe is closed") {
    super(MultiprocessingErrorCode.PIPE_CLOSED, message);
  }
}

const classes: Record<string, new (message: string) => WharfError> = {
  [SyncErrorCode.NOT_HELD]: NotHeldError,
  [SyncErrorCode.NOT_OWNER]: NotOwnerError,
  [SyncErrorCode.TOO_MANY_RELEASES]: TooManyReleasesError,
  [SyncErrorCode.TOO_MANY_TASK_DONE]: TooManyTaskDoneError,
  [SyncErrorCode.QUEUE_FULL]: QueueFull,
  [SyncErrorCode.QUEUE_EMPTY]: QueueEmpty,
  [SyncErrorCode.QUEUE_SHUT_DOWN]: QueueShutDown,
  [SyncErrorCode.BROKEN_BARRIER]: BrokenBarrierError,
  [SyncErrorCode.TIMEOUT]: WaitTimeoutError,
  [MultiprocessingErrorCode.BROKER_GONE]: BrokerGoneError,
  [MultiprocessingErrorCode.AUTHKEY]: AuthkeyError,
  [MultiprocessingErrorCode.PIPE_CLOSED]: PipeClosedError,
};

/** The error a client raises for an error reply: the class of that code where wharf has one. */
export function errorFromWire(body: unknown): Error {
  const generic = WharfError.fromWire(body, "the broker refused the request");
  const Class = classes[generic.code];
  return Class === undefined ? generic : new Class(generic.message);
}

/** The `{ code, message }` a broker replies with for `error`; a non-WharfError becomes E_INTERNAL. */
export function errorToWire(error: unknown): { code: string; message: string } {
  if (error instanceof WharfError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: "E_INTERNAL", message: `${error.name}: ${error.message}` };
  return { code: "E_INTERNAL", message: String(error) };
}
