/**
 * Remote commands: `exec.run` / `exec.stdin` on the server, {@link execCommand} on the client. See docs/exec.md.
 *
 * @module
 */
/** Re-exported: exec needs a logged-in connection of a user with `canExec`. */
export { login } from "../accounts/index.js";
export { execCommand, type ExecCommandOptions } from "./client.js";
export { ExecErrorCode } from "./errors.js";
export { parseRunFields, parseStdinFields, type ExecResult, type ExecRunFields, type ExecStdinFields, type OutputStream } from "./messages.js";
export { EXEC_PATH, cleanEnv, resolveCommand, userHome, type ExecPolicy } from "./policy.js";
export { KILL_GRACE_MS } from "./process-group.js";
export { MAX_ARG_BYTES, MAX_EXEC_BYTES, NAME_MAX, PATH_MAX, checkArgv, checkSpawn, type SpawnShape } from "./os-limits.js";
export { ExecRun, type RunSpec } from "./run.js";
export { registerExec, type ExecDeps } from "./server.js";
