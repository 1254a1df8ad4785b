/**
 * The functions the course examples run in child processes; each child imports this module.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Barrier, Connection, JoinableQueue, Lock, Queue } from "../src/multiprocessing/index.js";

/** Prints who it is and returns after `ms`. */
export async function hello(name: string, ms: number): Promise<void> {
  console.log(`  ${name}: pid ${process.pid}, parent pid ${process.ppid}`);
  await sleep(ms);
}

/** Runs for ever (until terminated or its parent exits). */
export async function forever(): Promise<void> {
  await sleep(1e9);
}

/** Changes its own copy of `money` and says what it sees. */
export function spend(money: { amount: number }): void {
  money.amount -= 50;
  console.log(`  child: spent 50, my money is now ${money.amount}`);
}

/**
 * A buyer: read the ticket count from the JSON "database", think (the payment service), then write it back
 * minus one. Without the lock the read and the write of different buyers interleave.
 */
export async function buy(db: string, buyer: number, lock: Lock | null, doors: Barrier, bought: Queue<number>): Promise<void> {
  await doors.wait(); // every buyer is at the counter when the sale opens
  if (lock !== null) await lock.acquire();
  try {
    const { tickets, sold } = JSON.parse(await readFile(db, "utf8")) as { tickets: number; sold: number[] };
    if (tickets > 0) {
      await sleep(5); // pay
      // Written via a temp file and a rename so a reader never sees half a file; updates can still be lost.
      await writeFile(`${db}.${process.pid}`, JSON.stringify({ tickets: tickets - 1, sold: [...sold, buyer] }));
      await rename(`${db}.${process.pid}`, db);
      await bought.put(buyer); // this buyer walks away believing it has a ticket
    }
  } finally {
    if (lock !== null) await lock.release();
  }
}

/** Puts three messages on the queue. */
export async function writer(q: Queue<string>): Promise<void> {
  for (const word of ["hello", "from", "the writer"]) {
    await q.put(word);
    console.log(`  writer put ${JSON.stringify(word)}`);
  }
}

/** Gets three messages from the queue. */
export async function reader(q: Queue<string>): Promise<void> {
  for (let i = 0; i < 3; i++) console.log(`  reader got ${JSON.stringify(await q.get())}`);
}

/** Answers each question on the pipe until "bye". */
export async function answerer(conn: Connection<string>): Promise<void> {
  for (;;) {
    const question = await conn.recv();
    if (question === "bye") break;
    await conn.send(`${question.replace("?", "")}: yes`);
  }
}

/** A producer: puts `count` orders named after itself. */
export async function producer(q: JoinableQueue<string | null>, name: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await q.put(`${name}-${i}`);
}

/** A consumer: takes orders until null, "cooks" each, marks each done, records what it made. */
export async function consumer(q: JoinableQueue<string | null>, made: Queue<string>): Promise<void> {
  for (;;) {
    const order = await q.get();
    if (order === null) {
      await q.taskDone();
      return;
    }
    await sleep(20); // cook
    await made.put(`${order} by pid ${process.pid}`);
    await q.taskDone();
  }
}

/** Deliberately slow Fibonacci, for the CPU-bound lessons. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** Adds to a counter: in a worker thread the counter is shared memory, in a process a copy. */
export function addToCounter(counter: Int32Array, times: number): number {
  for (let i = 0; i < times; i++) Atomics.add(counter, 0, 1);
  return Atomics.load(counter, 0);
}
