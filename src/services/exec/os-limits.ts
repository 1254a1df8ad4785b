/**
 * What the operating system accepts in an `execve()`: checked before spawning, so that an argument vector the OS
 * would refuse gets a message naming the problem (`E_INVALID_PARAMS`) instead of a failure deep in the spawn.
 */
import { WharfError } from "../../wire/index.js";
import { ExecErrorCode } from "./errors.js";

/** Longest file name component (Linux NAME_MAX), in bytes. */
export const NAME_MAX = 255;
/** Longest path, in bytes, without its terminating NUL (Linux PATH_MAX is 4096 with it). */
export const PATH_MAX = 4095;
/** Longest single argument or environment string, in bytes, without its NUL (Linux MAX_ARG_STRLEN is 32 pages). */
export const MAX_ARG_BYTES = 128 * 1024 - 1;
/**
 * Most bytes of arguments and environment together, counting each string's NUL and pointer. Linux allows a
 * quarter of the stack limit (2 MiB with the usual 8 MiB); staying at 1 MiB keeps room for whatever the kernel and
 * the program's loader add, whatever stack limit the server was started with.
 */
export const MAX_EXEC_BYTES = 1024 * 1024;

function refuse(message: string, data: Record<string, unknown>): never {
  throw new WharfError(ExecErrorCode.INVALID_PARAMS, `exec.run: ${message}`, { data });
}

/** The spawn as it will be made: program, arguments, environment and working folder. */
export interface SpawnShape {
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * Checks an argument vector as the client sent it: no NUL byte anywhere (C strings end at the first one, so the
 * OS cannot even be asked), each argument within {@link MAX_ARG_BYTES}, and, when it names the program itself
 * (no shell), `argv[0]` within the path limits. Throws `E_INVALID_PARAMS` naming the argument.
 */
export function checkArgv(argv: readonly string[], shell: boolean): void {
  argv.forEach((arg, index) => {
    const nul = arg.indexOf("\u0000");
    if (nul !== -1) refuse(`argv[${index}] holds a NUL byte (at character ${nul}): the OS cannot pass it`, { index, reason: "nul" });
    const bytes = Buffer.byteLength(arg);
    if (bytes > MAX_ARG_BYTES) refuse(`argv[${index}] is ${bytes} bytes long; the OS takes at most ${MAX_ARG_BYTES}`, { index, reason: "arg-too-long", bytes, max: MAX_ARG_BYTES });
  });
  if (!shell && argv.length > 0) checkProgram(argv[0]);
}

/** Checks a program name or path against NAME_MAX for each component and PATH_MAX for the whole. */
function checkProgram(program: string): void {
  const bytes = Buffer.byteLength(program);
  if (bytes > PATH_MAX) refuse(`argv[0] is ${bytes} bytes long; a program path may have at most ${PATH_MAX}`, { index: 0, reason: "name-too-long", bytes, max: PATH_MAX });
  for (const component of program.split("/")) {
    const length = Buffer.byteLength(component);
    if (length > NAME_MAX) {
      refuse(`argv[0] has a name of ${length} bytes; a file name may have at most ${NAME_MAX}`, { index: 0, reason: "name-too-long", bytes: length, max: NAME_MAX });
    }
  }
}

/**
 * Checks the spawn the server is about to make (after the policy: a shell command is then one argument of
 * `/bin/sh -c`): no NUL byte in the working folder or the environment, each string within {@link MAX_ARG_BYTES},
 * and everything together within {@link MAX_EXEC_BYTES}. Throws `E_INVALID_PARAMS`.
 */
export function checkSpawn(shape: SpawnShape): void {
  if (shape.cwd.includes("\u0000")) refuse("the working folder holds a NUL byte", { reason: "nul" });
  let total = 0;
  const strings = [shape.file, ...shape.args];
  for (const [key, value] of Object.entries(shape.env)) {
    if (value === undefined) continue;
    if (key.includes("\u0000") || key.includes("=") || value.includes("\u0000")) refuse(`the environment variable ${JSON.stringify(key.slice(0, 64))} holds a NUL byte or a bad name`, { reason: "env" });
    strings.push(`${key}=${value}`);
  }
  for (const [index, text] of strings.entries()) {
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_ARG_BYTES) {
      const what = index === 0 ? "the program" : index <= shape.args.length ? "the command line (the shell's one argument)" : "an environment string";
      refuse(`${what} is ${bytes} bytes long; the OS takes at most ${MAX_ARG_BYTES} in one string`, { reason: "arg-too-long", bytes, max: MAX_ARG_BYTES });
    }
    total += bytes + 1 + 8; // the string, its NUL, and its pointer in argv or envp
  }
  if (total > MAX_EXEC_BYTES) refuse(`the arguments and environment take ${total} bytes; at most ${MAX_EXEC_BYTES} are allowed`, { reason: "too-big", bytes: total, max: MAX_EXEC_BYTES });
}

/** Node's and the OS's codes for an argument vector refused at spawn time: the caller's input, not a fault. */
const REFUSED_INPUT = new Set(["E2BIG", "ENAMETOOLONG", "ERR_INVALID_ARG_VALUE", "ERR_INVALID_ARG_TYPE"]);

/**
 * Maps an error thrown by `spawn()` itself: what the OS refused because of the request becomes `E_INVALID_PARAMS`;
 * anything else `E_EXEC_SPAWN`. Either way the errno travels in `data.errno`.
 */
export function spawnFailure(file: string, err: unknown): WharfError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const name = JSON.stringify(file.length > 64 ? `${file.slice(0, 64)}...` : file);
  if (code !== undefined && REFUSED_INPUT.has(code)) {
    const why = code === "E2BIG" ? "the arguments are too long" : code === "ENAMETOOLONG" ? "a name is too long" : "an argument is not valid";
    return new WharfError(ExecErrorCode.INVALID_PARAMS, `exec.run: ${name}: the OS refused the command: ${why} (${code})`, { data: { errno: code } });
  }
  return new WharfError(ExecErrorCode.SPAWN, `${name}: cannot start: ${code ?? (err instanceof Error ? err.message : String(err))}`, { data: { errno: code } });
}
