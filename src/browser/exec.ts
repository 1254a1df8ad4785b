import type { BrowserConnection } from "./connection.js";

/** How a command ended: `exitCode` null when a signal ended it (then `signal` names it). */
export interface ExecOutcome {
  exitCode: number | null;
  signal?: string;
}

/** Options of {@link ExecClient.run}. */
export interface ExecRunOptions {
  /** Output as it is produced, in order; returning a promise holds later frames back until it settles. */
  onOutput?(stream: "stdout" | "stderr", bytes: Uint8Array): void | Promise<void>;
  /** Aborting kills the command on the server (a `cancel`); `done` rejects with `E_CANCELLED`. */
  signal?: AbortSignal;
  /** Keep the command's stdin open for {@link ExecRun.stdin} (default true); false closes it at once. */
  stdin?: boolean;
  /** Milliseconds the command may run (the server caps it with its own limit). */
  timeout?: number;
}

/** A running command. */
export interface ExecRun {
  /** The id of the `exec.run` request: what `exec.stdin` refers to. */
  readonly runId: number;
  /** Resolves how the command ended (a non-zero exit is not an error); rejects when it could not run or was stopped. */
  readonly done: Promise<ExecOutcome>;
  /** Sends text (UTF-8) to the command's stdin, once it has started. Resolves false when its stdin is closed. */
  stdin(text: string | Uint8Array): Promise<boolean>;
  /** Closes the command's stdin (end of input). */
  closeStdin(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Remote commands (`exec.run`, `exec.stdin`) from a browser: the argv runs without a shell on the server, as the
 * logged-in user, who needs the exec right (`E_FORBIDDEN` otherwise). The same request types as `wharf exec`.
 *
 * @example
 * ```ts
 * const run = new ExecClient(conn).run(["echo", "hi"], { onOutput: (s, b) => term.write(b) });
 * const { exitCode } = await run.done; // 0
 * ```
 */
export class ExecClient {
  readonly #conn: BrowserConnection;

  constructor(conn: BrowserConnection) {
    this.#conn = conn;
  }

  /** Starts a command; see {@link ExecRun}. A bad argv throws a TypeError. */
  run(argv: string[], options: ExecRunOptions = {}): ExecRun {
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === "string")) {
      throw new TypeError("argv must be a non-empty array of strings");
    }
    const conn = this.#conn;
    let runId = -1;
    let markStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const fields: Record<string, unknown> = { argv, stdin: options.stdin !== false };
    if (options.timeout !== undefined) fields.timeout = options.timeout;
    const request = conn.request({ type: "exec.run", ...fields }, undefined, {
      signal: options.signal,
      onId: (id) => (runId = id),
      onFrame: (header, body) => {
        if (header.started === true) {
          markStarted();
          return;
        }
        if (header.stream === "stdout" || header.stream === "stderr") return options.onOutput?.(header.stream, body);
      },
    });
    const done = request.then(({ header }) => {
      const outcome: ExecOutcome = { exitCode: typeof header.exitCode === "number" ? header.exitCode : null };
      if (typeof header.signal === "string") outcome.signal = header.signal;
      return outcome;
    });
    // Once the run is over, stdin has nowhere to go: the waits below end with it.
    const over = done.then(() => {}, () => {});
    const whenStarted = (): Promise<boolean> => Promise.race([started.then(() => true), over.then(() => false)]);
    return {
      runId,
      done,
      async stdin(text) {
        if (!(await whenStarted())) return false;
        const bytes = typeof text === "string" ? encoder.encode(text) : text;
        const { header } = await conn.request({ type: "exec.stdin", ref: runId }, bytes);
        return header.closed !== true;
      },
      async closeStdin() {
        if (!(await whenStarted())) return;
        await conn.request({ type: "exec.stdin", ref: runId, eof: true });
      },
    };
  }
}
