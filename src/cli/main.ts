#!/usr/bin/env node
/**
 * The `wharf` command: one verb group per module in this folder.
 */
import { Command } from "commander";
import { registerChat } from "./chat.js";
import { registerCall } from "./call.js";
import { registerExec } from "./exec.js";
import { registerFileVerbs } from "./files.js";
import { registerPing } from "./ping.js";
import { registerServe } from "./serve.js";
import { registerTime } from "./time.js";
import { registerUser } from "./user.js";
import { VERSION } from "./version.js";

const program = new Command("wharf")
  .description("wharf: a concurrent client/server toolkit")
  .version(VERSION)
  .showHelpAfterError("(run with --help for usage)")
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "wharf: ")) });

registerServe(program);
registerPing(program);
registerUser(program);
registerTime(program);
registerChat(program);
registerExec(program);
registerCall(program);
registerFileVerbs(program);

await program.parseAsync(process.argv);
