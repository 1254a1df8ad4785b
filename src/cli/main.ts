#!/usr/bin/env node
/**
 * The `wharf` command: one verb group per module in this folder. Only the module of the verb being run is loaded
 * (with its service's client), so that `wharf ls` does not pay for the server, the logger and every schema;
 * `wharf --help`, `--version` and unknown verbs load them all, for the full listing and suggestions.
 */
import { Command, CommanderError } from "commander";
import { CliErrorCode, EXIT, EXIT_CODE_HELP, printFailure } from "./fail.js";
import { markPhase } from "./phase-timer.js";
import { VERSION } from "./version.js";

markPhase("main loaded");

type Register = (program: Command) => void;

/** Each verb group, in the order `wharf --help` lists them, with the verbs it defines. */
/**
 * `exitWhenDone`: the verbs end when their action resolves, so the process exits then instead of waiting for node's
 * teardown of an idle loop (30-40 ms of CPU after a `put -r` that compared 10,000 files; issue 15).
 */
const GROUPS: { verbs: string[]; load: () => Promise<Register>; exitWhenDone?: boolean }[] = [
  { verbs: ["serve"], load: async () => (await import("./serve.js")).registerServe },
  { verbs: ["login", "logout"], load: async () => (await import("./login.js")).registerLogin },
  { verbs: ["ping"], load: async () => (await import("./ping.js")).registerPing },
  { verbs: ["user"], load: async () => (await import("./user.js")).registerUser },
  { verbs: ["time"], load: async () => (await import("./time.js")).registerTime },
  { verbs: ["chat"], load: async () => (await import("./chat.js")).registerChat },
  { verbs: ["exec"], load: async () => (await import("./exec.js")).registerExec },
  { verbs: ["call"], load: async () => (await import("./call.js")).registerCall },
  { verbs: ["put", "get", "ls", "rm", "mkdir", "mv"], load: async () => (await import("./files.js")).registerFileVerbs, exitWhenDone: true },
  { verbs: ["completion"], load: async () => (await import("./completion.js")).registerCompletion },
];

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
const group = GROUPS.find((candidate) => candidate.verbs.includes(verb));
// `wharf completion` describes every verb, so it loads them all, like --help.
// `wharf --version` needs none of them (loading all ten groups made it cost 0.6 CPU s; issue 15).
const loading = verb === "--version" || verb === "-V" ? [] : group === undefined || verb === "completion" ? GROUPS : [group];
for (const register of await Promise.all(loading.map((g) => g.load()))) register(program);
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
