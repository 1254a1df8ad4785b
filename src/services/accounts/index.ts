/**
 * Accounts: the users of a data folder, password hashing, login throttling and the `auth` request type.
 *
 * @module
 */
export { AccountErrorCode } from "./errors.js";
export { hashPassword, verifyPassword } from "./password.js";
export { currentUser, login, registerAuth, type AuthOptions } from "./session.js";
export { AccountStore, USER_NAME, assertUserName, type Account, type AddUserOptions } from "./store.js";
/** Kept here for compatibility: the helper lives in services/shared, used by every service that writes files. */
export { writeAtomically } from "../shared/atomic-write.js";
export { LoginThrottle, type LoginThrottleOptions } from "./throttle.js";
