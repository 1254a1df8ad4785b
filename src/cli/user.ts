import { mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { AccountStore, FileTokenStore, type Account, type TokenStore } from "../services/accounts/index.js";
import { homeUsage } from "../services/files/quota.js";
import { homeOf } from "../services/shared/homes.js";
import { CliError, CliErrorCode, action, usageError } from "./fail.js";
import { formatBytes } from "./units.js";
import { parseSize } from "./parse.js";
import { promptHidden, readFirstLineOfStdin } from "./prompt.js";
import { openUserStores } from "./user-redis.js";

interface DataOption {
  data: string;
  /** `--redis URL`: the accounts and tokens held in that Redis, not the data folder's files. */
  redis?: string;
}

/** The stores a verb works on: the data folder's files, or Redis with `--redis`. */
interface UserStores {
  accounts: AccountStore;
  tokens: TokenStore;
  close(): Promise<void>;
}

async function storesOf(dir: string, options: DataOption): Promise<UserStores> {
  if (options.redis !== undefined) return openUserStores(options.redis, dir);
  return { accounts: new AccountStore(dir), tokens: new FileTokenStore(dir), close: () => Promise.resolve() };
}

/** Runs `work` on the stores of a verb and closes them after (a Redis link would keep the process alive). */
async function withStores<T>(dir: string, options: DataOption, work: (stores: UserStores) => Promise<T>): Promise<T> {
  const stores = await storesOf(dir, options);
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** The data folder when `--data` is not given. */
const DEFAULT_DATA = "./wharf-data";

/** A new password: from stdin with --password-stdin, else asked twice on the terminal. */
async function newPassword(name: string, fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const password = await readFirstLineOfStdin();
    if (password.length === 0) throw usageError("the password read from stdin is empty");
    return password;
  }
  if (!process.stdin.isTTY) throw usageError("no terminal to ask for the password: use --password-stdin");
  const first = await promptHidden(`New password for ${name}: `);
  const second = await promptHidden("Repeat it: ");
  if (first !== second) throw usageError("the passwords differ");
  if (first.length === 0) throw usageError("the password must not be empty");
  return first;
}

/** `--quota SIZE|none`: bytes, or "none" for no limit (commander turns a parsed null into "", so not null here). */
function parseQuota(text: string): number | "none" {
  return text.toLowerCase() === "none" ? "none" : parseSize(text);
}

function quotaValue(parsed: number | "none" | undefined): number | null | undefined {
  return parsed === "none" ? null : parsed;
}

/**
 * The data folder of a verb that reads or changes existing users: it must exist (a typo must not look like an
 * empty user list, nor create a folder).
 */
async function existingData(dir: string, redis?: string): Promise<string> {
  const path = resolve(dir);
  if (redis !== undefined) return path; // the accounts are in Redis; the folder only matters for usage
  const info = await stat(path).catch(() => null);
  if (info === null) throw new CliError(CliErrorCode.NOT_FOUND, `--data ${dir}: no such folder (run wharf user add there first, or check the path)`);
  if (!info.isDirectory()) throw new CliError(CliErrorCode.LOCAL_IO, `--data ${dir}: not a folder`);
  return path;
}

async function existingUser(store: AccountStore, name: string): Promise<Account> {
  const account = await store.get(name);
  if (account === undefined) throw new CliError(CliErrorCode.NOT_FOUND, `no such user: ${name} (in ${store.constructor.name === "RedisAccountStore" ? "redis" : store.path})`);
  return account;
}

/** Bytes a user's home takes (files and partial uploads, as the quota counts them). */
async function usageOf(dataDir: string, name: string): Promise<number> {
  const home = homeOf(dataDir, name);
  return homeUsage(home, join(home, ".wharf", "partials"));
}

function quotaText(quota: number | null): string {
  return quota === null ? "none" : formatBytes(quota);
}

/** Adds `wharf user add|list|set|passwd|remove|sessions|revoke`. */
export function registerUser(program: Command): void {
  const user = program
    .command("user")
    .description("manage the users of a data folder (run where the server's data is)");
  const dataOption = (): Option => new Option("--data <dir>", "data folder").default(DEFAULT_DATA);
  const redisOption = (): Option => new Option("--redis <url>", "manage the accounts held in this Redis (wharf serve --redis) instead of the data folder's");

  user
    .command("add")
    .description("add a user; the password is asked twice, or read from stdin with --password-stdin")
    .argument("<name>", "user name")
    .addOption(dataOption())
    .addOption(redisOption())
    .option("--create", "create the data folder if it does not exist (done anyway for the default ./wharf-data)", false)
    .option("--quota <size>", "most bytes the user's files may take (e.g. 10G), or none", parseQuota)
    .option("--can-exec", "allow the user to run commands with wharf exec", false)
    .option("--password-stdin", "read the password from standard input", false)
    .action(action(async (name: string, options: DataOption & { create: boolean; quota?: number | "none"; canExec: boolean; passwordStdin: boolean }, command: Command) => {
      const isDefault = command.getOptionValueSource("data") === "default";
      const dir = resolve(options.data);
      if (options.redis === undefined && (await stat(dir).catch(() => null)) === null) {
        if (!isDefault && !options.create) throw new CliError(CliErrorCode.NOT_FOUND, `--data ${options.data}: no such folder (add --create to make it)`);
        await mkdir(dir, { recursive: true });
      }
      const where = options.redis ?? dir;
      await withStores(dir, options, async ({ accounts: store }) => {
        if ((await store.get(name)) !== undefined) throw new CliError("E_EXISTS", `user ${name} already exists in ${options.redis ?? store.path}`);
        const password = await newPassword(name, options.passwordStdin);
        await store.add(name, password, { quota: quotaValue(options.quota) ?? null, canExec: options.canExec });
      });
      process.stdout.write(`added user ${name} to ${where}\n`);
    }));

  user
    .command("list")
    .description("list users with their quota, the space they use and whether they may exec")
    .addOption(dataOption())
    .addOption(redisOption())
    .option("--json", "one JSON object per line (sizes in bytes)", false)
    .action(action(async (options: DataOption & { json: boolean }) => {
      const dir = await existingData(options.data, options.redis);
      const accounts = await withStores(dir, options, ({ accounts: store }) => store.list());
      const rows = await Promise.all(accounts.map(async (account) => ({ ...account, used: await usageOf(dir, account.name) })));
      if (options.json) {
        for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
        return;
      }
      const table = [["NAME", "QUOTA", "USED", "EXEC", "CREATED"], ...rows.map((r) => [r.name, quotaText(r.quota), formatBytes(r.used), r.canExec ? "yes" : "no", r.created])];
      const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
      for (const row of table) process.stdout.write(`${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join("  ")}\n`);
    }));

  user
    .command("set")
    .description("change a user's quota or exec right (like usermod)")
    .argument("<name>", "user name")
    .addOption(dataOption())
    .addOption(redisOption())
    .option("--quota <size>", "most bytes the user's files may take (e.g. 10G), or none for no limit", parseQuota)
    .option("--can-exec", "allow the user to run commands with wharf exec")
    .option("--no-exec", "do not allow the user to run commands")
    .action(action(async (name: string, options: DataOption & { quota?: number | "none"; canExec?: boolean; exec?: boolean }, command: Command) => {
      const dir = await existingData(options.data, options.redis);
      const canExecSource = command.getOptionValueSource("canExec");
      const noExec = command.getOptionValueSource("exec") === "cli";
      if (canExecSource === "cli" && noExec) throw usageError("--can-exec and --no-exec contradict each other");
      const canExec = canExecSource === "cli" ? true : noExec ? false : undefined;
      if (options.quota === undefined && canExec === undefined) throw usageError("nothing to change: give --quota, --can-exec or --no-exec");
      const account = await withStores(dir, options, async ({ accounts: store }) => {
        await existingUser(store, name);
        return store.setOptions(name, { quota: quotaValue(options.quota), canExec });
      });
      process.stdout.write(`${name}: quota ${quotaText(account.quota)}, exec ${account.canExec ? "yes" : "no"}\n`);
    }));

  user
    .command("passwd")
    .description("change a user's password")
    .argument("<name>", "user name")
    .addOption(dataOption())
    .addOption(redisOption())
    .option("--password-stdin", "read the password from standard input", false)
    .action(action(async (name: string, options: DataOption & { passwordStdin: boolean }) => {
      const dir = await existingData(options.data, options.redis);
      await withStores(dir, options, async ({ accounts: store }) => {
        await existingUser(store, name);
        await store.setPassword(name, await newPassword(name, options.passwordStdin));
      });
      process.stdout.write(`changed the password of ${name}\n`);
    }));

  user
    .command("remove")
    .alias("rm")
    .description("remove a user and revoke their logins (their files stay in the data folder)")
    .argument("<name>", "user name")
    .addOption(dataOption())
    .addOption(redisOption())
    .action(action(async (name: string, options: DataOption) => {
      const dir = await existingData(options.data, options.redis);
      await withStores(dir, options, async ({ accounts: store, tokens }) => {
        await existingUser(store, name);
        await store.remove(name);
        await tokens.removeUser(name);
      });
      process.stdout.write(`removed user ${name}\n`);
    }));

  user
    .command("sessions")
    .description("list a user's login tokens (wharf login): when each was made and when it expires")
    .argument("<name>", "user name")
    .addOption(dataOption())
    .addOption(redisOption())
    .option("--json", "one JSON object per line (times in ms since the epoch)", false)
    .action(action(async (name: string, options: DataOption & { json: boolean }) => {
      const dir = await existingData(options.data, options.redis);
      const records = await withStores(dir, options, async ({ accounts: store, tokens }) => {
        await existingUser(store, name);
        return tokens.listUser(name);
      });
      for (const record of records) {
        const id = record.hash.slice(0, 12);
        if (options.json) process.stdout.write(`${JSON.stringify({ id, user: record.user, created: record.created, expires: record.expires })}\n`);
        else process.stdout.write(`${id}  created ${new Date(record.created).toISOString()}  expires ${new Date(record.expires).toISOString()}\n`);
      }
    }));

  user
    .command("revoke")
    .description("revoke every login token of a user (they must log in again)")
    .argument("<name>", "user name")
    .addOption(dataOption())
    .addOption(redisOption())
    .action(action(async (name: string, options: DataOption) => {
      const dir = await existingData(options.data, options.redis);
      const count = await withStores(dir, options, async ({ accounts: store, tokens }) => {
        await existingUser(store, name);
        return tokens.removeUser(name);
      });
      process.stdout.write(`revoked ${count} login token${count === 1 ? "" : "s"} of ${name}\n`);
    }));
}
