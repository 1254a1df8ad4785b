import type { Logger } from "pino";
import type { Server } from "../server/index.js";
import { AccountStore, registerAuth } from "./accounts/index.js";
import { registerFiles } from "./files/index.js";
import { registerChat } from "./chat/index.js";
import { registerTime } from "./time/index.js";
import { registerExec } from "./exec/index.js";
import { registerDemoMethods, registerRpc } from "./rpc/index.js";

/** Settings of the services, from `wharf serve`'s flags. Times in milliseconds, sizes in bytes. */
export interface ServiceConfig {
  /** Files: partial uploads untouched this long are deleted. */
  partialTtl: number;
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
};

/** What every service is given when `wharf serve` starts. */
export interface ServiceDeps {
  /** The data folder (absolute). */
  dataDir: string;
  accounts: AccountStore;
  logger: Logger;
  config: ServiceConfig;
}

/** Registers every service on a server. Each service adds one line here. */
export function registerServices(server: Server, deps: ServiceDeps): void {
  registerAuth(server, deps.accounts);
  registerFiles(server, deps);
  registerTime(server);
  registerChat(server, deps);
  registerExec(server, deps);
  registerDemoMethods(registerRpc(server));
}
