import { mkdir } from "node:fs/promises";
import { join, posix, relative } from "node:path";
import type { FilesClient } from "../services/files/client.js";
import { FileErrorCode } from "../services/files/errors.js";
import { newTally, sameSizeAndTime, upToDate, type TreeTally } from "../services/files/quick-check.js";
import { PUT_FILE_BELOW, type FileEntry } from "../services/files/requests.js";
import { WharfError } from "../wire/index.js";
import { emit, getTransfer, putTransfer, type OutputOptions, type PutSession } from "./files-transfer.js";
import { walkLocalTree, type LocalTreeEntry } from "./local-tree.js";
import { OrderedPool } from "./ordered-pool.js";
import { TreeComparison, type ComparedTree } from "./tree-compare.js";
import { markPhase } from "./phase-timer.js";
import { formatBytes } from "./units.js";

/*
 * `put -r` and `get -r`: both sides' trees compared entry by entry (rsync's quick check, quick-check.ts), and what
 * differs sent several files at a time on the one connection.
 */

/** A tree transfer under way: what was sent and skipped. */
interface TreeRun {
  tally: TreeTally;
  /** The tree's transfers, several at a time, printed in walk order. */
  pool: OrderedPool;
}

/**
 * Room for transfers of one tree in flight at once (pipelined on one connection; see ordered-pool.ts): 64 small
 * files (one `files.put.file` request each), or 8 larger ones (begin/data/commit, a get's stream). With 8 small
 * files in flight a 2,000-file put -r left both processes idle most of the time (issue 15).
 */
const TREE_SLOTS = 64;
/** The slots of a transfer of a file of PUT_FILE_BELOW bytes or more. */
const LARGE_SLOTS = 8;
/** On a terminal, a file this large is sent alone, with its progress bar; smaller ones go several at a time. */
const BAR_ALONE_SIZE = 8 * 1024 * 1024;

/** A remote folder as the server names it in listings: no leading `./`, no trailing `/`. */
export function normalizeRemote(path: string): string {
  const clean = posix.normalize(path === "" ? "." : path).replace(/\/+$/, "");
  return clean === "." ? "" : clean;
}

/**
 * Runs one transfer of a tree: small files several at a time, a large one alone (on a terminal, with its bar).
 * `transfer(bar)` does the work and resolves what to print.
 */
async function treeTransfer(run: TreeRun, size: number, transfer: (bar: boolean) => Promise<() => void>): Promise<void> {
  if (size >= BAR_ALONE_SIZE && process.stderr.isTTY) {
    await run.pool.drain();
    await run.pool.submit(() => transfer(true), TREE_SLOTS);
    await run.pool.drain();
    return;
  }
  await run.pool.submit(() => transfer(false), size < PUT_FILE_BELOW ? 1 : LARGE_SLOTS);
}

/**
 * Whether a local file is already on the other side: size and mtime, decided at once (no promise per file in the
 * common case), or with `--checksum` the content hash, a promise.
 */
function alreadyThere(local: LocalTreeEntry, other: FileEntry | undefined, options: OutputOptions): boolean | Promise<boolean> {
  return options.checksum !== true ? sameSizeAndTime(local, other) : upToDate(local, other, options);
}

function skip(tally: TreeTally, size: number): void {
  tally.skipped += 1;
  tally.notSent += size;
}

/**
 * The other side's entries below `remote` (none when it does not exist yet), by path, for the quick check: one
 * listing and one stat, sent together on the connection.
 */
async function remoteTree(files: FilesClient, remote: string, options: OutputOptions): Promise<Map<string, FileEntry>> {
  try {
    const [entries, root] = await Promise.all([files.list(remote, { recursive: true, hash: options.checksum === true }), files.stat(remote)]);
    const byPath = new Map<string, FileEntry>([[root.path, root]]);
    for (const entry of entries) byPath.set(entry.path, entry);
    return byPath;
  } catch (err) {
    if (err instanceof WharfError && err.code === FileErrorCode.NOT_FOUND) return new Map();
    throw err;
  }
}

/** A local walk toward a remote folder, started by the caller (while it connected), with its comparison if any. */
export interface EarlyWalk {
  entries: Promise<LocalTreeEntry[]>;
  /** Fed by the walk; absent with `--checksum` (the listing carries the hashes). */
  comparison?: TreeComparison;
}

/** Starts the walk of `localDir` toward `remote`, fed to a server-side comparison unless `--checksum` is asked for. */
export function startWalk(localDir: string, remote: string, options: OutputOptions, signal?: AbortSignal): EarlyWalk {
  const comparison = options.checksum === true ? undefined : new TreeComparison(remote);
  return { entries: walkLocalTree(localDir, remote, signal, comparison?.onRun), comparison };
}

/**
 * What to do with the walked entries: the positions to act on, in walk order (files to send, folders to make,
 * entries to report as skipped), whether `remote` is a folder, and the files and bytes already there. From the
 * server's answer to the walk (files.compare); with `--checksum`, or from a server without files.compare, from the
 * server's listing compared here, file by file.
 */
async function planPut(session: PutSession, options: OutputOptions, remote: string, local: LocalTreeEntry[], comparison: TreeComparison | undefined, listing: Promise<Map<string, FileEntry>> | undefined): Promise<ComparedTree> {
  const compared = comparison === undefined ? null : await comparison.result();
  if (compared !== null) return compared;
  const other = await (listing ?? remoteTree(session.files, remote, options));
  markPhase(`listed the remote tree (${other.size} entries)`);
  const plan: ComparedTree = { baseIsDir: other.get(remote)?.type === "dir", work: [], files: 0, bytes: 0 };
  for (let at = 0; at < local.length; at += 1) {
    const entry = local[at];
    let there: boolean | Promise<boolean> = false;
    if (entry.kind === "dir") there = other.get(entry.remote)?.type === "dir";
    else if (entry.kind === "file") {
      there = alreadyThere(entry, other.get(entry.remote), options);
      if (typeof there !== "boolean") there = await there;
      plan.files += 1;
      plan.bytes += entry.size;
    }
    if (!there) plan.work.push(at);
  }
  return plan;
}

/**
 * Puts a local folder's files and folders under `remote`, in name order; symlinks and special files are skipped.
 * The server compares its side with the walk while this one walks (files.compare), or lists its side meanwhile
 * (`--checksum`); nothing is sent for a file that matches. `early` is the walk when the caller started it already
 * (while it connected). Resolves the tally for the summary.
 */
export async function putTree(session: PutSession, options: OutputOptions, localDir: string, remote: string, early?: EarlyWalk): Promise<TreeTally> {
  const walk = early ?? startWalk(localDir, remote, options);
  walk.comparison?.attach(session.files);
  // With --checksum the listing (with hashes) is asked for before the walk ends, so the server lists meanwhile.
  const listing = walk.comparison === undefined ? remoteTree(session.files, remote, options) : undefined;
  listing?.catch(() => {}); // awaited below, after the walk: a walk that fails first must not leave it unhandled
  const local = await walk.entries;
  markPhase(`walked the local tree (${local.length} entries)`);
  const plan = await planPut(session, options, remote, local, walk.comparison, listing);
  markPhase(`compared with the server (${plan.work.length} to act on)`);
  const run: TreeRun = { tally: newTally(), pool: new OrderedPool(TREE_SLOTS) };
  // Every file not acted on below is already there: counted at once rather than one by one.
  let skipped = plan.files;
  let notSent = plan.bytes;
  const dryRun = options.dryRun === true;
  try {
    if (!dryRun && !plan.baseIsDir) await session.files.mkdir(remote, { parents: true });
    for (const at of plan.work) {
      const entry = local[at];
      if (entry.kind === "other") process.stderr.write(`wharf: skipped ${entry.path}: not a regular file or folder\n`);
      else if (entry.kind === "dir") {
        if (!dryRun) await session.files.mkdir(entry.remote, { parents: true });
      } else {
        skipped -= 1;
        notSent -= entry.size;
        await treeTransfer(run, entry.size, (bar) => putTransfer(session, options, entry.path, entry.remote, run.tally, entry.path, bar));
      }
    }
  } finally {
    await run.pool.drain(); // transfers started before a failure finish (and print) before it is reported
  }
  run.tally.skipped += skipped;
  run.tally.notSent += notSent;
  markPhase("compared and sent");
  return run.tally;
}

/**
 * Gets a remote folder's files into `local` (made already), several at a time, printed in listing order; the
 * local side is walked while the server lists its own. Resolves the tally for the summary.
 */
export async function getTree(files: FilesClient, options: OutputOptions, entry: FileEntry, local: string): Promise<TreeTally> {
  const listing = files.list(entry.path, { recursive: true, hash: options.checksum === true });
  listing.catch(() => {});
  const mine = new Map((await walkLocalTree(local, entry.path)).map((here): [string, LocalTreeEntry] => [here.remote, here]));
  const run: TreeRun = { tally: newTally(), pool: new OrderedPool(TREE_SLOTS) };
  try {
    for (const child of await listing) {
      const target = join(local, ...relative(entry.path === "" ? "." : entry.path, child.path).split("/"));
      const here = mine.get(child.path);
      if (child.type === "dir") {
        if (options.dryRun !== true && here?.kind !== "dir") await mkdir(target, { recursive: true });
        continue;
      }
      let there = here?.kind === "file" && alreadyThere(here, child, options);
      if (typeof there !== "boolean") there = await there;
      if (there) skip(run.tally, child.size);
      else await treeTransfer(run, child.size, (bar) => getTransfer(files, options, child.path, target, run.tally, child.size, bar));
    }
  } finally {
    await run.pool.drain();
  }
  return run.tally;
}

/** The last line of put -r and get -r: how many files went, how many were already there, and the bytes saved. */
export function summarize(options: OutputOptions, verb: "put" | "get", tally: TreeTally): void {
  const what = options.dryRun === true ? `would ${verb}` : verb;
  emit(
    options,
    { summary: true, dryRun: options.dryRun === true, files: tally.files, sent: tally.sent, skipped: tally.skipped, notSent: tally.notSent },
    `${what}: ${tally.files} files (${formatBytes(tally.sent)} sent), ${tally.skipped} already there; ${formatBytes(tally.notSent)} not sent`,
  );
}
