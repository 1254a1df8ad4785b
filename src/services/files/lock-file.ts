import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { closeSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { stat } from "node:fs/promises";

/** A held name lock of an upload: a {@link LockFile}, or a Redis lease (redis-lease.ts). */
export interface NameLock {
  /** Gives the lock back (idempotent). */
  release(): Promise<void>;
  /**
   * Set once the lock can no longer be trusted (a lease that expired or was taken over): the upload must stop
   * writing. Absent or false for a lock file, which cannot be lost while its process lives.
   */
  readonly lost?: boolean;
  /** Rejects unless the lock is still this holder's (a lease checks its fencing token); a lock file resolves. */
  confirm?(): Promise<void>;
  /** {@link release} done at once, where the lock can (a lock file): the one-request put uses it (issue 15). */
  releaseSync?(): void;
}

/** Where the name locks of uploads come from: lock files (the default), or Redis leases (`wharf serve --redis`). */
export interface NameLocks {
  /** Takes the lock of `path` (the partial's `.lock` path), or resolves null when a live holder has it. */
  acquire(path: string, staleAfter: number): Promise<NameLock | null>;
  /** True when nothing holds the lock of `path`. */
  isFree(path: string, staleAfter: number): Promise<boolean>;
  /**
   * {@link acquire} done at once, where the kind of lock can (lock files: a few system calls on a local disk,
   * where a trip through libuv's thread pool per call cost more than the calls); absent for Redis leases.
   */
  acquireSync?(path: string, staleAfter: number): NameLock | null;
}

/** Name locks as lock files beside the partials: one machine (or one folder) at a time. */
export const fileNameLocks: NameLocks = {
  acquire: (path, staleAfter) => LockFile.acquire(path, staleAfter),
  isFree: (path, staleAfter) => LockFile.isFree(path, staleAfter),
  acquireSync: (path, staleAfter) => LockFile.acquireSync(path, staleAfter),
};

interface LockRecord {
  pid: number;
  host: string;
  token: string;
  created: number;
}

/**
 * A lock's token: random per process, then a counter, so that every lock taken anywhere has its own (a
 * randomBytes() call per lock, and a uname() for the host, were 3% of a one-request put's server CPU, issue 15).
 */
const TOKEN_PREFIX = randomBytes(9).toString("base64url");
let tokens = 0;
/** This host's name, asked once: lock records name it, and a lock from this host is judged by its pid. */
const HOST = hostname();

/** Lock files this process holds, by path: a file naming our pid that is not here was left by a dead process. */
const held = new Map<string, string>();

/**
 * An exclusive lock that holds across processes (`wharf serve --workers N`): a file created with O_EXCL that
 * names its holder. A lock whose holder process is gone (killed server) is stale and taken over; so is one older
 * than `staleAfter` ms whose holder cannot be checked (another host).
 *
 * @example
 * ```ts
 * const lock = await LockFile.acquire(paths.lock, ttl);
 * if (lock === null) throw new WharfError("E_BUSY", "another upload to this name is in progress");
 * try { ... } finally { await lock.release(); }
 * ```
 */
export class LockFile implements NameLock {
  readonly path: string;
  readonly #token: string;
  /** Until when (ms since the epoch) no other holder can have judged this lock stale and taken it over. */
  readonly #surelyOursUntil: number;
  #released = false;

  private constructor(path: string, token: string, staleAfter: number) {
    this.path = path;
    this.#token = token;
    // Another host takes a lock over once its file is older than staleAfter by that host's clock; half of it
    // leaves room for clocks that disagree. (On this host a lock is never taken from a live process.)
    this.#surelyOursUntil = Date.now() + staleAfter / 2;
  }

  /** Takes the lock, or resolves null when a live holder has it. */
  static async acquire(path: string, staleAfter: number): Promise<LockFile | null> {
    return LockFile.acquireSync(path, staleAfter);
  }

  /**
   * {@link acquire} with synchronous calls: create (O_EXCL), write, close, and on a lock that is there, a read and
   * a stat to judge it. On a local disk these take microseconds each, where the promise calls took a trip through
   * libuv's thread pool apiece (about 6 thread switches on a busy core); uploads take and release a lock per file.
   */
  static acquireSync(path: string, staleAfter: number): LockFile | null {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (held.has(path)) return null;
      const token = `${TOKEN_PREFIX}.${(tokens += 1).toString(36)}`;
      held.set(path, token); // reserved before the file exists, so this process never judges its own lock stale
      try {
        const fd = openSync(path, "wx", 0o600);
        try {
          const record: LockRecord = { pid: process.pid, host: HOST, token, created: Date.now() };
          writeSync(fd, JSON.stringify(record));
        } finally {
          closeSync(fd);
        }
        return new LockFile(path, token, staleAfter);
      } catch (err) {
        held.delete(path);
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      if (!isStale(path, staleAfter)) return null;
      rmSync(path, { force: true });
    }
    return null;
  }

  /** True when nothing holds the lock at `path` (no file, or a stale one). */
  static async isFree(path: string, staleAfter: number): Promise<boolean> {
    try {
      await stat(path);
    } catch {
      return true;
    }
    return isStale(path, staleAfter);
  }

  /** Gives the lock back (idempotent). */
  async release(): Promise<void> {
    this.releaseSync();
  }

  /**
   * {@link release} with synchronous calls: an unlink, after a read of the file when the lock was held long enough
   * that another host may have taken it over (then it is not ours to remove). A put of a small file holds its
   * lock for a millisecond or so: the read (open, fstat, read, close) is skipped then.
   */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      const ours = Date.now() < this.#surelyOursUntil || (JSON.parse(readFileSync(this.path, "utf8")) as LockRecord).token === this.#token;
      if (ours) unlinkSync(this.path);
    } catch {
      // already gone
    } finally {
      // Only now: while the file is there, this process must go on seeing it as held.
      if (held.get(this.path) === this.#token) held.delete(this.path);
    }
  }
}

function isStale(path: string, staleAfter: number): boolean {
  if (held.has(path)) return false;
  let record: LockRecord;
  let created: number;
  try {
    const text = readFileSync(path, "utf8");
    created = statSync(path).mtimeMs;
    record = JSON.parse(text) as LockRecord;
  } catch (err) {
    // Gone, or still being written by its creator (empty): treat an unreadable lock as held unless it is old.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    try {
      return Date.now() - statSync(path).mtimeMs > Math.min(staleAfter, 60_000);
    } catch {
      return true;
    }
  }
  if (record.host === HOST) {
    if (record.pid === process.pid) return true; // not in `held`: left by an earlier process with our pid
    return !processAlive(record.pid);
  }
  return Date.now() - created > staleAfter;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
