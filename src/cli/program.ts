import { Command, CommanderError } from "commander";
import { CliErrorCode, EXIT, EXIT_CODE_HELP, printFailure } from "./fail.js";
import { markPhase } from "./phase-timer.js";
import { isVersionFlag, VERB_GROUPS, type Register, type VerbGroup } from "./verb-groups.js";
import { VERSION } from "./version.js";

/**
 * Runs the `wharf` command line (`process.argv`): builds the program with the verb group of `argv[2]` only (all
 * of them for `--help`, `completion` and unknown verbs, for the full listing and suggestions; none for
 * `--version`), parses, runs the verb. `load` gives a group's register function: main.ts imports the group's
 * module, each bundle of scripts/build-cli.mjs has its groups' functions at hand.
 *
 * @example
 * ```ts
 * await runWharf(async (group) => ((await import(group.module)) as Record<string, Register>)[group.register]);
 * ```
 */
export async function runWharf(load: (group: VerbGroup) => Promise<Register>): Promise<void> {
  // `wharf ls | head`: once the reader is gone there is nobody to tell anything, so wharf ends quietly, as cat and
  // ls do, instead of dying on an unhandled EPIPE with a stack trace. (exec and get watch stdout themselves.)
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
  });

  const verb = process.argv[2];
  /** Usage errors exit 2, except under `wharf exec`, whose 0-254 belong to the remote command. */
  const usageExit = verb === "exec" ? EXIT.EXEC_FAILED : EXIT.USAGE;

  const program = new Command("wharf")
    .description("wharf: a concurrent client/server toolkit")
    .version(VERSION)
    .addHelpText("after", `\n${EXIT_CODE_HELP}\n`)
    // Commander's own complaints (unknown flag, missing argument, bad value) become E_USAGE lines like any failure.
    .configureOutput({ outputError: (text) => printFailure(CliErrorCode.USAGE, text.trim().replace(/^error: /, "")) })
    .exitOverride((err: CommanderError) => {
      process.exit(err.exitCode === 0 ? 0 : usageExit);
    });
  const group = VERB_GROUPS.find((candidate) => candidate.verbs.includes(verb));
  // `wharf --version` needs no group (loading all ten made it cost 0.6 CPU s; issue 15).
  const loading = isVersionFlag(verb) ? [] : group === undefined || group.needsAll === true ? VERB_GROUPS : [group];
  for (const register of await Promise.all(loading.map(load))) register(program);
  markPhase("verbs loaded");
  // Every verb's --help ends with the one exit-code table.
  const withExitCodes = (command: Command): void => {
    for (const sub of command.commands) {
      sub.addHelpText("after", `\n${EXIT_CODE_HELP}\n`);
      withExitCodes(sub);
    }
  };
  withExitCodes(program);

  await program.parseAsync(process.argv);
  markPhase("verb done");
  // Only with nothing left to write: stdout to a pipe is asynchronous on some systems (not Linux).
  if (group?.exitWhenDone === true && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit();
}
