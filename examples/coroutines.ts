/**
 * Coroutines: the course's gevent lesson (spawn greenlets, joinall, switch on I/O) is async/await in Node:
 * calling an async function spawns it, `await` is where it yields, and Promise.all is joinall. Three "downloads"
 * that wait 100 ms each take about 100 ms together, not 300, on one thread.
 * Run: `npm run build && node dist/examples/coroutines.js`.
 */
import { setTimeout as sleep } from "node:timers/promises";

const events: string[] = [];

async function download(name: string): Promise<number> {
  events.push(`${name} starts`);
  await sleep(100); // the I/O wait: here the coroutine yields and the others run (gevent's switch)
  events.push(`${name} done`);
  return name.length;
}

const t = performance.now();
const spawned = ["a.html", "bb.html", "ccc.html"].map((name) => download(name)); // gevent.spawn
const sizes = await Promise.all(spawned); // gevent.joinall
const ms = performance.now() - t;
console.log(events.join(", "));
console.log(`3 downloads of 100 ms each took ${ms < 250 ? "about 100 ms" : `${ms.toFixed(0)} ms`} together; sizes ${sizes.join(", ")}`);
