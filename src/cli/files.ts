import { createWriteStream } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix, relative, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { Option, type Command } from "commander";
import type { Connection } from "../client/index.js";
import { FilesClient } from "../services/files/client.js";
import { getToStream } from "../services/files/client-get.js";
import { putFileReconnecting, type TransferResult } from "../services/files/client-put.js";
import { FileErrorCode } from "../services/files/errors.js";
import type { HashAlgorithm } from "../services/files/hash.js";
import { newTally, upToDate, type TreeTally } from "../services/files/quick-check.js";
import type { FileEntry } from "../services/files/requests.js";
import { WharfError } from "../wire/index.js";
import { CliError, CliErrorCode, action, usageError } from "./fail.js";
import { formatBytes, progressBar, type ProgressBar } from "./files-progress.js";
import { OrderedPool } from "./ordered-pool.js";
import { integerOption } from "./parse.js";
import { formatDuration, formatRate } from "./units.js";
import { tuneForThroughput } from "./process-tuning.js";
import { openSession, withClientOptions, type ClientOptions } from "./session.js";

interface OutputOptions extends ClientOptions {
  json: boolean;
  /** `--hash` of put and get. */
  hash?: HashAlgorithm;
  /** `--checksum` of put -r and get -r: compare content hashes, not size and mtime. */
  checksum?: boolean;
  /** `--dry-run` of put and get: list what would be sent, send nothing. */
  dryRun?: boolean;
  /** False with `--no-delta`: send whole files even onto an older version. */
  delta?: boolean;
  /** `--retries` of put: reconnect-and-resume attempts after a cut; default 8. */
  retries?: number;
}

/** A tree transfer under way: the other side's entries by path, and what was sent and skipped. */
interface TreeRun {
  other: Map<string, FileEntry>;
  tally: TreeTally;
  /** The tree's transfers, several at a time, printed in walk order. */
  pool: OrderedPool;
}

/** Transfers of one tree in flight at once (pipelined on one connection; see ordered-pool.ts). */
const TREE_CONCURRENCY = 8;
/** On a terminal, a file this large is sent alone, with its progress bar; smaller ones go several at a time. */
const BAR_ALONE_SIZE = 8 * 1024 * 1024;

/**
 * Runs one transfer of a tree: small files several at a time, a large one alone (on a terminal, with its bar).
 * `transfer(bar)` does the work and resolves what to print.
 */
async function treeTransfer(run: TreeRun, size: number, transfer: (bar: boolean) => Promise<() => void>): Promise<void> {
  if (size >= BAR_ALONE_SIZE && process.stderr.isTTY) {
    await run.pool.drain();
    await run.pool.submit(() => transfer(true));
    await run.pool.drain();
    return;
  }
  await run.pool.submit(() => transfer(false));
}

function emit(options: OutputOptions, json: Record<string, unknown>, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

/**
 * The connection of `wharf put`, which a put replaces when its server drains or dies: behind a balancer the new
 * one lands on another node, and the put resumes there by itself (issue 14). Puts of a tree run several at once
 * on it: when they all fail with it, the first to ask opens the new connection and the others take that one.
 */
class PutSession {
  conn: Connection;
  files: FilesClient;
  readonly #options: ClientOptions;
  #reopening: Promise<Connection> | null = null;

  constructor(options: ClientOptions, conn: Connection) {
    this.#options = options;
    this.conn = conn;
    this.files = new FilesClient(conn);
  }

  /** The connection to put on: the current one, or (after `failed` failed) a new logged-in one in its place. */
  async connection(failed: Connection | null): Promise<Connection> {
    if (failed === null || (failed !== this.conn && !this.conn.closed)) return this.conn;
    this.#reopening ??= (async () => {
      this.conn.destroy();
      try {
        this.conn = await openSession(this.#options);
        this.files = new FilesClient(this.conn);
        return this.conn;
      } finally {
        this.#reopening = null;
      }
    })();
    return this.#reopening;
  }
}

/** Runs a verb with a logged-in FilesClient and closes the connection after. */
async function withFiles(options: ClientOptions, work: (files: FilesClient, conn: Connection) => Promise<void>): Promise<void> {
  const conn = await openSession(options);
  try {
    await work(new FilesClient(conn), conn);
  } catch (err) {
    throw resumable(err);
  } finally {
    if (conn.closed) conn.destroy();
    else await conn.close();
  }
}

/** A remote folder as the server names it in listings: no leading `./`, no trailing `/`. */
function normalizeRemote(path: string): string {
  const clean = posix.normalize(path === "" ? "." : path).replace(/\/+$/, "");
  return clean === "." ? "" : clean;
}

/**
 * A transfer cut by the server going away says why, and that the same command picks up where it stopped (both
 * put and get resume from what arrived).
 */
function resumable(err: unknown): unknown {
  if (!(err instanceof WharfError) || (err.code !== "E_SHUTTING_DOWN" && err.code !== "E_CONNECTION_CLOSED")) return err;
  const why = err.code === "E_SHUTTING_DOWN" ? "the server is shutting down" : err.message;
  return new WharfError(err.code, `${why}; run the same command again to resume`, { data: err.data });
}

function joinRemote(dir: string, name: string): string {
  return dir === "" || dir === "." ? name : posix.join(dir, name);
}

async function remoteIsDir(files: FilesClient, path: string): Promise<boolean> {
  try {
    return (await files.stat(path)).type === "dir";
  } catch (err) {
    if (err instanceof WharfError && err.code === FileErrorCode.NOT_FOUND) return false;
    throw err;
  }
}

async function localKind(path: string): Promise<"file" | "dir" | "other" | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? "file" : info.isDirectory() ? "dir" : "other";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function report(options: OutputOptions, verb: "put" | "get", local: string, result: TransferResult): void {
  const rate = result.seconds > 0 ? `, ${formatRate((result.size - result.resumedFrom) / result.seconds)}` : "";
  const resumed = result.resumedFrom > 0 ? `, resumed from ${formatBytes(result.resumedFrom)}` : "";
  const arrow = verb === "put" ? `${local} -> ${result.path}` : `${result.path} -> ${local}`;
  emit(
    options,
    {
      path: result.path, local, size: result.size, hash: result.hash, ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
      resumedFrom: result.resumedFrom, sent: result.sent, seconds: Number(result.seconds.toFixed(3)), mtime: result.mtime,
    },
    `${verb} ${arrow}: ${formatBytes(result.size)} in ${formatDuration(result.seconds)}${rate}${resumed}\n  ${result.hash.replace(":", " ")}`,
  );
}

function wouldSend(options: OutputOptions, verb: "put" | "get", local: string, remote: string, size: number, tally?: TreeTally): void {
  if (tally !== undefined) {
    tally.files += 1;
    tally.sent += size;
  }
  const arrow = verb === "put" ? `${local} -> ${remote}` : `${remote} -> ${local}`;
  emit(options, { path: remote, local, size, dryRun: true }, `would ${verb} ${arrow}: ${formatBytes(size)}`);
}

function count(tally: TreeTally | undefined, result: TransferResult): void {
  if (tally === undefined) return;
  tally.files += 1;
  tally.sent += result.sent;
  tally.notSent += result.size - result.sent;
}

async function putOne(session: PutSession, options: OutputOptions, local: string, remote: string, tally?: TreeTally, shown = local): Promise<void> {
  (await putTransfer(session, options, local, remote, tally, shown, true))();
}

/** Puts one file (with a progress bar on a terminal when `withBar`); resolves what to print of it. */
async function putTransfer(session: PutSession, options: OutputOptions, local: string, remote: string, tally: TreeTally | undefined, shown: string, withBar: boolean): Promise<() => void> {
  if (options.dryRun === true) {
    const size = (await stat(local)).size;
    return () => wouldSend(options, "put", shown, remote, size, tally);
  }
  return barredTransfer(options, "put", basename(shown), shown, tally, withBar, (bar) => {
    let used: Connection | null = null;
    return putFileReconnecting(async (fresh) => (used = await session.connection(fresh ? used : null)), local, remote, {
      onProgress: bar?.onProgress,
      hash: options.hash,
      delta: options.delta === false ? false : undefined,
      retries: options.retries,
      onRetry: ({ attempt, retries, delayMs, error }) => {
        bar?.stop();
        process.stderr.write(`wharf: put ${shown}: ${error.code}: ${error.message}; reconnecting in ${(delayMs / 1000).toFixed(1)} s to resume (retry ${attempt} of ${retries})\n`);
      },
    });
  });
}

async function getOne(files: FilesClient, options: OutputOptions, remote: string, local: string, tally?: TreeTally, size?: number): Promise<void> {
  (await getTransfer(files, options, remote, local, tally, size, true))();
}

/** Gets one file (with a progress bar on a terminal when `withBar`); resolves what to print of it. */
async function getTransfer(files: FilesClient, options: OutputOptions, remote: string, local: string, tally: TreeTally | undefined, size: number | undefined, withBar: boolean): Promise<() => void> {
  if (options.dryRun === true) {
    const known = size ?? (await files.stat(remote)).size;
    return () => wouldSend(options, "get", local, remote, known, tally);
  }
  return barredTransfer(options, "get", posix.basename(remote), local, tally, withBar, (bar) =>
    files.get(remote, local, { onProgress: bar?.onProgress, hash: options.hash, delta: options.delta === false ? false : undefined }),
  );
}

/**
 * The part put and get share: runs `transfer` with a progress bar on a terminal (when `withBar`), stops the bar
 * however it ends, and resolves what to print of the result (counted into `tally` when printed).
 */
async function barredTransfer(
  options: OutputOptions,
  verb: "put" | "get",
  name: string,
  local: string,
  tally: TreeTally | undefined,
  withBar: boolean,
  transfer: (bar: ProgressBar | null) => Promise<TransferResult>,
): Promise<() => void> {
  const bar = withBar ? progressBar(`${verb} ${name}`) : null;
  try {
    const result = await transfer(bar);
    bar?.stop();
    return () => {
      count(tally, result);
      report(options, verb, local, result);
    };
  } finally {
    bar?.stop();
  }
}

/** Puts a local folder's files and folders under `remote`, in name order; symlinks and special files are skipped. */
async function putTree(session: PutSession, options: OutputOptions, localDir: string, remote: string, run: TreeRun): Promise<void> {
  if (options.dryRun !== true && run.other.get(remote)?.type !== "dir") await session.files.mkdir(remote, { parents: true });
  const names = (await readdir(localDir)).sort();
  for (const name of names) {
    const path = join(localDir, name);
    const info = await lstat(path);
    const to = joinRemote(remote, name);
    if (info.isDirectory()) await putTree(session, options, path, to, run);
    else if (!info.isFile()) process.stderr.write(`wharf: skipped ${path}: not a regular file or folder\n`);
    else if (await upToDate({ path, size: info.size, mtimeMs: info.mtimeMs }, run.other.get(to), options)) {
      // Printed nothing, but counted in walk order with the transfers around it.
      await run.pool.submit(async () => () => skip(run.tally, info.size));
    } else await treeTransfer(run, info.size, (bar) => putTransfer(session, options, path, to, run.tally, path, bar));
  }
}

function skip(tally: TreeTally, size: number): void {
  tally.skipped += 1;
  tally.notSent += size;
}

/** The other side's entries below `remote` (none when it does not exist yet), by path, for the quick check. */
async function remoteTree(files: FilesClient, remote: string, options: OutputOptions): Promise<Map<string, FileEntry>> {
  try {
    const entries = await files.list(remote, { recursive: true, hash: options.checksum === true });
    const root = await files.stat(remote);
    return new Map([[root.path, root], ...entries.map((entry): [string, FileEntry] => [entry.path, entry])]);
  } catch (err) {
    if (err instanceof WharfError && err.code === FileErrorCode.NOT_FOUND) return new Map();
    throw err;
  }
}

/** The last line of put -r and get -r: how many files went, how many were already there, and the bytes saved. */
function summarize(options: OutputOptions, verb: "put" | "get", tally: TreeTally): void {
  const what = options.dryRun === true ? `would ${verb}` : verb;
  emit(
    options,
    { summary: true, dryRun: options.dryRun === true, files: tally.files, sent: tally.sent, skipped: tally.skipped, notSent: tally.notSent },
    `${what}: ${tally.files} files (${formatBytes(tally.sent)} sent), ${tally.skipped} already there; ${formatBytes(tally.notSent)} not sent`,
  );
}

/**
 * `put LOCAL [REMOTE]`, or `put A B C DIR/` as scp does: with several sources the last argument is a remote folder
 * (made when it ends with `/`). `-` reads standard input (REMOTE is then needed).
 */
async function put(args: string[], options: OutputOptions & { recursive: boolean }): Promise<void> {
  tuneForThroughput("throughput");
  const sources = args.length === 1 ? args : args.slice(0, -1);
  const remoteArg = args.length === 1 ? undefined : args[args.length - 1];
  if (sources.includes("-") && (remoteArg === undefined || sources.length > 1 || remoteArg.endsWith("/"))) {
    throw usageError("put - reads standard input: name the remote file, as in put - notes.txt");
  }
  const kinds = new Map<string, "file" | "dir" | "stdin">();
  for (const localArg of sources) kinds.set(localArg, localArg === "-" ? "stdin" : await checkedLocal(localArg, options.recursive));
  const session = new PutSession(options, await openSession(options));
  try {
    if (sources.length > 1) {
      const dir = remoteArg!;
      if (!(await remoteIsDir(session.files, dir))) {
        if (!dir.endsWith("/")) throw new WharfError(FileErrorCode.NOT_DIR, `${dir}: not a remote folder (several sources go into a folder; end it with / to make it)`);
        await session.files.mkdir(dir, { parents: true });
      }
    }
    for (const localArg of sources) {
      const kind = kinds.get(localArg)!;
      if (kind === "stdin") {
        await putStdin(session, options, remoteArg!);
        continue;
      }
      const name = basename(resolve(localArg));
      let remote = remoteArg ?? name;
      if (sources.length > 1 || remote.endsWith("/") || (kind === "file" && remoteArg !== undefined && (await remoteIsDir(session.files, remote)))) remote = joinRemote(remote, name);
      if (kind === "dir") {
        const run: TreeRun = { other: await remoteTree(session.files, normalizeRemote(remote), options), tally: newTally(), pool: new OrderedPool(TREE_CONCURRENCY) };
        try {
          await putTree(session, options, localArg, normalizeRemote(remote), run);
        } finally {
          await run.pool.drain(); // transfers started before a failure finish (and print) before it is reported
        }
        summarize(options, "put", run.tally);
      } else await putOne(session, options, localArg, remote);
    }
  } catch (err) {
    throw resumable(err);
  } finally {
    // The session's connection: the first one, or the last a retry opened.
    if (session.conn.closed) session.conn.destroy();
    else await session.conn.close();
  }
}

async function checkedLocal(localArg: string, recursive: boolean): Promise<"file" | "dir"> {
  const kind = await localKind(localArg);
  if (kind === null) throw new CliError(CliErrorCode.NOT_FOUND, `${localArg}: no such local file`);
  if (kind === "other") throw new CliError(CliErrorCode.LOCAL_IO, `${localArg}: not a regular file or folder`);
  if (kind === "dir" && !recursive) throw usageError(`${localArg} is a folder: use put -r`);
  return kind;
}

/** `put - REMOTE`: the upload needs its size first, so stdin is kept in a private temporary file, then sent. */
async function putStdin(session: PutSession, options: OutputOptions, remote: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "wharf-stdin-"));
  try {
    const spool = join(dir, "stdin");
    await pipeline(process.stdin, createWriteStream(spool, { mode: 0o600 }));
    if (await remoteIsDir(session.files, remote)) throw new WharfError(FileErrorCode.IS_DIR, `${remote} is a folder: name the file to write standard input to`);
    await putOne(session, options, spool, remote, undefined, "-");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function get(remote: string, localArg: string | undefined, options: OutputOptions & { recursive: boolean }): Promise<void> {
  tuneForThroughput("throughput");
  if (localArg === "-") {
    await withFiles(options, async (_files, conn) => {
      process.stdout.on("error", () => {}); // EPIPE when the reader goes away: the get fails on its own
      const result = await getToStream(conn, remote, process.stdout, {});
      if (options.json) process.stderr.write(`${JSON.stringify({ path: result.path, local: "-", size: result.size, sha256: result.sha256, resumedFrom: 0, seconds: Number(result.seconds.toFixed(3)), mtime: result.mtime })}\n`);
    });
    return;
  }
  await withFiles(options, async (files) => {
    const entry = await files.stat(remote);
    const name = entry.name === "" ? "home" : entry.name;
    let local = localArg ?? name;
    if (entry.type === "dir") {
      if (!options.recursive) throw new WharfError(FileErrorCode.IS_DIR, `${entry.path === "" ? "(home)" : entry.path} is a folder: use get -r`);
      if (localArg !== undefined && (localArg.endsWith("/") || (await localKind(localArg)) === "dir")) local = join(localArg, name);
      // Like cp -r: the top folder is made, its missing parents are not.
      if ((await localKind(dirname(resolve(local)))) !== "dir") throw new CliError(CliErrorCode.NOT_FOUND, `${local}: no such local folder ${dirname(resolve(local))}`);
      if (options.dryRun !== true && (await localKind(local)) !== "dir") await mkdir(local);
      const tally = newTally();
      const run: TreeRun = { other: new Map(), tally, pool: new OrderedPool(TREE_CONCURRENCY) };
      try {
        await getTree(files, options, entry, local, run);
      } finally {
        await run.pool.drain();
      }
      summarize(options, "get", tally);
      return;
    }
    if (localArg !== undefined && (localArg.endsWith("/") || (await localKind(localArg)) === "dir")) local = join(localArg, name);
    await getOne(files, options, entry.path, local, undefined, entry.size);
  });
}

/** Gets a remote folder's files into `local` (made already), several at a time, printed in listing order. */
async function getTree(files: FilesClient, options: OutputOptions, entry: FileEntry, local: string, run: TreeRun): Promise<void> {
  const tally = run.tally;
  for (const child of await files.list(entry.path, { recursive: true, hash: options.checksum === true })) {
    const target = join(local, ...relative(entry.path === "" ? "." : entry.path, child.path).split("/"));
    if (child.type === "dir") {
      if (options.dryRun !== true) await mkdir(target, { recursive: true });
      continue;
    }
    const mine = await stat(target).catch(() => null);
    const here = mine?.isFile() === true ? { path: target, size: mine.size, mtimeMs: mine.mtimeMs } : null;
    if (here !== null && (await upToDate(here, child, options))) await run.pool.submit(async () => () => skip(tally, child.size));
    else await treeTransfer(run, child.size, (bar) => getTransfer(files, options, child.path, target, tally, child.size, bar));
  }
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function listLine(entry: FileEntry, long: boolean, width: number, human = false): string {
  const name = entry.type === "dir" ? `${entry.name}/` : entry.name;
  if (!long) return name;
  const size = entry.type === "dir" ? "-" : human ? formatBytes(entry.size) : String(entry.size);
  // The algorithm shows with the digest (`blake3:…`, `sha256:…`): a file keeps the one it was stored with.
  return `${entry.type === "dir" ? "d" : "-"} ${size.padStart(width)} ${formatTime(entry.mtime)} ${entry.hash ?? "-".padEnd(71)} ${name}`;
}

function hashOption(): Option {
  return new Option("--hash <alg>", "content hash to verify with (default: blake3 for put, the stored one for get)").choices(["blake3", "sha256"]);
}

/** Adds `wharf put`, `get`, `ls`, `rm`, `mkdir` and `mv`. */
export function registerFileVerbs(program: Command): void {
  withClientOptions(
    program
      .command("put")
      .description("upload a file (or a folder with -r) to your home on the server; resumes an interrupted upload")
      .argument("<local...>", "local files or folders (- for standard input), then the remote path (default: the local name; into it when it is a folder or ends with /; with several sources, a folder)")
      .option("-r, --recursive", "upload a folder and everything in it", false)
      .addOption(hashOption())
      .option("--checksum", "with -r: skip files whose content hash matches the server's, not size and mtime", false)
      .option("--dry-run", "list what would be sent; send nothing", false)
      .option("--no-delta", "send whole files, even onto an older version on the server")
      .option("--retries <n>", "when the server drains or goes away, reconnect (through a balancer: to another node) and resume this many times; 0: never", integerOption("--retries", 0, 100), 8)
      .option("--json", "one JSON object per file", false),
  ).action(action(put));

  withClientOptions(
    program
      .command("get")
      .description("download a file (or a folder with -r) from your home on the server; resumes an interrupted download")
      .argument("<remote>", "remote path")
      .argument("[local]", "local path (default: the remote name; into it when it is a folder or ends with /; - for standard output); its folder must exist")
      .option("-r, --recursive", "download a folder and everything in it", false)
      .addOption(hashOption())
      .option("--checksum", "with -r: skip files whose content hash matches the server's, not size and mtime", false)
      .option("--dry-run", "list what would be fetched; fetch nothing", false)
      .option("--no-delta", "fetch whole files, even onto an older local version")
      .option("--json", "one JSON object per file", false),
  ).action(action(get));

  withClientOptions(
    program
      .command("ls")
      .description("list a remote folder (your home by default)")
      .argument("[path]", "remote folder or file", "")
      .helpOption("--help", "display help for command")
      .option("-l, --long", "type, size, modified time (UTC) and content hash (ALG:HEX)", false)
      .option("-h, --human-readable", "with -l, sizes in KiB, MiB, GiB", false)
      .option("-R, --recursive", "everything below the folder", false)
      .option("--json", "one JSON object per entry", false),
  ).action(
    action(async (path: string, options: OutputOptions & { long: boolean; recursive: boolean; humanReadable: boolean }) => {
      await withFiles(options, async (files) => {
        const entries = await files.list(path, { recursive: options.recursive, hash: options.long });
        const sizeText = (e: FileEntry): string => (options.humanReadable ? formatBytes(e.size) : String(e.size));
        const width = Math.max(1, ...entries.map((e) => sizeText(e).length));
        for (const entry of entries) {
          const shown = options.recursive ? { ...entry, name: entry.path } : entry;
          emit(options, { ...entry }, listLine(shown, options.long, width, options.humanReadable));
        }
      });
    }),
  );

  withClientOptions(
    program
      .command("rm")
      .description("remove a remote file, or a folder with -r")
      .argument("<path>", "remote path")
      .option("-r, --recursive", "remove a folder and everything in it", false)
      .option("--json", "print a JSON object", false),
  ).action(
    action(async (path: string, options: OutputOptions & { recursive: boolean }) => {
      await withFiles(options, async (files) => {
        const result = await files.rm(path, { recursive: options.recursive });
        emit(options, result, `removed ${result.path}`);
      });
    }),
  );

  withClientOptions(
    program
      .command("mkdir")
      .description("make a remote folder")
      .argument("<path>", "remote path")
      .option("-p, --parents", "make missing parents too; an existing folder is fine", false)
      .option("--json", "print a JSON object", false),
  ).action(
    action(async (path: string, options: OutputOptions & { parents: boolean }) => {
      await withFiles(options, async (files) => {
        const result = await files.mkdir(path, { parents: options.parents });
        emit(options, result, `made ${result.path}/`);
      });
    }),
  );

  withClientOptions(
    program
      .command("mv")
      .description("move or rename a remote file or folder (into TO when it is a folder)")
      .argument("<from>", "remote path")
      .argument("<to>", "remote path")
      .option("--json", "print a JSON object", false),
  ).action(
    action(async (from: string, to: string, options: OutputOptions) => {
      await withFiles(options, async (files) => {
        const result = await files.mv(from, to);
        emit(options, result, `moved ${result.from} -> ${result.to}`);
      });
    }),
  );
}
