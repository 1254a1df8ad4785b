import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import type { TestContext } from "node:test";
import { pino } from "pino";
import { connect, WharfError, type Connection } from "../../../src/client/index.js";
import type { Server } from "../../../src/server/index.js";
import { AccountStore, login, registerAuth } from "../../../src/services/accounts/index.js";
import { FilesClient, registerFiles, type FilesService } from "../../../src/services/files/index.js";
import { DEFAULT_SERVICE_CONFIG } from "../../../src/services/index.js";
import { runWharf, tempDir } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";

/** An in-process server with auth and files over a fresh data folder. */
export interface FilesServer {
  server: Server;
  url: string;
  dataDir: string;
  accounts: AccountStore;
  files: FilesService;
}

export async function startFilesServer(
  t: TestContext,
  options: { dataDir?: string; partialTtl?: number; stallTimeout?: number; hash?: "blake3" | "sha256"; users?: Record<string, { quota?: number | null }> } = {},
): Promise<FilesServer> {
  const dataDir = options.dataDir ?? tempDir(t, "wharf-files-");
  const accounts = new AccountStore(dataDir);
  for (const [name, settings] of Object.entries(options.users ?? { alice: {} })) {
    await accounts.add(name, "pw", { quota: settings.quota ?? null });
  }
  let files: FilesService | undefined;
  const { server, url } = await startServer(t, {}, (s) => {
    registerAuth(s, accounts);
    files = registerFiles(s, {
      dataDir,
      accounts,
      logger: pino({ level: "silent" }),
      config: { ...DEFAULT_SERVICE_CONFIG, partialTtl: options.partialTtl ?? DEFAULT_SERVICE_CONFIG.partialTtl, hash: options.hash },
    }, { stallTimeout: options.stallTimeout });
  });
  t.after(() => files?.close());
  return { server, url, dataDir, accounts, files: files as FilesService };
}

/**
 * An in-process server with auth and files (user alice, password "pw") that does not serve the request types in
 * `without` (a server from before them: they are answered E_UNKNOWN_TYPE), and records in `served` the type of
 * every files request it handles, in order. `unknownFields` lists header fields per type that it ignores, as a
 * server from before those fields would.
 */
export async function startFilesServerWithout(
  t: TestContext,
  without: string[],
  unknownFields: Record<string, string[]> = {},
): Promise<{ url: string; dataDir: string; served: string[] }> {
  const dataDir = tempDir(t, "wharf-files-");
  const accounts = new AccountStore(dataDir);
  await accounts.add("alice", "pw");
  const served: string[] = [];
  let files: FilesService | undefined;
  const { url } = await startServer(t, {}, (s) => {
    registerAuth(s, accounts);
    type Handle = (type: string, handler: (...args: unknown[]) => unknown, ...rest: unknown[]) => unknown;
    const older = new Proxy(s, {
      get(target, key) {
        if (key === "handle") {
          return (type: string, handler: (...args: unknown[]) => unknown, ...rest: unknown[]) =>
            without.includes(type)
              ? older
              : (target.handle as unknown as Handle).call(
                  target,
                  type,
                  (header: unknown, ...args: unknown[]) => {
                    served.push(type);
                    const known = Object.fromEntries(Object.entries(header as object).filter(([field]) => !(unknownFields[type] ?? []).includes(field)));
                    return handler(known, ...args);
                  },
                  ...rest,
                );
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Server;
    files = registerFiles(older, { dataDir, accounts, logger: pino({ level: "silent" }) });
  });
  t.after(() => files?.close());
  return { url, dataDir, served };
}

/** A connection logged in as `user` (password "pw"), destroyed after the test, and its FilesClient. */
export async function session(t: TestContext, url: string, user = "alice"): Promise<{ conn: Connection; files: FilesClient }> {
  const conn = await connect(url);
  t.after(() => conn.destroy());
  await login(conn, user, "pw");
  return { conn, files: new FilesClient(conn) };
}

/** The sha256 of a local file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sha256Of(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

// The reference BLAKE3 comes from the library itself, not from src/services/files/hash.ts, so that a wrong
// wiring there (say, sha256 under a blake3 label) shows up as a mismatch.
const nativeBlake3 = createRequire(import.meta.url)("@napi-rs/blake-hash") as { blake3(input: Uint8Array): Buffer; Blake3Hasher: new () => { update(b: Uint8Array): unknown; digest(f: "hex"): string } };

/** `"blake3:HEX"` of some bytes: how a put or get names the content hash by default. */
export function blake3Of(data: Uint8Array | string): string {
  return `blake3:${nativeBlake3.blake3(typeof data === "string" ? Buffer.from(data) : data).toString("hex")}`;
}

/** `"blake3:HEX"` of a local file, streamed. */
export async function blake3File(path: string): Promise<string> {
  const hasher = new nativeBlake3.Blake3Hasher();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
  return `blake3:${hasher.digest("hex")}`;
}

/** The code of a rejected promise ("none" if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WharfError) return err.code;
    throw err;
  }
  return "none";
}

/**
 * A sparse file of `size` bytes with a few random blocks spread through it (so its hash depends on positions),
 * written without touching the rest.
 */
export async function makeSparseFile(path: string, size: number, seed = 1): Promise<void> {
  const file = await open(path, "w");
  try {
    await file.truncate(size);
    const block = createHash("sha256").update(String(seed)).digest();
    for (const at of [0, Math.floor(size / 3), Math.floor(size / 2) + 7, size - block.length]) {
      if (at >= 0 && at + block.length <= size) await file.write(block, 0, block.length, at);
    }
  } finally {
    await file.close();
  }
}

/** Runs a client verb of the real CLI as `user` (password "pw") against `url`. */
export function wharfAs(
  url: string,
  user: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runWharf([...args, "--server", url, "--user", user], { env: { WHARF_PASSWORD: "pw", ...options.env }, timeout: options.timeout ?? 60_000 });
}

/** Parses the JSON lines a `--json` verb printed. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Makes a data folder with users (password "pw") for `wharf serve --data`. */
export async function dataWithUsers(t: TestContext, users: Record<string, { quota?: number | null }> = { alice: {} }): Promise<string> {
  const dataDir = tempDir(t, "wharf-files-data-");
  const accounts = new AccountStore(dataDir);
  for (const [name, settings] of Object.entries(users)) await accounts.add(name, "pw", { quota: settings.quota ?? null });
  return dataDir;
}
