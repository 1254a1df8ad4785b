import { chmod, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { writeAtomically } from "../services/shared/atomic-write.js";

/** What `wharf login` keeps for one server: the user and the server-issued token, never the password. */
export interface SavedLogin {
  user: string;
  token: string;
  /** Milliseconds since the epoch. */
  expires: number;
}

interface HostsFile {
  version: 1;
  servers: Record<string, SavedLogin>;
}

/** The user's wharf config folder: `$XDG_CONFIG_HOME/wharf`, else `~/.config/wharf` (as gh does). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== "" ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
  return join(base, "wharf");
}

/** The file of saved logins, by server URL (mode 0600, in a 0700 folder). */
export function hostsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), "hosts.json");
}

/** A server URL as a key: what was typed, without a trailing slash. */
export function serverKey(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

async function readHosts(): Promise<HostsFile> {
  try {
    const parsed = JSON.parse(await readFile(hostsPath(), "utf8")) as HostsFile;
    if (parsed?.version === 1 && typeof parsed.servers === "object" && parsed.servers !== null) return parsed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
  }
  return { version: 1, servers: {} };
}

async function writeHosts(hosts: HostsFile): Promise<void> {
  const dir = configDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeAtomically(hostsPath(), `${JSON.stringify(hosts, null, 2)}\n`); // 0600
}

/**
 * The one interface behind which the CLI keeps its logins: a file now; a keychain could replace it without
 * touching the verbs.
 */
export const savedLogins = {
  /** The saved login for a server, unless it has expired. */
  async get(url: string, now = Date.now()): Promise<SavedLogin | undefined> {
    const found = (await readHosts()).servers[serverKey(url)];
    return found !== undefined && typeof found.token === "string" && found.expires > now ? found : undefined;
  },
  async set(url: string, login: SavedLogin): Promise<void> {
    const hosts = await readHosts();
    hosts.servers[serverKey(url)] = login;
    await writeHosts(hosts);
  },
  /** Forgets a server's login; resolves what was saved (even if expired). */
  async delete(url: string): Promise<SavedLogin | undefined> {
    const hosts = await readHosts();
    const found = hosts.servers[serverKey(url)];
    if (found === undefined) return undefined;
    delete hosts.servers[serverKey(url)];
    await writeHosts(hosts);
    return found;
  },
};
