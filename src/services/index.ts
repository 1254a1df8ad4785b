/**
 * `wharf/services`: every service at once (`registerServices`, as `wharf serve` hosts them), their settings, and
 * the contract each service follows ({@link Service}, {@link ServiceSet}). Each service also has a module of its
 * own: `wharf/accounts`, `wharf/files`, `wharf/chat`, `wharf/exec`, `wharf/rpc`, `wharf/time`.
 *
 * @module
 */
import type { Logger } from "pino";
import type { Server } from "../server/index.js";
import { AccountStore, DEFAULT_TOKEN_TTL, registerAuth, type TokenStore } from "./accounts/index.js";
import type { LoginGate } from "./accounts/throttle.js";
import type { NameLocks } from "./files/lock-file.js";
import { registerFiles } from "./files/index.js";
import { registerChat } from "./chat/index.js";
import { registerTime } from "./time/index.js";
import { registerExec } from "./exec/index.js";
import { registerDemoMethods, registerRpc } from "./rpc/index.js";
import { registerStats } from "./stats/index.js";
import { ServiceSet } from "./service.js";

export { ServiceSet, typesAdded, type Service } from "./service.js";

/** Settings of the services, from `wharf serve`'s flags. Times in milliseconds, sizes in bytes. */
export interface ServiceConfig {
  /** Files: partial uploads untouched this long are deleted. */
  partialTtl: number;
  /** Files: the hash when a client leaves it open (`--hash`); optional so older callers compile; default blake3. */
  hash?: "blake3" | "sha256";
  /** Exec: commands may run through a shell (`--exec-shell`). */
  execShell: boolean;
  /** Exec: only these command names may run (`--exec-allow`); null: any. */
  execAllow: string[] | null;
  /** Exec: the longest run time; a client's --timeout is capped by it. */
  execTimeout: number;
  /** Exec: most bytes of stdout + stderr one command may produce. */
  execMaxOutput: number;
  /** Exec: most commands one user may run at once. */
  execMaxConcurrent: number;
  /** Chat: messages of each room kept in history. */
  chatHistory: number;
  /** Time: UDP port for SNTP (RFC 4330) requests, or null for none. */
  ntpPort: number | null;
  /** RPC: also offer the demo methods `math.add`, `echo` and `demo.count` (`--rpc-demo`). */
  rpcDemo: boolean;
  /** Accounts: longest lifetime of a login token (`--token-ttl`). Optional: absent means 30 days. */
  tokenTtl?: number;
}

/** The defaults of {@link ServiceConfig}, also `wharf serve`'s. */
export const DEFAULT_SERVICE_CONFIG: ServiceConfig = {
  partialTtl: 24 * 3600_000,
  execShell: false,
  execAllow: null,
  execTimeout: 3600_000,
  execMaxOutput: 1024 ** 3,
  execMaxConcurrent: 4,
  chatHistory: 1000,
  ntpPort: null,
  rpcDemo: false,
  tokenTtl: DEFAULT_TOKEN_TTL,
};

/** What every service is given when `wharf serve` starts. */
export interface ServiceDeps {
  /** The data folder (absolute). */
  dataDir: string;
  accounts: AccountStore;
  /** Where login tokens live (`<data>/tokens.json` for `wharf serve`); absent: `auth` takes passwords only. */
  tokens?: TokenStore;
  logger: Logger;
  config: ServiceConfig;
  /** A login throttle shared by a cluster (`--redis`); default: one per process. */
  loginThrottle?: LoginGate;
  /** Upload name locks shared by a cluster (`--redis`: Redis leases); default: lock files. */
  nameLocks?: NameLocks;
}

/**
 * Registers every service on a server and returns them, to close together once the server has closed. Each
 * service adds one line here.
 *
 * @example
 * ```ts
 * const services = registerServices(server, { dataDir, accounts, logger, config: DEFAULT_SERVICE_CONFIG });
 * // ... on shutdown: requests drain first, then the services let go of what they hold
 * await server.close();
 * await services.close();
 * ```
 */
export function registerServices(server: Server, deps: ServiceDeps): ServiceSet {
  const rpc = registerRpc(server);
  if (deps.config.rpcDemo) registerDemoMethods(rpc);
  return new ServiceSet([
    registerAuth(server, deps.accounts, { tokens: deps.tokens, tokenTtl: deps.config.tokenTtl, loginThrottle: deps.loginThrottle }),
    registerFiles(server, deps),
    registerTime(server),
    registerChat(server, deps),
    registerExec(server, deps),
    rpc,
    registerStats(server),
  ]);
}
