/**
 * `wharf/accounts`: the users of a data folder (`AccountStore`), password hashing, login throttling, the `auth`
 * request type (`registerAuth`), `login()` for clients and `currentUser(ctx)` for handlers. See docs/files.md.
 *
 * @module
 */
export { AccountErrorCode } from "./errors.js";
export { hashPassword, verifyPassword } from "./password.js";
export { currentUser, registerAuth, type AuthOptions } from "./session.js";
export { login, revokeToken, type Credentials, type LoginResult } from "./login.js";
export { DEFAULT_TOKEN_TTL, FileTokenStore, hashToken, issueToken, newToken, type TokenRecord, type TokenStore } from "./tokens.js";
export { AccountStore, USER_NAME, assertUserName, type Account, type AddUserOptions } from "./store.js";
/** Kept here for compatibility: the helper lives in services/shared, used by every service that writes files. */
export { writeAtomically } from "../shared/atomic-write.js";
export { LoginThrottle, type LoginThrottleOptions } from "./throttle.js";
