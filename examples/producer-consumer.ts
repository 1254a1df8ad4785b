/**
 * Producer-consumer with a bounded Queue: three producers, two consumers, taskDone/join, then shutdown ends the
 * consumers' `for await` loops. Run: `npm run build && node dist/examples/producer-consumer.js`.
 */
// In your project: import { Queue } from "wharf/sync";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "../src/sync/index.js";

interface Order {
  producer: string;
  n: number;
}

const queue = new Queue<Order>({ maxsize: 5 }); // producers wait while 5 orders are pending
const perProducer = 8;

async function producer(name: string): Promise<void> {
  for (let n = 1; n <= perProducer; n += 1) {
    await queue.put({ producer: name, n });
    await sleep(Math.random() * 5);
  }
  console.log(`${name} produced ${perProducer} orders`);
}

async function consumer(name: string): Promise<number> {
  let handled = 0;
  for await (const order of queue) {
    await sleep(Math.random() * 8); // "process" the order
    handled += 1;
    queue.taskDone();
    if (handled % 4 === 0) console.log(`${name} handled ${handled} (last: ${order.producer}#${order.n})`);
  }
  return handled;
}

const consumers = [consumer("consumer-1"), consumer("consumer-2")];
await Promise.all(["producer-A", "producer-B", "producer-C"].map(producer));
await queue.join(); // every order put has been marked done
queue.shutdown(); // the consumers' loops end
const counts = await Promise.all(consumers);
const total = counts.reduce((a, b) => a + b, 0);
console.log(`consumers handled ${counts.join(" + ")} = ${total} orders`);
if (total !== 3 * perProducer) throw new Error("lost or duplicated orders");
console.log(`all ${total} orders consumed exactly once`);
