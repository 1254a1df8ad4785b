/**
 * Accounts: the users of a data folder, password hashing, login throttling and the `auth` request type.
 *
 * @module
 */
export { AccountErrorCode } from "./errors.js";
export { hashPassword, verifyPassword } from "./password.js";
export { currentUser, login, registerAuth, type AuthOptions } from "./session.js";
export { AccountStore, USER_NAME, assertUserName, type Account, type AddUserOptions } from "./store.js";
export { writeAtomically } from "./write-atomically.js";
export { LoginThrottle, type LoginThrottleOptions } from "./throttle.js";
