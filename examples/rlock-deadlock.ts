/**
 * A deadlock that RLock fixes: transfer() holds the account lock and calls withdraw(), which takes the same lock.
 * With a Lock the nested acquire waits for itself for ever (here: until a timeout shows it); with an RLock the
 * same async context re-enters. Run: `npm run build && node dist/examples/rlock-deadlock.js`.
 */
// In your project: import { Lock, RLock } from "wharf/sync";
import { Lock, RLock, WaitTimeoutError } from "../src/sync/index.js";

class Account {
  balance = 100;
  constructor(readonly lock: Lock | RLock) {}

  withdraw(amount: number): Promise<void> {
    return this.lock.runExclusive(async () => {
      if (this.balance < amount) throw new Error("insufficient funds");
      this.balance -= amount;
    }, { timeout: 200 }); // the timeout only exists to show the deadlock instead of hanging
  }

  transfer(to: Account, amount: number): Promise<void> {
    return this.lock.runExclusive(async () => {
      await this.withdraw(amount); // takes the same lock again
      to.balance += amount;
    });
  }
}

for (const Kind of [Lock, RLock]) {
  const from = new Account(new Kind());
  const to = new Account(new Kind());
  try {
    await from.transfer(to, 30);
    console.log(`${Kind.name}: transfer completed, balances ${from.balance} / ${to.balance}`);
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    console.log(`${Kind.name}: deadlocked (the nested acquire waited for its own lock and timed out)`);
  }
}
