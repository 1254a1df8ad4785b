import type { Logger } from "pino";
import type { RequestContext } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { AccountErrorCode, currentUser, type Account, type AccountStore } from "../accounts/index.js";
import type { FileLayout } from "./layout.js";
import type { HashAlgorithm } from "./hash.js";
import { MetaStore } from "./meta.js";
import type { NameLocks } from "./lock-file.js";
import type { OpenUploads } from "./upload-handlers.js";

/** What every files handler works with. */
export interface FilesDeps {
  layout: FileLayout;
  accounts: AccountStore;
  logger: Logger;
  /** Partial uploads untouched this long (ms) are deleted; a lock older than this with an unknown holder is stale. */
  partialTtl: number;
  /** An upload with no request and no byte for this long (ms) is ended, its lock released, its bytes kept. */
  stallTimeout: number;
  /** The uploads begun and not ended: the service's close() ends them. */
  openUploads: OpenUploads;
  /** Where upload name locks come from: lock files, or Redis leases with `--redis`. */
  locks: NameLocks;
  /** The hash used when a client leaves the choice open, and for files without a record (`wharf serve --hash`). */
  defaultHash: HashAlgorithm;
}

/** The logged-in user of a request, with their home. */
export interface UserHome {
  account: Account;
  /** The home's real path (no symlinks). */
  realHome: string;
  meta: MetaStore;
}

/**
 * The user a request acts as (`E_AUTH` without a login), re-read from the user list so that a changed quota
 * counts at once and a removed user can do nothing more, and their home, created on first use.
 */
export async function userHome(deps: FilesDeps, ctx: RequestContext): Promise<UserHome> {
  const session = currentUser(ctx);
  const account = await deps.accounts.get(session.name);
  if (account === undefined) throw new WharfError(AccountErrorCode.AUTH, `user ${session.name} no longer exists`);
  const realHome = await deps.layout.ensureHome(account.name);
  return { account, realHome, meta: new MetaStore(deps.layout.metaDir(realHome), deps.defaultHash) };
}
