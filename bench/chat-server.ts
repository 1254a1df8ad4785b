/**
 * The wharf side of issue 7's chat benchmark: a Server with auth and chat as `wharf serve` registers them, every
 * guarantee on: login required, clientId dedup, history (1,000 per room, appended to a file in a temporary data
 * folder), the 1 MiB slow-consumer bound, the 4 KiB size limit, and the per-user rate limiter, whose rate is set
 * high enough for one user to flood (the limiter still runs on every send).
 *
 * It runs with `wharf serve`'s process tuning (src/cli/process-tuning.ts), as the relay does.
 *
 * Usage: node chat-server.js --data DIR. First stdout line: `listening on tcp://HOST:PORT`.
 */
import { parseArgs } from "node:util";
import { tuneForThroughput } from "../src/cli/process-tuning.js";
import { Server } from "../src/server/index.js";
import { AccountStore, registerAuth } from "../src/services/accounts/index.js";
import { registerChat } from "../src/services/chat/index.js";

tuneForThroughput("throughput");
const { values } = parseArgs({ options: { data: { type: "string" }, port: { type: "string", default: "0" } } });
if (values.data === undefined) throw new Error("--data DIR is required");
const accounts = new AccountStore(values.data);
if ((await accounts.get("bench")) === undefined) await accounts.add("bench", "pw");
const server = new Server();
registerAuth(server, accounts);
const chat = registerChat(server, { dataDir: values.data }, { history: 1000, rate: { rate: 1e9, burst: 1e9 } });
const url = await server.listenTcp({ host: "127.0.0.1", port: Number(values.port) });
process.stdout.write(`listening on ${url}\n`);
process.on("SIGTERM", () => {
  void chat.close().then(() => process.exit(0));
});
