/**
 * Ticket grabbing: 50 buyers race for 1 ticket. Checking and then decrementing across an await oversells; doing
 * it under a Lock sells exactly one. Run: `npm run build && node dist/examples/ticket-grabbing.js`.
 */
// In your project: import { Lock } from "wharf/sync";
import { setTimeout as sleep } from "node:timers/promises";
import { Lock } from "../src/sync/index.js";

const BUYERS = 50;

async function sale(lock: Lock | undefined): Promise<{ sold: number; left: number }> {
  let tickets = 1;
  let sold = 0;
  const buy = async (): Promise<void> => {
    if (tickets > 0) {
      await sleep(Math.random() * 3); // talk to the payment service: other buyers run meanwhile
      tickets -= 1;
      sold += 1;
    }
  };
  await Promise.all(
    Array.from({ length: BUYERS }, async () => {
      await sleep(Math.random() * 2);
      if (lock === undefined) await buy();
      else await lock.runExclusive(buy);
    }),
  );
  return { sold, left: tickets };
}

const unsafe = await sale(undefined);
console.log(`without a lock: ${unsafe.sold} sold, ${unsafe.left} left  <- oversold`);
const safe = await sale(new Lock());
console.log(`with a Lock: ${safe.sold} sold, ${safe.left} left`);
if (safe.sold !== 1 || safe.left !== 0) throw new Error("the lock did not keep the count right");
