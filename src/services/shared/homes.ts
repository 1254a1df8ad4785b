import { join } from "node:path";
import { assertUserName } from "../accounts/store.js";

/**
 * Where users' homes live in a data folder: `<data>/homes/<user>`. The files service stores a user's files
 * there and exec runs their commands there, so both must agree on this one layout.
 *
 * @example
 * ```ts
 * homeOf("/srv/wharf-data", "alice"); // "/srv/wharf-data/homes/alice"
 * ```
 */
export function homesDir(dataDir: string): string {
  return join(dataDir, "homes");
}

/** The home of a user (not created); throws a TypeError for a name that is not a valid user name. */
export function homeOf(dataDir: string, user: string): string {
  assertUserName(user);
  return join(homesDir(dataDir), user);
}
