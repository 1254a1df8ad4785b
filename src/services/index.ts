import type { Logger } from "pino";
import type { Server } from "../server/index.js";
import { AccountStore, registerAuth } from "./accounts/index.js";

/** What every service is given when `wharf serve` starts. */
export interface ServiceDeps {
  /** The data folder (absolute). */
  dataDir: string;
  accounts: AccountStore;
  logger: Logger;
}

/** Registers every service on a server. Each service adds one line here. */
export function registerServices(server: Server, deps: ServiceDeps): void {
  registerAuth(server, deps.accounts);
}
