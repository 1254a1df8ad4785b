/** Error codes of remote commands (see docs/errors.md). `E_FORBIDDEN` and `E_AUTH` come from the accounts. */
export const ExecErrorCode = {
  /**
   * The request's fields are malformed (argv missing or not strings, a bad timeout, tty asked for), or the argv is
   * one the OS cannot take (a NUL byte, a name or argument over its limits; see os-limits.ts).
   */
  INVALID_PARAMS: "E_INVALID_PARAMS",
  /** The server's policy refuses this command: not on `--exec-allow`, or a shell without `--exec-shell`. */
  NOT_ALLOWED: "E_EXEC_NOT_ALLOWED",
  /** The user already runs as many commands as `--exec-max-concurrent` allows. */
  BUSY: "E_EXEC_BUSY",
  /** The program does not exist on the server's clean PATH. */
  NOT_FOUND: "E_EXEC_NOT_FOUND",
  /** The program exists but could not be started (not executable, out of processes). */
  SPAWN: "E_EXEC_SPAWN",
  /** The command ran past its time limit and was killed with everything it started. */
  TIMEOUT: "E_EXEC_TIMEOUT",
  /** The command wrote more than `--exec-max-output` bytes and was killed with everything it started. */
  OUTPUT_LIMIT: "E_EXEC_OUTPUT_LIMIT",
} as const;
