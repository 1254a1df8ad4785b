/**
 * Semaphore as the five-stall washroom: twelve people, five stalls; at most five are inside at any moment, and
 * the others queue in order.
 * Run: `npm run build && node dist/examples/washroom-semaphore.js`.
 */
// In your project: import { Semaphore } from "wharf/sync";
import { setTimeout as sleep } from "node:timers/promises";
import { Semaphore } from "../src/sync/index.js";

const stalls = new Semaphore(5);
let inside = 0;
let most = 0;
const order: number[] = [];

await Promise.all(
  Array.from({ length: 12 }, (_, i) =>
    stalls.runExclusive(async () => {
      inside += 1;
      most = Math.max(most, inside);
      order.push(i + 1);
      await sleep(10 + (i % 3) * 5);
      inside -= 1;
    }),
  ),
);
console.log(`12 people used 5 stalls; at most ${most} were inside at once`);
console.log(`they went in in the order they queued: ${order.join(" ")}`);
if (most !== 5) throw new Error("the semaphore let too many in");
