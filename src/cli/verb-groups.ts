import type { Command } from "commander";

/** What a verb group's module exports: adds its verbs to the program. */
export type Register = (program: Command) => void;

/** One verb group: a module of this folder that registers some verbs. */
export interface VerbGroup {
  /** The verbs it defines (`argv[2]`). */
  readonly verbs: readonly string[];
  /** Its module, relative to this folder. */
  readonly module: string;
  /** The name of its {@link Register} export. */
  readonly register: string;
  /**
   * The verbs end when their action resolves, so the process exits then instead of waiting for node's teardown
   * of an idle loop (30-40 ms of CPU after a `put -r` that compared 10,000 files; issue 15).
   */
  readonly exitWhenDone?: boolean;
  /** Its verbs describe every verb (`wharf completion`), so they run with every group loaded, like `--help`. */
  readonly needsAll?: boolean;
}

/**
 * Every verb group, in the order `wharf --help` lists them: the one table both `main.ts` (which imports a group's
 * module when its verb runs) and scripts/build-cli.mjs (which bundles each group into a file of its own) read.
 *
 * @example
 * ```ts
 * VERB_GROUPS.find((group) => group.verbs.includes("ls"))?.module; // "./files.js"
 * ```
 */
export const VERB_GROUPS: readonly VerbGroup[] = [
  { verbs: ["serve"], module: "./serve.js", register: "registerServe" },
  { verbs: ["login", "logout"], module: "./login.js", register: "registerLogin" },
  { verbs: ["ping"], module: "./ping.js", register: "registerPing" },
  { verbs: ["user"], module: "./user.js", register: "registerUser" },
  { verbs: ["time"], module: "./time.js", register: "registerTime" },
  { verbs: ["chat"], module: "./chat.js", register: "registerChat" },
  { verbs: ["exec"], module: "./exec.js", register: "registerExec" },
  { verbs: ["call"], module: "./call.js", register: "registerCall" },
  { verbs: ["put", "get", "ls", "rm", "mkdir", "mv"], module: "./files.js", register: "registerFileVerbs", exitWhenDone: true },
  { verbs: ["completion"], module: "./completion.js", register: "registerCompletion", needsAll: true },
];

/** Whether `verb` (argv[2]) asks for the version only, which needs no verb group. */
export function isVersionFlag(verb: string | undefined): boolean {
  return verb === "--version" || verb === "-V";
}
