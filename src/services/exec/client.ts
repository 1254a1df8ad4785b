/**
 * The client side of remote commands: run a command on a server, stream its output, feed its input.
 */
import type { Connection } from "../../client/index.js";
import { WharfError, type ReplyHeader } from "../../wire/index.js";
import type { ExecResult, OutputStream } from "./messages.js";

/** Options of {@link execCommand}. */
export interface ExecCommandOptions {
  /** Run `argv` joined with spaces through the server's `/bin/sh -c` (the server must allow it). */
  shell?: boolean;
  /** Milliseconds the command may run; the server caps it with its own limit and kills it after. */
  timeout?: number;
  /** Aborting kills the command on the server; the call rejects with `E_CANCELLED`. */
  signal?: AbortSignal;
  /** Bytes for the command's stdin; its end closes the remote stdin. Without it, the remote stdin is closed. */
  stdin?: AsyncIterable<Uint8Array>;
  /** Receives output as it is produced, in order; returning a promise pauses the command (backpressure). */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void | Promise<void>;
  /** Told the remote process id once the command has started. */
  onStart?: (pid: number) => void;
}

/** How long past the command's own limit the client waits before it gives up on a silent server. */
const LOCAL_TIMEOUT_MARGIN_MS = 30_000;

/**
 * Runs a command on the server and resolves how it ended: `{ exitCode, signal }` (a non-zero exit is not an
 * error). Rejects with a WharfError when the command could not run or was stopped: `E_AUTH`, `E_FORBIDDEN`,
 * `E_EXEC_NOT_ALLOWED`, `E_EXEC_NOT_FOUND`, `E_EXEC_BUSY`, `E_EXEC_TIMEOUT`, `E_EXEC_OUTPUT_LIMIT`,
 * `E_CANCELLED`. The connection must be logged in as a user allowed to run commands.
 *
 * @example
 * ```ts
 * const conn = await connect("tcp://127.0.0.1:9000");
 * await login(conn, "alice", password);
 * const { exitCode } = await execCommand(conn, ["ls", "-l"], {
 *   onOutput: (stream, chunk) => void (stream === "stdout" ? process.stdout : process.stderr).write(chunk),
 * });
 * ```
 */
export async function execCommand(conn: Connection, argv: string[], options: ExecCommandOptions = {}): Promise<ExecResult> {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === "string")) {
    throw new TypeError("argv must be a non-empty array of strings");
  }
  if (options.timeout !== undefined && (!Number.isSafeInteger(options.timeout) || options.timeout <= 0)) {
    throw new RangeError("options.timeout must be a positive integer of milliseconds");
  }
  const stdinDone = new AbortController();
  let feeding: Promise<void> = Promise.resolve();
  const fields: Record<string, unknown> = { argv, tty: false, stdin: options.stdin !== undefined };
  if (options.shell === true) fields.shell = true;
  if (options.timeout !== undefined) fields.timeout = options.timeout;
  const onFrame = (header: ReplyHeader, body: Buffer): void | Promise<void> => {
    if (header.started === true) {
      if (typeof header.pid === "number") options.onStart?.(header.pid);
      // A failing input source just stops the feeding; the command's own outcome is what the call reports.
      if (options.stdin !== undefined) feeding = feedStdin(conn, header.id as number, options.stdin, stdinDone.signal).catch(() => {});
      return;
    }
    const stream = header.stream;
    if (stream === "stdout" || stream === "stderr") return options.onOutput?.(stream, body);
  };
  try {
    const reply = await conn.request("exec.run", fields, undefined, {
      signal: options.signal,
      timeout: options.timeout === undefined ? undefined : options.timeout + LOCAL_TIMEOUT_MARGIN_MS,
      onFrame,
    });
    return {
      exitCode: typeof reply.header.exitCode === "number" ? reply.header.exitCode : null,
      signal: typeof reply.header.signal === "string" ? (reply.header.signal as NodeJS.Signals) : null,
    };
  } finally {
    stdinDone.abort();
    await feeding;
  }
}

/**
 * Sends stdin one chunk at a time, each after the previous one was taken by the command: a command that does
 * not read holds the client's input back rather than making the server buffer it. Stops when the run ends,
 * even while waiting for input that may never come (a terminal).
 */
async function feedStdin(conn: Connection, ref: number, input: AsyncIterable<Uint8Array>, stop: AbortSignal): Promise<void> {
  const iterator = input[Symbol.asyncIterator]();
  const stopped = new Promise<IteratorResult<Uint8Array>>((resolve) => {
    if (stop.aborted) resolve({ done: true, value: undefined });
    else stop.addEventListener("abort", () => resolve({ done: true, value: undefined }), { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), stopped]);
      if (next.done === true || stop.aborted) break;
      const reply = await conn.request("exec.stdin", { ref }, next.value, { signal: stop });
      if (reply.header.closed === true) return;
    }
    if (!stop.aborted) await conn.request("exec.stdin", { ref, eof: true }, undefined, { signal: stop });
  } catch (err) {
    // The run ended or the connection went: the run's own request reports that; stdin has nothing to add.
    if (!(err instanceof WharfError)) throw err;
  } finally {
    if (stop.aborted) void iterator.return?.()?.catch(() => {});
  }
}
