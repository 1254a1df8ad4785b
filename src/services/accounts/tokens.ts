import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { JsonListFile } from "../shared/json-list-file.js";

/** Default lifetime of a login token: 30 days. */
export const DEFAULT_TOKEN_TTL = 30 * 24 * 3600_000;

/** A login token as a store keeps it: never the token itself, only its sha256. */
export interface TokenRecord {
  /** sha256 of the token, hex; its first 12 digits name the session in `wharf user sessions`. */
  hash: string;
  user: string;
  /** Whole milliseconds since the epoch. */
  created: number;
  /** Whole milliseconds since the epoch; the token is refused from then on. */
  expires: number;
}

/**
 * Where login tokens live. One interface, so that a shared store (a later issue puts them in Redis, so that any
 * node of a cluster accepts them) replaces the file store without touching `auth` or the CLI. Every method is
 * async; a store may be shared by several processes.
 */
export interface TokenStore {
  /** Keeps a new token's record. */
  add(record: TokenRecord): Promise<void>;
  /** The live (unexpired) record of a token hash, or undefined. */
  find(hash: string, now?: number): Promise<TokenRecord | undefined>;
  /** Drops one token; true when it was there. */
  remove(hash: string): Promise<boolean>;
  /** Every live token of a user, oldest first. */
  listUser(user: string, now?: number): Promise<TokenRecord[]>;
  /** Drops every token of a user; resolves how many were dropped. */
  removeUser(user: string): Promise<number>;
}

/** The sha256 (hex) of a token, as stores key it. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random token: 32 bytes (256 bits) as base64url, prefixed `wharf_` so that it is recognisable in a leak. */
export function newToken(): string {
  return `wharf_${randomBytes(32).toString("base64url")}`;
}

/**
 * Issues a token for `user` valid `ttl` ms and keeps its hash in `store`. Resolves the token (shown once: the
 * store cannot give it back) and its record.
 *
 * @example
 * ```ts
 * const store = new FileTokenStore("./wharf-data");
 * const { token, record } = await issueToken(store, "alice", DEFAULT_TOKEN_TTL);
 * (await store.find(hashToken(token)))?.user; // "alice"
 * ```
 */
export async function issueToken(store: TokenStore, user: string, ttl: number): Promise<{ token: string; record: TokenRecord }> {
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new RangeError("ttl must be a positive integer of milliseconds");
  const token = newToken();
  const created = Date.now();
  const record: TokenRecord = { hash: hashToken(token), user, created, expires: created + ttl };
  await store.add(record);
  return { token, record };
}

const recordSchema = z.object({ hash: z.string(), user: z.string(), created: z.number().int(), expires: z.number().int() });

/**
 * Tokens in `<data>/tokens.json` (mode 0600), beside `users.json`: what one server, and `wharf user sessions` or
 * `revoke` run on its machine, share. Written atomically; expired tokens are dropped on each write. A change made
 * by another process is seen on the next read.
 *
 * @example
 * ```ts
 * const store = new FileTokenStore("./wharf-data");
 * await store.removeUser("alice"); // log alice out everywhere
 * ```
 */
export class FileTokenStore implements TokenStore {
  readonly path: string;
  #file: JsonListFile<TokenRecord>;

  constructor(dataDir: string) {
    this.path = join(dataDir, "tokens.json");
    this.#file = new JsonListFile(this.path, "tokens", recordSchema, "token list");
  }

  async add(record: TokenRecord): Promise<void> {
    await this.#update((tokens) => void tokens.push(record));
  }

  async find(hash: string, now = Date.now()): Promise<TokenRecord | undefined> {
    return (await this.#read()).find((record) => record.hash === hash && record.expires > now);
  }

  async remove(hash: string): Promise<boolean> {
    return this.#update((tokens) => {
      const at = tokens.findIndex((record) => record.hash === hash);
      if (at >= 0) tokens.splice(at, 1);
      return at >= 0;
    });
  }

  async listUser(user: string, now = Date.now()): Promise<TokenRecord[]> {
    return (await this.#read()).filter((record) => record.user === user && record.expires > now).sort((a, b) => a.created - b.created);
  }

  async removeUser(user: string): Promise<number> {
    return this.#update((tokens) => {
      const before = tokens.length;
      const kept = tokens.filter((record) => record.user !== user);
      tokens.splice(0, tokens.length, ...kept);
      return before - kept.length;
    });
  }

  #read(): Promise<TokenRecord[]> {
    return this.#file.read();
  }

  /** Read-modify-write of the live tokens: expired ones are dropped on every write. */
  #update<T>(change: (tokens: TokenRecord[]) => T): Promise<T> {
    return this.#file.update((tokens) => {
      const now = Date.now();
      const live = tokens.filter((record) => record.expires > now);
      tokens.splice(0, tokens.length, ...live);
      return change(tokens);
    });
  }
}
