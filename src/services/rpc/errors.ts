import { ErrorCode } from "../../wire/index.js";

/** Error codes of RPC (see docs/errors.md). Handlers may throw any other `WharfError` code of their own. */
export const RpcErrorCode = {
  /** No method of that name is registered. */
  NO_METHOD: "E_NO_METHOD",
  /** The parameters do not match the method's schema (the message says how), or are malformed. */
  INVALID_PARAMS: "E_INVALID_PARAMS",
  /** The call's deadline (its `timeout`) passed before it finished; the handler was told through its signal. */
  DEADLINE: "E_DEADLINE",
  /** The caller cancelled the call (or its connection went away); the handler was told through its signal. */
  CANCELLED: ErrorCode.CANCELLED,
  /** A handler failed with an error that is not a WharfError; details are in the server log only. */
  INTERNAL: ErrorCode.INTERNAL,
  /** The server is draining for shutdown and takes no new calls (`health.check` still answers). */
  SHUTTING_DOWN: ErrorCode.SHUTTING_DOWN,
  /**
   * The reply would pass its size budget: a JSON-RPC request's reply budget (4 MiB by default) is spent, so this
   * call was stopped or not run; or an `rpc.call` result does not fit in a reply header.
   */
  BUDGET: "E_RPC_BUDGET",
} as const;
