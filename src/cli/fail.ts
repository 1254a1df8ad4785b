import { WharfError } from "../wire/index.js";

/** An expected CLI failure: printed as one line, never with a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** The one line a failed verb prints to stderr. Unexpected errors keep their stack for bug reports. */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof CliError) return { line: `wharf: ${err.message}`, exitCode: err.exitCode };
  if (err instanceof WharfError) return { line: `wharf: ${err.code}: ${err.message}`, exitCode: 1 };
  if (err instanceof TypeError || err instanceof RangeError) return { line: `wharf: ${err.message}`, exitCode: 2 };
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string") {
    return { line: `wharf: ${(err as NodeJS.ErrnoException).code}: ${err.message}`, exitCode: 1 };
  }
  return { line: `wharf: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, exitCode: 70 };
}

/** Wraps a verb's action so that any failure becomes one line on stderr and a non-zero exit code. */
export function action<Args extends unknown[]>(fn: (...args: Args) => Promise<void> | void): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await fn(...args);
    } catch (err) {
      const { line, exitCode } = describeFailure(err);
      process.stderr.write(`${line}\n`);
      process.exitCode = exitCode;
    }
  };
}
