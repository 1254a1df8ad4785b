/**
 * The bottom floor of wharf's errors: the one base class {@link WharfError}, the code constants of the runtime
 * layers, and the registry of every code. Imports nothing from the rest of wharf, so every floor may import it.
 * Users reach it through `wharf/wire` (and `wharf/client`, which re-exports it).
 *
 * @module
 */
export { ErrorCode, MultiprocessingErrorCode, PoolErrorCode, SyncErrorCode } from "./codes.js";
export { ERROR_CODES, describeErrorCode, type ErrorCodeInfo, type ErrorLayer } from "./registry.js";
export { MAX_QUOTED, quote } from "./quote.js";
export { WharfError, type WireErrorBody } from "./wharf-error.js";
