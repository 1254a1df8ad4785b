import { ErrorCode, WharfError } from "../wire/index.js";
import { formatBytes } from "./units.js";

/**
 * Codes of failures that happen on this machine rather than on the server (registered in src/errors/registry.ts,
 * listed in docs/errors.md). A server's failures keep the server's code.
 */
export const CliErrorCode = {
  /** A bad flag, argument, URL or JSON argument: exit code 2. */
  USAGE: "E_USAGE",
  /** A local file or folder could not be read or written (the path is named). */
  LOCAL_IO: "E_LOCAL_IO",
  /** A local file or folder that does not exist (the same code as a missing remote path). */
  NOT_FOUND: "E_NOT_FOUND",
} as const;

/**
 * The exit codes of every verb (README, `wharf --help`): 0 success, 1 the server or the operation failed, 2 a usage
 * error. `wharf exec` exits with the command's own code and keeps 255 for its own failures, usage errors included.
 */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, EXEC_FAILED: 255 } as const;

/** The table printed by `wharf --help` and copied in the README. */
export const EXIT_CODE_HELP = `Exit codes:
  0    success
  1    the server or the operation failed (the message names the code, e.g. E_NOT_FOUND)
  2    usage error: bad flag, bad URL, bad JSON argument (E_USAGE)
  wharf exec exits with the command's own code, and 255 when wharf itself fails (usage errors included)`;

/** An expected CLI failure: printed as one line `wharf: CODE: message`, never with a stack trace. */
export class CliError extends WharfError {
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode: number = code === CliErrorCode.USAGE ? EXIT.USAGE : EXIT.FAILED, data?: unknown) {
    super(code, message, data === undefined ? undefined : { data });
    this.exitCode = exitCode;
  }
}

/** A usage error (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(CliErrorCode.USAGE, message);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a folder",
  ENOTDIR: "not a folder",
  EEXIST: "already exists",
  ENOSPC: "no space left on the device",
  EROFS: "read-only file system",
  ENOTEMPTY: "folder not empty",
};

/**
 * A local system error as a coded failure naming the path (and the option it came from, when given):
 * `--tls-cert /x: no such file or folder`.
 */
export function localFailure(err: NodeJS.ErrnoException, path?: string, option?: string): CliError {
  const where = [option, path ?? err.path].filter((part) => part !== undefined).join(" ");
  const text = ERRNO_TEXT[err.code ?? ""] ?? err.message;
  const code = err.code === "ENOENT" ? CliErrorCode.NOT_FOUND : CliErrorCode.LOCAL_IO;
  return new CliError(code, where === "" ? text : `${where}: ${text}`);
}

/** What a failed verb prints and exits with. Unexpected errors keep their stack for bug reports (exit code 70). */
export function describeFailure(err: unknown): { code: string; message: string; exitCode: number } {
  if (err instanceof CliError) return { code: err.code, message: err.message, exitCode: err.exitCode };
  if (err instanceof WharfError) return { code: err.code, message: forPeople(err), exitCode: EXIT.FAILED };
  if (err instanceof TypeError || err instanceof RangeError) return { code: CliErrorCode.USAGE, message: err.message, exitCode: EXIT.USAGE };
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string" && typeof (err as NodeJS.ErrnoException).syscall === "string") {
    const local = localFailure(err as NodeJS.ErrnoException);
    return { code: local.code, message: local.message, exitCode: local.exitCode };
  }
  return { code: ErrorCode.INTERNAL, message: `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, exitCode: 70 };
}

/** A server's message, with its byte counts in human units where the data carries them (exact in `--json`). */
function forPeople(err: WharfError): string {
  const data = err.data as { quota?: unknown; used?: unknown; needed?: unknown } | undefined;
  if (err.code === "E_QUOTA" && typeof data?.quota === "number" && typeof data.used === "number" && typeof data.needed === "number") {
    const at = err.message.indexOf(": ");
    const where = at > 0 ? `${err.message.slice(0, at)}: ` : "";
    return `${where}${formatBytes(data.needed)} would exceed your quota (${formatBytes(data.used)} of ${formatBytes(data.quota)} used)`;
  }
  return err.message;
}

/** Whether this run asked for JSON output: failures then go to stderr as one JSON object. */
export function wantsJson(argv: readonly string[] = process.argv): boolean {
  return argv.slice(2).includes("--json");
}

/** Writes one failure to stderr: `wharf: CODE: message`, or `{"error":{"code","message"}}` with `--json`. */
export function printFailure(code: string, message: string, data?: unknown): void {
  if (wantsJson()) {
    process.stderr.write(`${JSON.stringify({ error: data === undefined ? { code, message } : { code, message, data } })}\n`);
  } else {
    process.stderr.write(`wharf: ${code}: ${message}\n`);
  }
}

/** Wraps a verb's action so that any failure becomes one line on stderr and a non-zero exit code. */
export function action<Args extends unknown[]>(fn: (...args: Args) => Promise<void> | void): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await fn(...args);
    } catch (err) {
      const { code, message, exitCode } = describeFailure(err);
      printFailure(code, message, err instanceof WharfError ? err.data : undefined);
      process.exitCode = exitCode;
    }
  };
}
