/**
 * The error family of `wharf/browser`: the very {@link WharfError} class of the rest of wharf (src/errors has no
 * Node built-ins), so a failed reply carries the server's `code`, `message` and `data`, and `instanceof` holds
 * for errors made on either side of a shared bundle.
 *
 * @module
 */
export { ErrorCode } from "../errors/codes.js";
export { WharfError } from "../errors/wharf-error.js";
