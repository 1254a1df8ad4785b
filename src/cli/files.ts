import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { Option, type Command } from "commander";
import type { Connection } from "../client/index.js";
import { FilesClient } from "../services/files/client.js";
import { FileErrorCode } from "../services/files/errors.js";
import { blockClientIo } from "../services/files/hashing-io.js";
import type { FileEntry } from "../services/files/requests.js";
import { WharfError } from "../wire/index.js";
import { CliError, CliErrorCode, action, usageError } from "./fail.js";
import { formatBytes } from "./units.js";
import { getTree, normalizeRemote, putTree, startWalk, summarize } from "./files-tree.js";
import { emit, getOne, putOne, PutSession, resumable, type OutputOptions } from "./files-transfer.js";
import { joinRemote } from "./local-tree.js";
import { markPhase } from "./phase-timer.js";
import { integerOption } from "./parse.js";
import { deferOptimization, tuneForThroughput } from "./process-tuning.js";
import { openSession, withClientOptions, type ClientOptions } from "./session.js";

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

/**
 * `put LOCAL [REMOTE]`, or `put A B C DIR/` as scp does: with several sources the last argument is a remote folder
 * (made when it ends with `/`). `-` reads standard input (REMOTE is then needed).
 */
async function put(args: string[], options: OutputOptions & { recursive: boolean }): Promise<void> {
  deferOptimization(); // before any of the put's code runs hot (process-tuning.ts)
  blockClientIo(); // one transfer at a time: its file I/O need not go through libuv's pool (hashing-io.ts)
  const sources = args.length === 1 ? args : args.slice(0, -1);
  const remoteArg = args.length === 1 ? undefined : args[args.length - 1];
  if (sources.includes("-") && (remoteArg === undefined || sources.length > 1 || remoteArg.endsWith("/"))) {
    throw usageError("put - reads standard input: name the remote file, as in put - notes.txt");
  }
  const kinds = new Map<string, "file" | "dir" | "stdin">();
  for (const localArg of sources) kinds.set(localArg, localArg === "-" ? "stdin" : await checkedLocal(localArg, options.recursive));
  // One folder: its walk starts now, while the connection is made and the login answered (the walk gives the event
  // loop a turn every few hundred entries), not after (issue 15: a second `put -r` of an unchanged tree is all fixed costs).
  const stopWalk = new AbortController();
  const early = sources.length === 1 && kinds.get(sources[0]) === "dir" ? startWalk(sources[0], normalizeRemote(remoteFor(sources[0], remoteArg, false)), options, stopWalk.signal) : undefined;
  early?.entries.catch(() => {}); // awaited in putTree; a failed login must not leave it unhandled
  let session: PutSession;
  try {
    session = new PutSession(options, await openSession(options));
  } catch (err) {
    stopWalk.abort(); // a big tree's walk would keep the process alive after the error
    throw err;
  }
  markPhase("logged in");
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
      let remote = remoteFor(localArg, remoteArg, sources.length > 1);
      // A file put to a name that is a remote folder goes into it, as cp and scp do.
      if (kind === "file" && remote === remoteArg && (await remoteIsDir(session.files, remote))) remote = joinRemote(remote, basename(resolve(localArg)));
      // `early` is the walk of this folder (the only source) toward the same name, started before the login.
      if (kind === "dir") summarize(options, "put", await putTree(session, options, localArg, normalizeRemote(remote), early));
      else await putOne(session, options, localArg, remote);
    }
  } catch (err) {
    throw resumable(err);
  } finally {
    stopWalk.abort();
    // The session's connection: the first one, or the last a retry opened.
    if (session.conn.closed) session.conn.destroy();
    else await session.conn.close();
    markPhase("closed");
  }
}

/**
 * The remote name a put of `localArg` goes to, as far as the arguments alone say: the local name, or REMOTE, or the
 * local name inside REMOTE when there are several sources or REMOTE ends with `/`. (A single file put to an
 * existing remote folder also goes inside it, which only the server can tell.)
 */
function remoteFor(localArg: string, remoteArg: string | undefined, several: boolean): string {
  const name = basename(resolve(localArg));
  const remote = remoteArg ?? name;
  return several || remote.endsWith("/") ? joinRemote(remote, name) : remote;
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
  blockClientIo(); // as put does
  if (localArg === "-") {
    tuneForThroughput("throughput");
    await withFiles(options, async (_files, conn) => {
      process.stdout.on("error", () => {}); // EPIPE when the reader goes away: the get fails on its own
      const { getToStream } = await import("../services/files/client-get.js");
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
      summarize(options, "get", await getTree(files, options, entry, local));
      return;
    }
    if (localArg !== undefined && (localArg.endsWith("/") || (await localKind(localArg)) === "dir")) local = join(localArg, name);
    await getOne(files, options, entry.path, local, undefined, entry.size);
  });
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
