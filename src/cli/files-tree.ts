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
import { markPhase } from "./phase-timer.js";
import { formatBytes } from "./units.js";

/*
 * `put -r` and `get -r`: both sides' trees compared entry by entry (rsync's quick check, quick-check.ts), and what
 * differs sent several files at a time on the one connection.
 */

/** A tree transfer under way: the other side's entries by path, and what was sent and skipped. */
interface TreeRun {
  other: Map<string, FileEntry>;
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

/**
 * Puts a local folder's files and folders under `remote`, in name order; symlinks and special files are skipped.
 * The server lists its side while this one walks the local tree (two machines, or two cores, at once); nothing is
 * sent for a file that matches. `walked` is the local walk when the caller started it already (while it connected).
 * Resolves the tally for the summary.
 */
export async function putTree(session: PutSession, options: OutputOptions, localDir: string, remote: string, walked?: Promise<LocalTreeEntry[]>): Promise<TreeTally> {
  const listing = remoteTree(session.files, remote, options);
  listing.catch(() => {}); // awaited below, after the walk: a walk that fails first must not leave it unhandled
  const local = await (walked ?? walkLocalTree(localDir, remote));
  markPhase(`walked the local tree (${local.length} entries)`);
  const run: TreeRun = { other: await listing, tally: newTally(), pool: new OrderedPool(TREE_SLOTS) };
  markPhase(`listed the remote tree (${run.other.size} entries)`);
  const dryRun = options.dryRun === true;
  try {
    if (!dryRun && run.other.get(remote)?.type !== "dir") await session.files.mkdir(remote, { parents: true });
    for (const entry of local) {
      if (entry.kind === "dir") {
        if (!dryRun && run.other.get(entry.remote)?.type !== "dir") await session.files.mkdir(entry.remote, { parents: true });
        continue;
      }
      if (entry.kind === "other") {
        process.stderr.write(`wharf: skipped ${entry.path}: not a regular file or folder\n`);
        continue;
      }
      let there = alreadyThere(entry, run.other.get(entry.remote), options);
      if (typeof there !== "boolean") there = await there;
      if (there) skip(run.tally, entry.size);
      else await treeTransfer(run, entry.size, (bar) => putTransfer(session, options, entry.path, entry.remote, run.tally, entry.path, bar, entry.size));
    }
  } finally {
    await run.pool.drain(); // transfers started before a failure finish (and print) before it is reported
  }
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
  const run: TreeRun = { other: new Map(), tally: newTally(), pool: new OrderedPool(TREE_SLOTS) };
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
