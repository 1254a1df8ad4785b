/**
 * One running command: its process group, its output pumped to the client with backpressure, its standard input,
 * and its limits (time, output bytes). However it ends, nothing it started is left running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { openStdioPipes, type StdioPipes } from "./stdio-pipes.js";
import { WharfError } from "../../wire/index.js";
import { execChannel } from "../shared/channels.js";
import { ExecErrorCode } from "./errors.js";
import type { ExecResult, OutputStream } from "./messages.js";
import { spawnFailure } from "./os-limits.js";
import { KILL_GRACE_MS, signalGroup, trackGroup, untrackGroup } from "./process-group.js";

/** What a run needs: the program, its surroundings, its limits, and where its output goes. */
export interface RunSpec {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Milliseconds until the command is killed with `E_EXEC_TIMEOUT`. */
  timeout: number;
  /** Output bytes (stdout + stderr) after which the command is killed with `E_EXEC_OUTPUT_LIMIT`. */
  maxOutput: number;
  /** Keep stdin open for {@link ExecRun.writeStdin}; otherwise it is closed at once. */
  stdin: boolean;
  /** Aborting kills the command; the run fails with the signal's reason. */
  signal: AbortSignal;
  /** Delivers a chunk of output; the command's output is paused until the promise settles (backpressure). */
  send(stream: OutputStream, chunk: Buffer): Promise<void>;
}

/**
 * A command started in a process group of its own. `result` settles once the command has exited and all its
 * output is delivered: it resolves the exit code or signal, or rejects with why it was stopped. The constructor
 * throws a WharfError when the OS refuses the spawn outright (`E_INVALID_PARAMS` for an argument vector it
 * cannot take, `E_EXEC_SPAWN` otherwise).
 *
 * @example
 * ```ts
 * const run = new ExecRun({ file: "ls", args: ["-l"], cwd: home, env, timeout: 60_000, maxOutput: 1 << 20,
 *   stdin: false, signal: ctx.signal, send: (stream, chunk) => ctx.send({ stream }, chunk) });
 * const { exitCode, signal } = await run.result;
 * ```
 */
export class ExecRun {
  /** The command's process id, which is also its process group id; undefined if it could not start. */
  readonly pid: number | undefined;
  readonly result: Promise<ExecResult>;
  #child: ChildProcess;
  /** The command's stdin, stdout and stderr: real pipes, as under ssh (see stdio-pipes.ts). */
  #stdio: StdioPipes;
  #spec: RunSpec;
  #outputs: Readable[];
  #bytes = 0;
  #sending = 0;
  #failure: WharfError | null = null;
  #timer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #exited = false;
  #onAbort = (): void => this.#stop(asWharfError(this.#spec.signal.reason));

  constructor(spec: RunSpec) {
    this.#spec = spec;
    this.#stdio = openStdioPipes();
    try {
      this.#child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: this.#stdio.childFds });
    } catch (err) {
      this.#stdio.stdin.destroy();
      this.#stdio.stdout.destroy();
      this.#stdio.stderr.destroy();
      // E2BIG, ENAMETOOLONG and a NUL byte are thrown here rather than emitted; checkSpawn() should have caught them
      throw spawnFailure(spec.file, err);
    } finally {
      // The child has its copies (or never started): ours would keep the pipes from ever ending.
      this.#stdio.closeChildEnds();
    }
    this.pid = this.#child.pid;
    if (this.pid !== undefined && execChannel.hasSubscribers) execChannel.publish({ event: "run" });
    this.#outputs = [this.#stdio.stdout, this.#stdio.stderr];
    this.#stdio.stdin.on("error", () => {}); // EPIPE when the command stops reading: stdin is then closed
    if (!spec.stdin) this.#stdio.stdin.end();
    this.result = this.pid === undefined ? this.#failedToStart() : this.#supervise();
  }

  /**
   * Writes to the command's stdin; resolves once it took the bytes (backpressure), true, or false when its stdin
   * is closed (the command exited or closed it), in which case the client should stop sending.
   */
  writeStdin(chunk: Buffer): Promise<boolean> {
    const stdin = this.#stdio.stdin;
    if (!stdin.writable) return Promise.resolve(false);
    if (stdin.write(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        stdin.off("drain", done);
        stdin.off("close", done);
        resolve(stdin.writable);
      };
      stdin.on("drain", done);
      stdin.on("close", done);
    });
  }

  /** Closes the command's stdin (end of input). */
  endStdin(): void {
    if (this.#stdio.stdin.writable) this.#stdio.stdin.end();
  }

  async #failedToStart(): Promise<ExecResult> {
    for (const stream of [this.#stdio.stdin, this.#stdio.stdout, this.#stdio.stderr]) stream.destroy();
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => this.#child.once("error", resolve));
    const name = this.#spec.file;
    if (err.code === "ENOENT") throw new WharfError(ExecErrorCode.NOT_FOUND, `${name}: command not found`, { data: { errno: err.code } });
    throw spawnFailure(name, err);
  }

  async #supervise(): Promise<ExecResult> {
    const pid = this.pid as number;
    trackGroup(pid);
    const child = this.#child;
    const ended: Promise<void>[] = [];
    for (const [stream, output] of [["stdout", this.#stdio.stdout], ["stderr", this.#stdio.stderr]] as const) {
      output.on("data", (chunk: Buffer) => this.#onOutput(stream, chunk));
      output.on("error", () => {});
      ended.push(new Promise((resolve) => output.once("close", () => resolve())));
    }
    child.on("error", () => {}); // kill() failures after exit; the close event still comes
    // When the command itself exits, whatever it left behind in its group goes too: a command's session ends
    // with it, and a leftover child holding the output pipes open would otherwise keep the run from ending.
    // Once everything got SIGKILL, the pending one is not needed, and must not outlive the group: its id could be
    // reused by an unrelated process.
    child.once("exit", () => {
      this.#exited = true;
      clearTimeout(this.#killTimer);
      signalGroup(pid, "SIGKILL");
    });
    if (this.#spec.signal.aborted) this.#onAbort();
    else this.#spec.signal.addEventListener("abort", this.#onAbort, { once: true });
    this.#timer = setTimeout(() => {
      this.#stop(new WharfError(ExecErrorCode.TIMEOUT, `the command ran longer than ${this.#spec.timeout / 1000} s and was killed`, { data: { timeout: this.#spec.timeout } }));
    }, this.#spec.timeout);
    try {
      // With fds for stdio, "close" does not wait for the output: wait for exit and for both pipes to end.
      const [[exitCode, signal]] = await Promise.all([
        new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (code, sig) => resolve([code, sig]))),
        ...ended,
      ]);
      this.#stdio.stdin.destroy();
      await this.#sendsSettled();
      if (this.#failure !== null) throw this.#failure;
      return { exitCode, signal };
    } finally {
      clearTimeout(this.#timer);
      this.#spec.signal.removeEventListener("abort", this.#onAbort);
      untrackGroup(pid);
    }
  }

  #onOutput(stream: OutputStream, data: Buffer): void {
    if (this.#failure !== null) return; // stopping: drain the pipes so that they close, keep nothing
    let chunk = data;
    const room = this.#spec.maxOutput - this.#bytes;
    const over = chunk.length > room;
    if (over) chunk = chunk.subarray(0, room);
    this.#bytes += chunk.length;
    if (chunk.length > 0) {
      // Output is delivered in the order it is read, and nothing more is read until the client took it.
      this.#sending += 1;
      if (this.#sending === 1) for (const output of this.#outputs) output.pause();
      this.#spec.send(stream, chunk).then(
        () => this.#sent(),
        (err: unknown) => {
          this.#sent();
          this.#stop(asWharfError(err));
        },
      );
    }
    if (over) {
      this.#stop(new WharfError(ExecErrorCode.OUTPUT_LIMIT, `the command wrote more than ${this.#spec.maxOutput} bytes of output and was killed`, { data: { maxOutput: this.#spec.maxOutput } }));
    }
  }

  #sent(): void {
    this.#sending -= 1;
    if (this.#sending === 0) {
      for (const output of this.#outputs) output.resume();
      this.#whenSent?.();
    }
  }

  #whenSent: (() => void) | undefined;

  #sendsSettled(): Promise<void> {
    if (this.#sending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#whenSent = resolve;
    });
  }

  /** Stops the command for a reason (first reason wins): the whole group is killed. */
  #stop(reason: WharfError): void {
    if (this.#failure !== null) return;
    this.#failure = reason;
    clearTimeout(this.#timer);
    for (const output of this.#outputs) output.resume();
    if (this.#exited) return; // the group was killed when its leader exited
    const pid = this.pid as number;
    signalGroup(pid, "SIGTERM");
    this.#killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), KILL_GRACE_MS);
  }
}

function asWharfError(reason: unknown): WharfError {
  if (reason instanceof WharfError) return reason;
  return new WharfError("E_CANCELLED", reason instanceof Error ? reason.message : "the command was cancelled");
}
