/** Error codes of accounts and sessions (see docs/errors.md). */
export const AccountErrorCode = {
  /** Not logged in, or a wrong user name or password. */
  AUTH: "E_AUTH",
  /** Logged in, but this user may not do that. */
  FORBIDDEN: "E_FORBIDDEN",
  /** Too many failed logins from this peer or for this user: wait and retry. */
  AUTH_THROTTLED: "E_AUTH_THROTTLED",
} as const;
