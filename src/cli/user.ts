import type { Command } from "commander";
import { AccountStore } from "../services/accounts/index.js";
import { CliError, action } from "./fail.js";
import { parseSize } from "./parse.js";
import { promptHidden, readFirstLineOfStdin } from "./prompt.js";

interface DataOption {
  data: string;
}

/** A new password: from stdin with --password-stdin, else asked twice on the terminal. */
async function newPassword(name: string, fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const password = await readFirstLineOfStdin();
    if (password.length === 0) throw new CliError("the password read from stdin is empty");
    return password;
  }
  if (!process.stdin.isTTY) throw new CliError("no terminal to ask for the password: use --password-stdin");
  const first = await promptHidden(`New password for ${name}: `);
  const second = await promptHidden("Repeat it: ");
  if (first !== second) throw new CliError("the passwords differ");
  if (first.length === 0) throw new CliError("the password must not be empty");
  return first;
}

/** Adds `wharf user add|list|passwd|remove`. */
export function registerUser(program: Command): void {
  const user = program.command("user").description("manage the users of a data folder (run where the server's data is)");
  const dataOption = ["--data <dir>", "data folder", "./wharf-data"] as const;

  user
    .command("add")
    .description("add a user; the password is asked twice, or read from stdin with --password-stdin")
    .argument("<name>", "user name")
    .option(...dataOption)
    .option("--quota <size>", "most bytes the user's files may take (e.g. 10G)", parseSize)
    .option("--can-exec", "allow the user to run commands with wharf exec", false)
    .option("--password-stdin", "read the password from standard input", false)
    .action(action(async (name: string, options: DataOption & { quota?: number; canExec: boolean; passwordStdin: boolean }) => {
      const store = new AccountStore(options.data);
      if ((await store.get(name)) !== undefined) throw new CliError(`user ${name} already exists`);
      const password = await newPassword(name, options.passwordStdin);
      await store.add(name, password, { quota: options.quota ?? null, canExec: options.canExec });
      process.stdout.write(`added user ${name}\n`);
    }));

  user
    .command("list")
    .description("list users")
    .option(...dataOption)
    .option("--json", "one JSON object per line", false)
    .action(action(async (options: DataOption & { json: boolean }) => {
      for (const account of await new AccountStore(options.data).list()) {
        if (options.json) process.stdout.write(`${JSON.stringify(account)}\n`);
        else process.stdout.write(`${account.name}\tquota=${account.quota ?? "none"}\texec=${account.canExec ? "yes" : "no"}\tcreated=${account.created}\n`);
      }
    }));

  user
    .command("passwd")
    .description("change a user's password")
    .argument("<name>", "user name")
    .option(...dataOption)
    .option("--password-stdin", "read the password from standard input", false)
    .action(action(async (name: string, options: DataOption & { passwordStdin: boolean }) => {
      const store = new AccountStore(options.data);
      if ((await store.get(name)) === undefined) throw new CliError(`no such user: ${name}`);
      await store.setPassword(name, await newPassword(name, options.passwordStdin));
      process.stdout.write(`changed the password of ${name}\n`);
    }));

  user
    .command("remove")
    .description("remove a user (their files stay in the data folder)")
    .argument("<name>", "user name")
    .option(...dataOption)
    .action(action(async (name: string, options: DataOption) => {
      await new AccountStore(options.data).remove(name);
      process.stdout.write(`removed user ${name}\n`);
    }));
}
