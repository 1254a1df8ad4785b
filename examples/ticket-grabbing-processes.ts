/**
 * Ticket grabbing with processes: ten buyer processes race on one JSON "database" file holding 3 tickets.
 * Without a lock, several read the same count and the tickets are oversold; with a process-shared Lock created
 * here and handed to every child, exactly 3 are sold.
 * Run: `npm run build && node dist/examples/ticket-grabbing-processes.js`.
 */
// In your project: import { Barrier, Lock, Process, Queue, task } from "wharf/multiprocessing";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Barrier, Lock, Process, Queue, task } from "../src/multiprocessing/index.js";

const BUYERS = 10;
const TICKETS = 3;
const dir = mkdtempSync(join(tmpdir(), "wharf-tickets-"));
const db = join(dir, "db.json");

async function sale(lock: Lock | null): Promise<{ left: number; bought: number }> {
  writeFileSync(db, JSON.stringify({ tickets: TICKETS, sold: [] }));
  const doors = new Barrier(BUYERS);
  const bought = new Queue<number>();
  const buy = task(new URL("./course-tasks.js", import.meta.url), "buy");
  const buyers = Array.from({ length: BUYERS }, (_, i) => new Process(buy, [db, i + 1, lock, doors, bought]));
  for (const b of buyers) b.start();
  for (const b of buyers) await b.join();
  const { tickets } = JSON.parse(readFileSync(db, "utf8")) as { tickets: number };
  return { left: tickets, bought: await bought.qsize() };
}

try {
  const unsafe = await sale(null);
  const note = unsafe.bought > TICKETS ? "  <- oversold" : "  (no overlap this time: run it again)";
  console.log(`without a lock: ${unsafe.bought} buyers paid for ${TICKETS} tickets, ${unsafe.left} left${note}`);
  const safe = await sale(new Lock());
  console.log(`with a Lock: ${safe.bought} buyers paid for ${TICKETS} tickets, ${safe.left} left`);
  if (safe.bought !== TICKETS || safe.left !== 0) throw new Error("the lock did not keep the count right");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
