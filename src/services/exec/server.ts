/**
 * The server side of remote commands: the `exec.run` and `exec.stdin` request types.
 */
import { SessionKey, type RequestContext, type Server } from "../../server/index.js";
import { ErrorCode, WharfError } from "../../wire/index.js";
import { AccountErrorCode, currentUser, type AccountStore } from "../accounts/index.js";
import { once, typesAdded, type Service } from "../service.js";
import { ExecErrorCode } from "./errors.js";
import { parseRunFields, parseStdinFields } from "./messages.js";
import { cleanEnv, resolveCommand, userHome, type ExecPolicy } from "./policy.js";
import { checkArgv, checkSpawn } from "./os-limits.js";
import { ExecRun } from "./run.js";

/** What {@link registerExec} needs. */
export interface ExecDeps {
  /** The data folder: homes are `<dataDir>/homes/<user>`. */
  dataDir: string;
  accounts: AccountStore;
  /** The limits and switches; the services' config has these fields. */
  config: ExecPolicy;
}

/** The commands running for one connection, by the id of their `exec.run` request. */
const SESSION_RUNS = new SessionKey<Map<number, ExecRun>>("wharf.exec.runs");

function runsOf(ctx: RequestContext): Map<number, ExecRun> {
  return ctx.session.getOrCreate(SESSION_RUNS, () => new Map());
}

/**
 * Adds remote commands to a server. `exec.run {argv, shell?, stdin?, timeout?}` runs a command as the logged-in
 * user (who needs `canExec`) in their home with a clean environment; its output comes back as intermediate
 * frames `{stream: "stdout"|"stderr"}` + bytes, after a first `{started: true, pid}`, and the final reply is
 * `{exitCode, signal}`. `exec.stdin {ref, eof?}` + bytes feeds the stdin of run `ref` of this connection.
 * Cancelling the request, losing the connection, the time limit and the output cap all kill the command's
 * whole process group.
 *
 * Returns the service (`name` "exec"). Its `close()` kills every command still running (SIGTERM to its group,
 * SIGKILL after {@link KILL_GRACE_MS}) and resolves once each has exited; `exec.run` then answers
 * `E_SHUTTING_DOWN`. Call it after `server.close()`, which lets running commands finish within its timeout.
 *
 * @example
 * ```ts
 * const exec = registerExec(server, { dataDir, accounts, config: { execShell: false, execAllow: ["ls", "cat"],
 *   execTimeout: 60_000, execMaxOutput: 64 << 20, execMaxConcurrent: 4 } });
 * // ... on shutdown
 * await server.close();
 * await exec.close();
 * ```
 */
export function registerExec(server: Server, deps: ExecDeps): Service {
  const policy = deps.config;
  const running = new Map<string, number>();
  // Every command of this service, whatever its connection: close() stops them through this signal.
  const commands = new Set<ExecRun>();
  const closing = new AbortController();

  const types = typesAdded(server, () => addHandlers());
  const close = once(async () => {
    closing.abort(new WharfError(ErrorCode.SHUTTING_DOWN, "the server is shutting down; the command was killed"));
    // result settles only once the leader has exited and its group was killed: nothing of it is left after this.
    await Promise.all([...commands].map((run) => run.result.catch(() => {})));
  });
  return { name: "exec", types, close };

  function addHandlers(): void {
    server.handle("exec.run", async (header, _body, ctx) => {
      const fields = parseRunFields(header);
      checkArgv(fields.argv, fields.shell === true);
      if (closing.signal.aborted) throw new WharfError(ErrorCode.SHUTTING_DOWN, "the server is shutting down");
      if (ctx.channel === null) throw new WharfError(ExecErrorCode.INVALID_PARAMS, "exec needs a stream connection (tcp, tls or unix), not udp");
      const name = currentUser(ctx).name;
      const account = await deps.accounts.get(name); // fresh: the permission may have been taken away since login
      if (account === undefined || !account.canExec) {
        throw new WharfError(AccountErrorCode.FORBIDDEN, `user ${name} may not run commands (an operator can allow it: wharf user set ${name} --can-exec)`);
      }
      const { file, args } = resolveCommand(policy, fields.argv, fields.shell === true);
      const count = running.get(name) ?? 0;
      if (count >= policy.execMaxConcurrent) {
        throw new WharfError(ExecErrorCode.BUSY, `user ${name} already runs ${count} commands (the most at once is ${policy.execMaxConcurrent})`, {
          data: { maxConcurrent: policy.execMaxConcurrent },
        });
      }
      running.set(name, count + 1);
      const runs = runsOf(ctx);
      try {
        const home = await userHome(deps.dataDir, name);
        if (ctx.aborted) throw ctx.signal.reason;
        const env = cleanEnv(name, home);
        checkSpawn({ file, args, env, cwd: home });
        const run = new ExecRun({
          file,
          args,
          cwd: home,
          env,
          timeout: Math.min(fields.timeout ?? policy.execTimeout, policy.execTimeout),
          maxOutput: policy.execMaxOutput,
          stdin: fields.stdin === true,
          signal: AbortSignal.any([ctx.signal, closing.signal]),
          send: (stream, chunk) => ctx.send({ stream }, chunk),
        });
        commands.add(run);
        void run.result.finally(() => commands.delete(run)).catch(() => {});
        if (run.pid !== undefined) {
          runs.set(ctx.id, run);
          ctx.logger.info({ user: name, argv: fields.argv, shell: fields.shell === true, pid: run.pid }, "exec started");
          // Sent before any output (that comes on a later tick): the client learns the id to address stdin to.
          void ctx.send({ started: true, pid: run.pid }).catch(() => {});
        }
        const result = await run.result;
        ctx.logger.info({ user: name, pid: run.pid, ...result }, "exec ended");
        return { header: { ...result } };
      } finally {
        runs.delete(ctx.id);
        const left = (running.get(name) ?? 1) - 1;
        if (left === 0) running.delete(name);
        else running.set(name, left);
      }
    });

    server.handle("exec.stdin", async (header, body: Buffer, ctx) => {
      const { ref, eof } = parseStdinFields(header);
      currentUser(ctx);
      const run = runsOf(ctx).get(ref);
      if (run === undefined) return { header: { closed: true } };
      if (body.length > 0 && !(await run.writeStdin(body))) return { header: { closed: true } };
      if (eof === true) run.endStdin();
      return { header: { closed: false } };
    });
  }
}
