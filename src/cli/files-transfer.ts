import { stat } from "node:fs/promises";
import { basename, posix } from "node:path";
import type { Connection } from "../client/index.js";
import { FilesClient } from "../services/files/client.js";
import type { TransferResult } from "../services/files/client-put.js";
import type { HashAlgorithm } from "../services/files/hash.js";
import type { TreeTally } from "../services/files/quick-check.js";
import { WharfError } from "../wire/index.js";
import { formatBytes, progressBar, type ProgressBar } from "./files-progress.js";
import { formatDuration, formatRate } from "./units.js";
import { tuneForThroughput } from "./process-tuning.js";
import { openSession, type ClientOptions } from "./session.js";

/*
 * One file's put or get as the CLI runs it (progress bar, what to print, what to count), shared by the single-file
 * verbs in files.ts and the tree walks in files-tree.ts.
 */

/** The options of put and get that shape a transfer and its output. */
export interface OutputOptions extends ClientOptions {
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

let tuned = false;

/** A transfer of at least this many bytes tunes the process first; smaller ones are not worth its cost. */
export const TUNE_FROM_BYTES = 64 * 1024 * 1024;

/**
 * Tunes the process for moving bytes (process-tuning.ts) before its first big get, not at start-up. The tuning
 * costs ~20 ms of CPU (page faults of a few MiB); a command that fetches a few small files does not pay it.
 * Measured on 1 GiB gets without it, one run in three faulted 30,000 pages instead of 11,000 (glibc trimming and
 * refaulting its heap): big gets keep it. `size` undefined (not known before the transfer) tunes too. A put does
 * not tune: it reads into reused buffers and mallocs nothing per chunk, so the tuning only cost it, about 1,300
 * page faults and 0.02-0.05 CPU s per put of 1 GiB (docs/architecture.md).
 */
function tuneFor(size: number | undefined): void {
  if (tuned || (size !== undefined && size < TUNE_FROM_BYTES)) return;
  tuned = true;
  tuneForThroughput("throughput");
}

let corked = false;

/**
 * Prints one result: a JSON line with `--json`, else the text. The lines printed in one turn of the event loop
 * go out in one write (stdout corked until the next turn): a `put -r` of small files prints several per turn, and
 * a write per line to a pipe cost 10% of the client's CPU (issue 15).
 */
export function emit(options: OutputOptions, json: Record<string, unknown>, text: string): void {
  if (!corked) {
    corked = true;
    process.stdout.cork();
    setImmediate(() => {
      corked = false;
      process.stdout.uncork();
    });
  }
  process.stdout.write(options.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

/**
 * The connection of `wharf put`, which a put replaces when its server drains or dies: behind a balancer the new
 * one lands on another node, and the put resumes there by itself (issue 14). Puts of a tree run several at once
 * on it: when they all fail with it, the first to ask opens the new connection and the others take that one.
 */
export class PutSession {
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

/**
 * A transfer cut by the server going away says why, and that the same command picks up where it stopped (both
 * put and get resume from what arrived).
 */
export function resumable(err: unknown): unknown {
  if (!(err instanceof WharfError) || (err.code !== "E_SHUTTING_DOWN" && err.code !== "E_CONNECTION_CLOSED")) return err;
  const why = err.code === "E_SHUTTING_DOWN" ? "the server is shutting down" : err.message;
  return new WharfError(err.code, `${why}; run the same command again to resume`, { data: err.data });
}

function report(options: OutputOptions, verb: "put" | "get", local: string, result: TransferResult): void {
  const rate = result.seconds > 0 ? `, ${formatRate((result.size - result.resumedFrom) / result.seconds)}` : "";
  const resumed = result.resumedFrom > 0 ? `, resumed from ${formatBytes(result.resumedFrom)}` : "";
  // A delta (issue 15): say how little crossed, as rsync's "speedup" line does.
  const sent = result.sent < result.size - result.resumedFrom ? `, ${formatBytes(result.sent)} of it sent (the rest was there)` : "";
  const arrow = verb === "put" ? `${local} -> ${result.path}` : `${result.path} -> ${local}`;
  emit(
    options,
    {
      path: result.path, local, size: result.size, hash: result.hash, ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
      resumedFrom: result.resumedFrom, sent: result.sent, seconds: Number(result.seconds.toFixed(3)), mtime: result.mtime,
    },
    `${verb} ${arrow}: ${formatBytes(result.size)} in ${formatDuration(result.seconds)}${rate}${resumed}${sent}\n  ${result.hash.replace(":", " ")}`,
  );
}

export function wouldSend(options: OutputOptions, verb: "put" | "get", local: string, remote: string, size: number, tally?: TreeTally): void {
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

export async function putOne(session: PutSession, options: OutputOptions, local: string, remote: string, tally?: TreeTally, shown = local): Promise<void> {
  (await putTransfer(session, options, local, remote, tally, shown, true))();
}

/** Puts one file (with a progress bar on a terminal when `withBar`); resolves what to print of it. */
export async function putTransfer(session: PutSession, options: OutputOptions, local: string, remote: string, tally: TreeTally | undefined, shown: string, withBar: boolean): Promise<() => void> {
  if (options.dryRun === true) {
    const size = (await stat(local)).size;
    return () => wouldSend(options, "put", shown, remote, size, tally);
  }
  // Loaded with the first transfer, not at start-up (see FilesClient.put).
  const { putFileReconnecting } = await import("../services/files/client-put.js");
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

export async function getOne(files: FilesClient, options: OutputOptions, remote: string, local: string, tally?: TreeTally, size?: number): Promise<void> {
  (await getTransfer(files, options, remote, local, tally, size, true))();
}

/** Gets one file (with a progress bar on a terminal when `withBar`); resolves what to print of it. */
export async function getTransfer(files: FilesClient, options: OutputOptions, remote: string, local: string, tally: TreeTally | undefined, size: number | undefined, withBar: boolean): Promise<() => void> {
  if (options.dryRun === true) {
    const known = size ?? (await files.stat(remote)).size;
    return () => wouldSend(options, "get", local, remote, known, tally);
  }
  tuneFor(size);
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
