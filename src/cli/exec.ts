import { constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import type { Connection } from "../client/index.js";
import { ExecErrorCode, execCommand, type OutputStream } from "../services/exec/index.js";
import { ErrorCode, WharfError } from "../wire/index.js";
import { CliError, CliErrorCode, action } from "./fail.js";
import { secondsOption } from "./parse.js";
import { openSession, withClientOptions, type ClientOptions } from "./session.js";

interface ExecOptions extends ClientOptions {
  timeout?: number;
  shell: boolean;
  stdin: boolean;
}

/**
 * Exit codes of `wharf exec` besides the command's own (documented in docs/exec.md): like ssh, 255 means wharf
 * itself failed; like timeout(1) and shells, 124, 126 and 127 keep their usual meanings.
 */
export const EXEC_EXIT = {
  WHARF_FAILED: 255,
  TIMEOUT: 124,
  CANNOT_RUN: 126,
  NOT_FOUND: 127,
} as const;

/** Signals that end `wharf exec` (and with it the remote command), and the exit codes they give. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Adds `wharf exec`. */
export function registerExec(program: Command): void {
  withClientOptions(
    program
      .command("exec")
      .description("run a command on the server, streaming its output back; exits with its exit code")
      .argument("<command...>", "the command and its arguments (put -- before them)")
      .option("--timeout <seconds>", "kill the command after this long (the server may cap it)", secondsOption("--timeout"))
      .option("--shell", "run the words through the server's /bin/sh -c (if the server allows it)", false)
      .option("-n, --no-stdin", "do not forward standard input (the command's stdin is closed)"),
  ).action(action((argv: string[], options: ExecOptions) => runExec(argv, options)));
}

function write(stream: NodeJS.WriteStream, chunk: Buffer): void | Promise<void> {
  if (stream.write(chunk)) return;
  // Backpressure: stop reading the command's output until our own output drains.
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      stream.off("error", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
    stream.on("error", done);
  });
}

async function runExec(argv: string[], options: ExecOptions): Promise<void> {
  if (options.timeout !== undefined && options.timeout <= 0) throw new CliError(CliErrorCode.USAGE, "--timeout must be more than 0 seconds", EXEC_EXIT.WHARF_FAILED);
  const abort = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy !== null) process.exit(128 + (constants.signals[signal] ?? 0)); // a second one: leave now
    stoppedBy = signal;
    abort.abort(new WharfError("E_CANCELLED", `interrupted by ${signal}`));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  process.stdout.on("error", () => {}); // EPIPE when our reader goes away: the command is cancelled below
  let conn: Connection | null = null;
  try {
    conn = await openSession(options).catch((err: unknown) => {
      throw wharfFailure(err);
    });
    const result = await execCommand(conn, argv, {
      shell: options.shell,
      timeout: options.timeout,
      signal: abort.signal,
      stdin: options.stdin ? process.stdin : undefined,
      onOutput: (stream: OutputStream, chunk: Buffer) => write(stream === "stdout" ? process.stdout : process.stderr, chunk),
    });
    process.exitCode = result.signal !== null ? 128 + (constants.signals[result.signal] ?? 0) : (result.exitCode ?? EXEC_EXIT.WHARF_FAILED);
  } catch (err) {
    if (stoppedBy !== null) throw new CliError(ErrorCode.CANCELLED, `interrupted: the remote command was killed`, 128 + (constants.signals[stoppedBy] ?? 0));
    throw wharfFailure(err);
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    if (options.stdin) process.stdin.destroy();
    if (conn !== null) await closeSoon(conn);
  }
}

/** Ends the connection politely (so that a cancel in flight is delivered), but does not wait long for it. */
async function closeSoon(conn: Connection): Promise<void> {
  const timer = sleep(2_000, undefined, { ref: false });
  await Promise.race([conn.close(), timer]);
  conn.destroy();
}

/** A failure of wharf rather than of the command: one line, and an exit code that cannot be the command's. */
function wharfFailure(err: unknown): unknown {
  if (err instanceof CliError) return new CliError(err.code, err.message, EXEC_EXIT.WHARF_FAILED);
  if (!(err instanceof WharfError)) return err;
  const code =
    err.code === ExecErrorCode.TIMEOUT ? EXEC_EXIT.TIMEOUT
    : err.code === ExecErrorCode.NOT_FOUND ? EXEC_EXIT.NOT_FOUND
    : err.code === ExecErrorCode.SPAWN ? EXEC_EXIT.CANNOT_RUN
    : EXEC_EXIT.WHARF_FAILED;
  return new CliError(err.code, err.message, code, err.data);
}
