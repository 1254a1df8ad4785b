import { lstat, mkdir, readdir, stat } from "node:fs/promises";
import { basename, join, posix, relative, resolve } from "node:path";
import type { Command } from "commander";
import type { Connection } from "../client/index.js";
import { FilesClient } from "../services/files/client.js";
import type { TransferResult } from "../services/files/client-put.js";
import { FileErrorCode } from "../services/files/errors.js";
import type { FileEntry } from "../services/files/requests.js";
import { WharfError } from "../wire/index.js";
import { CliError, CliErrorCode, action, usageError } from "./fail.js";
import { formatBytes, progressBar } from "./files-progress.js";
import { tuneForThroughput } from "./process-tuning.js";
import { openSession, withClientOptions, type ClientOptions } from "./session.js";

interface OutputOptions extends ClientOptions {
  json: boolean;
}

function emit(options: OutputOptions, json: Record<string, unknown>, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

/** Runs a verb with a logged-in FilesClient and closes the connection after. */
async function withFiles(options: ClientOptions, work: (files: FilesClient, conn: Connection) => Promise<void>): Promise<void> {
  const conn = await openSession(options);
  try {
    await work(new FilesClient(conn), conn);
  } finally {
    if (conn.closed) conn.destroy();
    else await conn.close();
  }
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
  const rate = result.seconds > 0 ? `${formatBytes((result.size - result.resumedFrom) / result.seconds)}/s` : "";
  const resumed = result.resumedFrom > 0 ? `, resumed from ${formatBytes(result.resumedFrom)}` : "";
  const arrow = verb === "put" ? `${local} -> ${result.path}` : `${result.path} -> ${local}`;
  emit(
    options,
    { path: result.path, local, size: result.size, sha256: result.sha256, resumedFrom: result.resumedFrom, seconds: Number(result.seconds.toFixed(3)), mtime: result.mtime },
    `${verb} ${arrow}: ${formatBytes(result.size)} in ${result.seconds.toFixed(2)} s ${rate}${resumed}\n  sha256 ${result.sha256}`,
  );
}

async function putOne(files: FilesClient, options: OutputOptions, local: string, remote: string): Promise<void> {
  const bar = progressBar(`put ${basename(local)}`);
  try {
    const result = await files.put(local, remote, { onProgress: bar?.onProgress });
    bar?.stop();
    report(options, "put", local, result);
  } finally {
    bar?.stop();
  }
}

async function getOne(files: FilesClient, options: OutputOptions, remote: string, local: string): Promise<void> {
  const bar = progressBar(`get ${posix.basename(remote)}`);
  try {
    const result = await files.get(remote, local, { onProgress: bar?.onProgress });
    bar?.stop();
    report(options, "get", local, result);
  } finally {
    bar?.stop();
  }
}

/** Puts a local folder's files and folders under `remote`, in name order; symlinks and special files are skipped. */
async function putTree(files: FilesClient, options: OutputOptions, localDir: string, remote: string): Promise<void> {
  await files.mkdir(remote, { parents: true });
  const names = (await readdir(localDir)).sort();
  for (const name of names) {
    const path = join(localDir, name);
    const info = await lstat(path);
    if (info.isDirectory()) await putTree(files, options, path, joinRemote(remote, name));
    else if (info.isFile()) await putOne(files, options, path, joinRemote(remote, name));
    else process.stderr.write(`wharf: skipped ${path}: not a regular file or folder\n`);
  }
}

async function put(localArg: string, remoteArg: string | undefined, options: OutputOptions & { recursive: boolean }): Promise<void> {
  tuneForThroughput("throughput");
  const kind = await localKind(localArg);
  if (kind === null) throw new CliError(CliErrorCode.NOT_FOUND, `${localArg}: no such local file`);
  if (kind === "other") throw new CliError(CliErrorCode.LOCAL_IO, `${localArg}: not a regular file or folder`);
  if (kind === "dir" && !options.recursive) throw usageError(`${localArg} is a folder: use put -r`);
  const name = basename(resolve(localArg));
  await withFiles(options, async (files) => {
    let remote = remoteArg ?? name;
    if (remote.endsWith("/") || (kind === "file" && remoteArg !== undefined && (await remoteIsDir(files, remote)))) remote = joinRemote(remote, name);
    if (kind === "dir") await putTree(files, options, localArg, remote);
    else await putOne(files, options, localArg, remote);
  });
}

async function get(remote: string, localArg: string | undefined, options: OutputOptions & { recursive: boolean }): Promise<void> {
  tuneForThroughput("throughput");
  await withFiles(options, async (files) => {
    const entry = await files.stat(remote);
    const name = entry.name === "" ? "home" : entry.name;
    let local = localArg ?? name;
    if (entry.type === "dir") {
      if (!options.recursive) throw new WharfError(FileErrorCode.IS_DIR, `${entry.path === "" ? "(home)" : entry.path} is a folder: use get -r`);
      if (localArg !== undefined && (localArg.endsWith("/") || (await localKind(localArg)) === "dir")) local = join(localArg, name);
      await mkdir(local, { recursive: true });
      for (const child of await files.list(entry.path, { recursive: true })) {
        const target = join(local, ...relative(entry.path === "" ? "." : entry.path, child.path).split("/"));
        if (child.type === "dir") await mkdir(target, { recursive: true });
        else await getOne(files, options, child.path, target);
      }
      return;
    }
    if (localArg !== undefined && (localArg.endsWith("/") || (await localKind(localArg)) === "dir")) local = join(localArg, name);
    await getOne(files, options, entry.path, local);
  });
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function listLine(entry: FileEntry, long: boolean, width: number): string {
  const name = entry.type === "dir" ? `${entry.name}/` : entry.name;
  if (!long) return name;
  const size = entry.type === "dir" ? "-" : String(entry.size);
  return `${entry.type === "dir" ? "d" : "-"} ${size.padStart(width)} ${formatTime(entry.mtime)} ${entry.sha256 ?? "-".padEnd(64)} ${name}`;
}

/** Adds `wharf put`, `get`, `ls`, `rm`, `mkdir` and `mv`. */
export function registerFileVerbs(program: Command): void {
  withClientOptions(
    program
      .command("put")
      .description("upload a file (or a folder with -r) to your home on the server; resumes an interrupted upload")
      .argument("<local>", "local file or folder")
      .argument("[remote]", "remote path (default: the local name; into it when it is a folder or ends with /)")
      .option("-r, --recursive", "upload a folder and everything in it", false)
      .option("--json", "one JSON object per file", false),
  ).action(action(put));

  withClientOptions(
    program
      .command("get")
      .description("download a file (or a folder with -r) from your home on the server; resumes an interrupted download")
      .argument("<remote>", "remote path")
      .argument("[local]", "local path (default: the remote name; into it when it is a folder or ends with /)")
      .option("-r, --recursive", "download a folder and everything in it", false)
      .option("--json", "one JSON object per file", false),
  ).action(action(get));

  withClientOptions(
    program
      .command("ls")
      .description("list a remote folder (your home by default)")
      .argument("[path]", "remote folder or file", "")
      .option("-l, --long", "type, size, modified time (UTC) and sha256", false)
      .option("-R, --recursive", "everything below the folder", false)
      .option("--json", "one JSON object per entry", false),
  ).action(
    action(async (path: string, options: OutputOptions & { long: boolean; recursive: boolean }) => {
      await withFiles(options, async (files) => {
        const entries = await files.list(path, { recursive: options.recursive, sha256: options.long });
        const width = Math.max(1, ...entries.map((e) => String(e.size).length));
        for (const entry of entries) {
          const shown = options.recursive ? { ...entry, name: entry.path } : entry;
          emit(options, { ...entry }, listLine(shown, options.long, width));
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
