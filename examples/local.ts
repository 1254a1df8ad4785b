/**
 * Local, Python's threading.local: each request handler keeps its own "current user" although all of them run
 * interleaved on one thread, because each runs in its own async context (Local.run). Without Local.run they
 * share one value and trample each other.
 * Run: `npm run build && node dist/examples/local.js`.
 */
// In your project: import { Local } from "wharf/sync";
import { setTimeout as sleep } from "node:timers/promises";
import { Local } from "../src/sync/index.js";

const current = new Local<{ user?: string }>();

async function handle(user: string, delay: number): Promise<string> {
  current.value.user = user;
  await sleep(delay); // other handlers run meanwhile
  return `${user} sees ${current.value.user}`;
}

const users: [string, number][] = [["ann", 30], ["bob", 10], ["cy", 20]];
const shared = await Promise.all(users.map(([user, delay]) => handle(user, delay)));
console.log(`without Local.run: ${shared.join("; ")}`);
const isolated = await Promise.all(users.map(([user, delay]) => Local.run(() => handle(user, delay))));
console.log(`with Local.run:    ${isolated.join("; ")}`);
if (!isolated.every((line) => line.split(" sees ")[0] === line.split(" sees ")[1])) throw new Error("a context saw another's user");
