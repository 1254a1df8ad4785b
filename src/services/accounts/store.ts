import { join } from "node:path";
import { z } from "zod";
import { hashPassword, verifyPassword } from "./password.js";
import { JsonListFile } from "../shared/json-list-file.js";

/** A user as stored (without the password hash) and handed to services. */
export interface Account {
  name: string;
  /** Most bytes the user's files may take, or null for no limit. */
  quota: number | null;
  /** May run commands with `wharf exec`. */
  canExec: boolean;
  /** ISO time the account was made. */
  created: string;
}

const accountRecord = z.object({
  name: z.string(),
  hash: z.string(),
  quota: z.number().int().nonnegative().nullable(),
  canExec: z.boolean(),
  created: z.string(),
});
type AccountRecord = z.infer<typeof accountRecord>;

/** A valid user name: a letter or underscore, then up to 31 letters, digits, `_`, `.` or `-`. */
export const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** Throws a TypeError unless `name` is a valid user name. */
export function assertUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new TypeError(`invalid user name ${JSON.stringify(name)}: use a letter or _, then up to 31 of A-Z a-z 0-9 _ . -`);
  }
}

/** Options of {@link AccountStore.add}. */
export interface AddUserOptions {
  quota?: number | null;
  canExec?: boolean;
}

/**
 * The users of one data folder, kept in `<data>/users.json`. Passwords are stored only as scrypt hashes. Every
 * change is written to a temporary file, flushed to disk, and renamed over the old file, so a crash leaves either
 * the old or the new list, never a torn one. Changes made by one process are seen by others on their next read.
 *
 * @example
 * ```ts
 * const store = new AccountStore("./wharf-data");
 * await store.add("alice", "s3cret", { quota: 10 * 1024 ** 3 });
 * const alice = await store.verify("alice", "s3cret"); // Account, or null
 * ```
 */
export class AccountStore {
  readonly path: string;
  #file: JsonListFile<AccountRecord>;

  constructor(dataDir: string) {
    this.path = join(dataDir, "users.json");
    this.#file = new JsonListFile(this.path, "users", accountRecord, "user list");
  }

  /** Every user, by name. */
  async list(): Promise<Account[]> {
    return (await this.#read()).map(toAccount);
  }

  /** One user, or undefined. */
  async get(name: string): Promise<Account | undefined> {
    const record = (await this.#read()).find((user) => user.name === name);
    return record === undefined ? undefined : toAccount(record);
  }

  /** Adds a user; throws if the name is taken. */
  async add(name: string, password: string, options: AddUserOptions = {}): Promise<Account> {
    assertUserName(name);
    assertPassword(password);
    const hash = await hashPassword(password);
    return this.#update((users) => {
      if (users.some((user) => user.name === name)) throw new TypeError(`user ${name} already exists`);
      const record: AccountRecord = { name, hash, quota: options.quota ?? null, canExec: options.canExec ?? false, created: new Date().toISOString() };
      users.push(record);
      return toAccount(record);
    });
  }

  /** Changes a user's password. */
  async setPassword(name: string, password: string): Promise<void> {
    assertPassword(password);
    const hash = await hashPassword(password);
    await this.#update((users) => {
      findOrThrow(users, name).hash = hash;
    });
  }

  /** Changes a user's quota or exec permission. */
  async setOptions(name: string, options: AddUserOptions): Promise<Account> {
    if (options.quota !== undefined && options.quota !== null && !(Number.isSafeInteger(options.quota) && options.quota >= 0)) {
      throw new TypeError("options.quota must be a non-negative integer of bytes, or null");
    }
    return this.#update((users) => {
      const user = findOrThrow(users, name);
      if (options.quota !== undefined) user.quota = options.quota;
      if (options.canExec !== undefined) user.canExec = options.canExec;
      return toAccount(user);
    });
  }

  /** Removes a user (their files stay in the data folder). */
  async remove(name: string): Promise<void> {
    await this.#update((users) => {
      users.splice(users.indexOf(findOrThrow(users, name)), 1);
    });
  }

  /** The account if the password is right, else null. Takes as long for unknown users as for known ones. */
  async verify(name: string, password: string): Promise<Account | null> {
    const record = (await this.#read()).find((user) => user.name === name);
    const ok = await verifyPassword(password, record?.hash ?? DUMMY_HASH);
    return record !== undefined && ok ? toAccount(record) : null;
  }

  #read(): Promise<AccountRecord[]> {
    return this.#file.read();
  }

  /** Read-modify-write, one at a time within this process, written atomically. */
  #update<T>(change: (users: AccountRecord[]) => T): Promise<T> {
    return this.#file.update(change);
  }
}

// A real hash of a random password, so that verifying an unknown user costs a full scrypt too.
const DUMMY_HASH = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

function assertPassword(password: string): void {
  if (typeof password !== "string" || password.length === 0) throw new TypeError("the password must not be empty");
  if (password.length > 1024) throw new TypeError("the password must be at most 1024 characters");
}

function findOrThrow(users: AccountRecord[], name: string): AccountRecord {
  const user = users.find((candidate) => candidate.name === name);
  if (user === undefined) throw new TypeError(`no such user: ${name}`);
  return user;
}

function toAccount(record: AccountRecord): Account {
  return { name: record.name, quota: record.quota, canExec: record.canExec, created: record.created };
}
