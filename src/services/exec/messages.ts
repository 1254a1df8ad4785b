/**
 * The request types of remote commands, as they travel: `exec.run` starts a command and streams its output back,
 * `exec.stdin` feeds its standard input. See docs/protocol.md ("Remote commands and RPC").
 */
import { z } from "zod";
import { WharfError } from "../../wire/index.js";
import { ExecErrorCode } from "./errors.js";

/** Longest argument vector, in entries, and longest single argument, in bytes: generous, but bounded. */
export const MAX_ARGS = 4096;
export const MAX_ARG_LENGTH = 128 * 1024;

const execRunFields = z.object({
  argv: z.array(z.string().max(MAX_ARG_LENGTH)).min(1, "argv must name a command").max(MAX_ARGS),
  shell: z.boolean().optional(),
  /** The client will send standard input with `exec.stdin`; otherwise the command's stdin is closed at once. */
  stdin: z.boolean().optional(),
  /** Milliseconds; the server caps it with its own limit. */
  timeout: z.number().int().positive().optional(),
  tty: z.literal(false, { error: "tty must be false: terminals are not supported" }).optional(),
});

/** The fields of an `exec.run` request. */
export type ExecRunFields = z.infer<typeof execRunFields>;

const execStdinFields = z.object({
  ref: z.number().int().nonnegative(),
  eof: z.boolean().optional(),
});

/** The fields of an `exec.stdin` request. */
export type ExecStdinFields = z.infer<typeof execStdinFields>;

/** The final reply of `exec.run`: how the command ended. `exitCode` is null when a signal ended it. */
export interface ExecResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** The stream an intermediate `exec.run` frame carries. */
export type OutputStream = "stdout" | "stderr";

function parse<T>(schema: z.ZodType<T>, header: Record<string, unknown>, type: string): T {
  const result = schema.safeParse(header);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new WharfError(ExecErrorCode.INVALID_PARAMS, `${type}: ${where}${issue.message}`);
}

/** Validates the fields of an `exec.run` request; throws `E_INVALID_PARAMS`. */
export function parseRunFields(header: Record<string, unknown>): ExecRunFields {
  return parse(execRunFields, header, "exec.run");
}

/** Validates the fields of an `exec.stdin` request; throws `E_INVALID_PARAMS`. */
export function parseStdinFields(header: Record<string, unknown>): ExecStdinFields {
  return parse(execStdinFields, header, "exec.stdin");
}
