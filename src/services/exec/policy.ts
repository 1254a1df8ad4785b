/**
 * What a server lets a user run, and in which surroundings: the allow list, the shell switch, the clean
 * environment and the home folder.
 */
import { mkdir } from "node:fs/promises";
import { WharfError, quote } from "../../wire/index.js";
import { homeOf } from "../shared/homes.js";
import { ExecErrorCode } from "./errors.js";

/**
 * The server's exec settings, named as in the services' config (from `wharf serve`'s `--exec-*` flags).
 * Times in ms, sizes in bytes.
 */
export interface ExecPolicy {
  /** Commands may run through `/bin/sh -c` when the client asks for a shell (`--exec-shell`). */
  execShell: boolean;
  /** Command names (or absolute paths) that may run; null: any (`--exec-allow`). */
  execAllow: string[] | null;
  /** The longest run time; a client's timeout is capped by it (`--exec-timeout`). */
  execTimeout: number;
  /** Most bytes of stdout + stderr one command may write (`--exec-max-output`). */
  execMaxOutput: number;
  /** Most commands one user may run at once (`--exec-max-concurrent`). */
  execMaxConcurrent: number;
}

/** The only PATH commands see: the system's programs, never the user's own folders. */
export const EXEC_PATH = "/usr/local/bin:/usr/bin:/bin";

/** The program and arguments to start, after the policy has been applied. */
export interface Resolved {
  file: string;
  args: string[];
}

/**
 * Applies the policy to a requested argument vector. Without a shell, `argv[0]` is the program and the rest are
 * its arguments, passed as they are (no shell ever parses them). With a shell, the words are joined with spaces
 * and given to `/bin/sh -c`. An allow list matches `argv[0]` exactly: `ls` allows the `ls` found on the clean
 * PATH, never `./ls` in the user's home; and no shell command can be checked against it, so shells are refused
 * while an allow list is set.
 */
export function resolveCommand(policy: ExecPolicy, argv: string[], shell: boolean): Resolved {
  if (shell) {
    if (!policy.execShell) throw new WharfError(ExecErrorCode.NOT_ALLOWED, "this server runs no shell commands (start it with --exec-shell)");
    if (policy.execAllow !== null) throw new WharfError(ExecErrorCode.NOT_ALLOWED, "this server allows only listed commands (--exec-allow), so no shell");
    return { file: "/bin/sh", args: ["-c", argv.join(" ")] };
  }
  const [program, ...args] = argv;
  if (program.length === 0) throw new WharfError(ExecErrorCode.INVALID_PARAMS, "exec.run: argv[0] must not be empty");
  const allow = policy.execAllow;
  if (allow !== null && !allow.includes(program)) {
    throw new WharfError(ExecErrorCode.NOT_ALLOWED, `command ${quote(program)} is not allowed here (allowed: ${allow.join(", ") || "none"})`, {
      data: { allowed: allow },
    });
  }
  return { file: program, args };
}

/** The user's home folder, `<dataDir>/homes/<user>` (shared with the files service), made if missing. */
export async function userHome(dataDir: string, user: string): Promise<string> {
  const home = homeOf(dataDir, user);
  await mkdir(home, { recursive: true, mode: 0o700 });
  return home;
}

/** The whole environment of a command: nothing of the server's own leaks in. */
export function cleanEnv(user: string, home: string): NodeJS.ProcessEnv {
  return { PATH: EXEC_PATH, HOME: home, USER: user, LOGNAME: user, LANG: "C.UTF-8" };
}
