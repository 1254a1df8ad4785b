#!/usr/bin/env node
/**
 * The `wharf` command: one verb group per module in this folder. Only the module of the verb being run is loaded
 * (with its service's client), so that `wharf ls` does not pay for the server, the logger and every schema;
 * `wharf --help`, `--version` and unknown verbs load them all, for the full listing and suggestions.
 */
import { Command } from "commander";
import { VERSION } from "./version.js";

type Register = (program: Command) => void;

/** Each verb group, in the order `wharf --help` lists them, with the verbs it defines. */
const GROUPS: { verbs: string[]; load: () => Promise<Register> }[] = [
  { verbs: ["serve"], load: async () => (await import("./serve.js")).registerServe },
  { verbs: ["ping"], load: async () => (await import("./ping.js")).registerPing },
  { verbs: ["user"], load: async () => (await import("./user.js")).registerUser },
  { verbs: ["time"], load: async () => (await import("./time.js")).registerTime },
  { verbs: ["chat"], load: async () => (await import("./chat.js")).registerChat },
  { verbs: ["exec"], load: async () => (await import("./exec.js")).registerExec },
  { verbs: ["call"], load: async () => (await import("./call.js")).registerCall },
  { verbs: ["put", "get", "ls", "rm", "mkdir", "mv"], load: async () => (await import("./files.js")).registerFileVerbs },
];

const program = new Command("wharf")
  .description("wharf: a concurrent client/server toolkit")
  .version(VERSION)
  .showHelpAfterError("(run with --help for usage)")
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "wharf: ")) });

const verb = process.argv[2];
const group = GROUPS.find((candidate) => candidate.verbs.includes(verb));
for (const register of await Promise.all((group === undefined ? GROUPS : [group]).map((g) => g.load()))) register(program);

await program.parseAsync(process.argv);
