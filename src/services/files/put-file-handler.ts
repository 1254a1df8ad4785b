import { closeSync, constants, existsSync, fstatSync, fsync, futimesSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync, type BigIntStats } from "node:fs";
import { dirname } from "node:path";
import type { RequestContext } from "../../server/index.js";
import { WharfError, type RequestHeader } from "../../wire/index.js";
import { filesChannel } from "../shared/channels.js";
import { syncDirShared } from "../shared/dir-sync.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { HASH_ALGORITHMS, canHash, chooseAlgorithm, createContentHash, formatHash, hashFields, parseHash, type HashAlgorithm } from "./hash.js";
import { userHome, type FilesDeps } from "./home.js";
import type { MetaStore } from "./meta.js";
import { parseFields, putFileRequest } from "./messages.js";
import { checkFreeSpaceSync, checkQuota } from "./quota.js";
import { normalizeRemotePath, resolveInHomeSync } from "./remote-path.js";
import { serialized } from "./upload-handlers.js";
import { notePut, usageForPut } from "./usage-cache.js";

/*
 * `files.put.file` (issue 15): a small file whole in one request, for `put -r` of a tree of small files. The
 * begin/data/commit upload costs three round trips and about 30 trips through libuv's thread pool per file (lock
 * file, partial description written atomically, data, fsyncs, record, rename, folder flushes, unlinks); on a
 * busy core each trip is several thread switches, and a 10,000-file tree spent most of the server's CPU there.
 * Here the bytes are already in memory when the handler runs, so it does the same steps with synchronous calls
 * (microseconds each on a local disk) and waits only for what touches the disk: the data's fsync, and the
 * folder's flush, shared by every file renamed into that folder meanwhile (syncDirShared). Same guarantees as
 * the upload: the name's lock, the quota and free space checked first, the sender's hash checked before a byte is
 * written, the record before the rename, the rename atomic.
 */

const EMPTY = Buffer.alloc(0);

/** Removes a file if it is there: one unlink (rmSync with `force` walks it as a tree first). */
function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

function flush(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err === null ? resolve() : reject(err))));
}

function hashOf(algorithm: HashAlgorithm, bytes: Uint8Array): string {
  const hash = createContentHash(algorithm);
  hash.update(bytes);
  return hash.digest();
}

/**
 * `files.put.file {path, fileSize, mtime?, hash, hashes?}` + the whole file as the body (at most PUT_FILE_MAX
 * bytes) → `{path, fileSize, hash, sha256?, mtime}`, as a commit replies. The body's hash must equal `hash`
 * (`E_INTEGRITY` otherwise, nothing stored); the file is recorded with the algorithm the server picks from
 * `hashes` (its default if offered), hashed a second time when that is not the sender's.
 */
export async function putWholeFile(deps: FilesDeps, header: RequestHeader, body: Uint8Array | undefined, ctx: RequestContext) {
  const { account, realHome, meta } = await userHome(deps, ctx);
  const fields = parseFields(putFileRequest, header);
  const rel = normalizeRemotePath(fields.path);
  if (rel === "") throw new WharfError(FileErrorCode.IS_DIR, "put needs a file name, not your home");
  const bytes = body ?? EMPTY;
  if (bytes.length !== fields.fileSize) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${rel}: fileSize is ${fields.fileSize} but the body has ${bytes.length} bytes`);
  const claimed = parseHash(fields.hash)!; // the schema checked its form
  if (!canHash(claimed.algorithm)) {
    // `data.hashes` tells the client to put this way no more: begin/data/commit lets the two sides agree.
    throw new WharfError(FileErrorCode.INVALID_PARAMS, `${rel}: this server cannot compute ${claimed.algorithm}; use files.put.begin`, { data: { hashes: HASH_ALGORITHMS.filter(canHash) } });
  }
  const digest = hashOf(claimed.algorithm, bytes);
  if (digest !== claimed.hex) {
    const [expected, actual] = [formatHash(claimed.algorithm, claimed.hex), formatHash(claimed.algorithm, digest)];
    ctx.logger.warn({ path: rel, expected, actual }, "upload failed its integrity check");
    throw new WharfError(FileErrorCode.INTEGRITY, `${rel}: the server received content with ${claimed.algorithm} ${digest}, the sender sent ${claimed.hex}; nothing was stored`, {
      data: { expected, actual },
    });
  }
  const algorithm = chooseAlgorithm(fields.hashes ?? [claimed.algorithm], deps.defaultHash);
  const hashes: Partial<Record<HashAlgorithm, string>> = { [claimed.algorithm]: digest };
  if (algorithm !== claimed.algorithm) hashes[algorithm] = hashOf(algorithm, bytes);
  const file: WholeFile = { rel, realHome, meta, bytes, mtime: fields.mtime, algorithm, hashes };
  try {
    const mtime =
      account.quota === null
        ? await storeWholeFile(deps, file)
        : // With a quota, the check and the landing run in the user's queue, so that uploads at once see each other.
          await serialized(account.name, async () => {
            const target = resolveInHomeSync(realHome, rel, { followFinal: true });
            const replacing = target.stat?.isFile() === true ? target.stat.size : 0;
            checkQuota(account.quota, await usageForPut(realHome, deps.layout.partialsDir(realHome), replacing), bytes.length, rel);
            const stored = await storeWholeFile(deps, file);
            notePut(realHome, bytes.length, replacing);
            return stored;
          });
    if (filesChannel.hasSubscribers) filesChannel.publish({ event: "upload", bytes: bytes.length });
    ctx.logger.info({ path: rel, fileSize: bytes.length, hash: algorithm }, "upload stored");
    return { header: { path: rel, fileSize: bytes.length, ...hashFields(algorithm, hashes[algorithm]!), mtime } };
  } catch (err) {
    throw fsFailure(err, rel);
  }
}

interface WholeFile {
  rel: string;
  realHome: string;
  meta: MetaStore;
  bytes: Uint8Array;
  mtime: number | undefined;
  /** The algorithm the file is recorded with, and the digests computed of it. */
  algorithm: HashAlgorithm;
  hashes: Partial<Record<HashAlgorithm, string>>;
}

/**
 * Writes the bytes into the name's partial file (under its lock), flushes them, records them and renames them
 * into place; resolves the stored mtime (whole ms) once the folder is flushed too.
 */
async function storeWholeFile(deps: FilesDeps, file: WholeFile): Promise<number> {
  const { rel, realHome } = file;
  const paths = deps.layout.partialPaths(realHome, rel);
  const lock = deps.locks.acquireSync !== undefined ? deps.locks.acquireSync(paths.lock, deps.partialTtl) : await deps.locks.acquire(paths.lock, deps.partialTtl);
  if (lock === null) throw new WharfError(FileErrorCode.BUSY, `${rel}: another upload to this name is in progress`, { data: { path: rel } });
  let written = false;
  let recorded = false;
  let landed = false;
  let folder: string;
  let info: BigIntStats;
  try {
    checkFreeSpaceSync(deps.layout.partialsDir(realHome), file.bytes.length, rel);
    // The partial of the name (any earlier attempt's bytes go: this one has them all); the sweeper removes it
    // after the partial TTL should the server die before the rename.
    const fd = openSync(paths.data, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    written = true;
    try {
      for (let done = 0; done < file.bytes.length; ) done += writeSync(fd, file.bytes, done);
      // Seconds as a number, not a Date: a Date drops the sub-millisecond part, and the quick check compares times.
      if (file.mtime !== undefined) futimesSync(fd, file.mtime / 1000, file.mtime / 1000);
      await flush(fd); // the data (and its mtime) on disk before the name points at it
      info = fstatSync(fd, { bigint: true });
    } finally {
      closeSync(fd);
    }
    await lock.confirm?.(); // a lease: the file lands only while the name is still this upload's
    // The record goes first: the file then never appears without it (a record without a file is swept).
    file.meta.writeSync(info, file.algorithm, file.hashes[file.algorithm]!, file.hashes);
    recorded = true;
    // Resolved now, after the wait: the tree may have changed since the request came.
    const target = resolveInHomeSync(realHome, rel, { followFinal: true });
    if (target.stat?.isDirectory()) throw new WharfError(FileErrorCode.IS_DIR, `${rel}: is a directory`);
    const replaced = target.stat?.isFile() === true ? statSync(target.abs, { bigint: true }).ino : null;
    folder = dirname(target.abs);
    if (!target.parentExists) mkdirSync(folder, { recursive: true });
    renameSync(paths.data, target.abs);
    landed = true;
    // An earlier attempt's description, if any (rarely: a check is one system call, an unlink that fails makes an
    // exception as well, 3 against 9 us here; no one can create it meanwhile: it is written under the lock).
    if (existsSync(paths.info)) unlinkIfThere(paths.info);
    if (replaced !== null && replaced !== info.ino) file.meta.removeSync(replaced);
  } catch (err) {
    if (written && !landed) unlinkIfThere(paths.data);
    if (recorded && !landed) file.meta.removeSync(info!.ino); // E_IS_DIR, E_NOT_DIR...: no record of a file that is not there
    throw err;
  } finally {
    if (lock.releaseSync !== undefined) lock.releaseSync();
    else await lock.release();
  }
  await syncDirShared(folder);
  return Number((info.mtimeNs + 500_000n) / 1_000_000n); // whole ms, rounded, as a commit reports it
}
