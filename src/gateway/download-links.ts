/**
 * Download links (issue 13): short-lived, unguessable, self-verifying tokens that let a browser fetch one file of
 * one user over plain HTTP (`GET /dl/<token>`), so that its own download manager can resume with `Range`.
 *
 * A token is `PAYLOAD.MAC`, both base64url: the payload is JSON naming the user, the path in their home, the
 * file's content hash when the link was made, the expiry and a random nonce; the MAC is HMAC-SHA256 of the
 * payload under a key kept in the data folder. Nothing is stored per link: any process that can read the key (every
 * worker of `--workers`, every node sharing the data folder) checks a token by recomputing its MAC. A link made for
 * one user's file can be changed into no other (a changed byte breaks the MAC), and it stops working once it
 * expires or once the file's content changes (the hash no longer matches).
 *
 * This module imports nothing of wharf's, so the files service (which makes links) and the HTTP gateway (which
 * serves them) can both use it without an upward import.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The name of the key file in the data folder (mode 0600, 32 random bytes, made on first use). */
export const LINK_KEY_FILE = "download-links.key";

/** Default lifetime of a link: 10 minutes. */
export const DEFAULT_LINK_TTL = 10 * 60_000;

/** Longest lifetime a link may be given: 24 hours (a longer `ttl` is cut to it). */
export const MAX_LINK_TTL = 24 * 3600_000;

/** The longest token accepted: a path of 4096 bytes, base64url-encoded, fits with room to spare. */
const MAX_TOKEN_LENGTH = 8192;
const KEY_BYTES = 32;
/** Domain separation: a MAC made for something else under the same key never verifies as a link. */
const MAC_CONTEXT = "wharf download link v1\n";
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** What a link grants: one user's one file, as it was when the link was made, until `expires`. */
export interface LinkGrant {
  /** The user whose home the file is in. */
  user: string;
  /** The normalised path relative to that home. */
  path: string;
  /** The file's content hash when the link was made, `"ALG:HEX"`: a file changed since is refused. */
  hash: string;
  /** When the link stops working, ms since the epoch. */
  expires: number;
}

/** Why a token was refused: it is not a token of this key (`forged`), or its time is over (`expired`). */
export type LinkRefusal = "forged" | "expired";

/** The outcome of {@link DownloadLinks.verify}. */
export type LinkCheck = { ok: true; grant: LinkGrant } | { ok: false; reason: LinkRefusal };

/**
 * Makes and checks download-link tokens with the key of a data folder. The key is read (or made) once, on first
 * use, and cached.
 *
 * @example
 * ```ts
 * const links = new DownloadLinks(dataDir);
 * const { token, expires } = await links.sign({ user: "alice", path: "docs/a.pdf", hash: "blake3:…", expires: Date.now() + 600_000 });
 * const check = await links.verify(token); // { ok: true, grant: { user: "alice", path: "docs/a.pdf", … } }
 * ```
 */
export class DownloadLinks {
  readonly #dataDir: string;
  #key: Promise<Buffer> | null = null;

  constructor(dataDir: string) {
    if (typeof dataDir !== "string" || dataDir.length === 0) throw new TypeError("dataDir must be the data folder's path");
    this.#dataDir = dataDir;
  }

  /** Makes the token of a grant. */
  async sign(grant: LinkGrant): Promise<{ token: string; expires: number }> {
    const payload = Buffer.from(
      JSON.stringify({ u: grant.user, p: grant.path, h: grant.hash, e: grant.expires, n: randomBytes(12).toString("base64url") }),
    ).toString("base64url");
    const mac = await this.#mac(payload);
    return { token: `${payload}.${mac.toString("base64url")}`, expires: grant.expires };
  }

  /**
   * Checks a token: its MAC under this folder's key, then its expiry against `now`. Never throws for any input
   * (a malformed token is `forged`); rejects only when the key cannot be read.
   */
  async verify(token: string, now = Date.now()): Promise<LinkCheck> {
    const forged: LinkCheck = { ok: false, reason: "forged" };
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return forged;
    const dot = token.indexOf(".");
    if (dot <= 0 || dot !== token.lastIndexOf(".")) return forged;
    const payload = token.slice(0, dot);
    const macText = token.slice(dot + 1);
    if (!BASE64URL.test(payload) || !BASE64URL.test(macText)) return forged;
    const given = Buffer.from(macText, "base64url");
    const expected = await this.#mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return forged;
    const grant = parseGrant(Buffer.from(payload, "base64url").toString("utf8"));
    if (grant === null) return forged;
    if (now >= grant.expires) return { ok: false, reason: "expired" };
    return { ok: true, grant };
  }

  async #mac(payload: string): Promise<Buffer> {
    const key = await (this.#key ??= loadOrCreateKey(this.#dataDir));
    return createHmac("sha256", key).update(MAC_CONTEXT).update(payload).digest();
  }
}

function parseGrant(text: string): LinkGrant | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { u, p, h, e } = value as Record<string, unknown>;
  if (typeof u !== "string" || typeof p !== "string" || typeof h !== "string" || typeof e !== "number" || !Number.isSafeInteger(e)) return null;
  return { user: u, path: p, hash: h, expires: e };
}

/**
 * Reads the folder's link key, making it if there is none. Several processes may start at once on one data folder:
 * the key is written whole to a private temporary name and then hard-linked into place, which fails for all but
 * the first, so nobody ever reads a half-written key, and everyone ends up with the same one.
 */
async function loadOrCreateKey(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, LINK_KEY_FILE);
  const existing = await readKey(path);
  if (existing !== null) return existing;
  await mkdir(dataDir, { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temp, randomBytes(KEY_BYTES), { mode: 0o600, flag: "wx" });
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await rm(temp, { force: true });
  }
  const key = await readKey(path);
  if (key === null) throw new Error(`${path}: the download-link key vanished while it was being made`);
  return key;
}

async function readKey(path: string): Promise<Buffer | null> {
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  if (key.length < KEY_BYTES) throw new Error(`${path}: the download-link key is shorter than ${KEY_BYTES} bytes (delete it to make a new one; every link made so far stops working)`);
  return key;
}
