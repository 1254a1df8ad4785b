/**
 * Issue 4's sync benchmark: wharf's Lock beside async-mutex's Mutex, uncontended and contended, and Queue
 * put/get throughput. Contenders alternate in rounds (order rotating), medians are reported with ratios.
 *
 * Targets: Lock >= 1.0x async-mutex, uncontended and contended.
 */
import { Mutex } from "async-mutex";
import { Lock, Queue } from "../src/sync/index.js";
import { printTable, race, verdict, type Contender } from "./sync-report.js";

const ROUNDS = Number(process.env.WHARF_BENCH_ROUNDS ?? 7);
const UNCONTENDED = 200_000;
const TASKS = 8;
const PER_TASK = 10_000;
const QUEUE_ITEMS = 200_000;

function uncontended(): Contender[] {
  const lock = new Lock();
  const mutex = new Mutex();
  return [
    {
      name: "wharf Lock acquire/release",
      ops: UNCONTENDED,
      run: async () => {
        for (let i = 0; i < UNCONTENDED; i += 1) {
          await lock.acquire();
          lock.release();
        }
      },
    },
    {
      name: "async-mutex acquire/release",
      ops: UNCONTENDED,
      run: async () => {
        for (let i = 0; i < UNCONTENDED; i += 1) {
          const release = await mutex.acquire();
          release();
        }
      },
    },
    {
      name: "wharf Lock runExclusive",
      ops: UNCONTENDED,
      run: async () => {
        for (let i = 0; i < UNCONTENDED; i += 1) await lock.runExclusive(noop);
      },
    },
    {
      name: "async-mutex runExclusive",
      ops: UNCONTENDED,
      run: async () => {
        for (let i = 0; i < UNCONTENDED; i += 1) await mutex.runExclusive(noop);
      },
    },
  ];
}

function noop(): void {}

/** TASKS async tasks each take the lock PER_TASK times and yield inside the critical section, so others queue. */
function contended(): Contender[] {
  const lock = new Lock();
  const mutex = new Mutex();
  const ops = TASKS * PER_TASK;
  let shared = 0;
  return [
    {
      name: "wharf Lock",
      ops,
      run: () =>
        all(async () => {
          for (let i = 0; i < PER_TASK; i += 1) {
            await lock.acquire();
            const seen = shared;
            await null;
            shared = seen + 1;
            lock.release();
          }
        }),
    },
    {
      name: "async-mutex",
      ops,
      run: () =>
        all(async () => {
          for (let i = 0; i < PER_TASK; i += 1) {
            const release = await mutex.acquire();
            const seen = shared;
            await null;
            shared = seen + 1;
            release();
          }
        }),
    },
  ];
}

async function all(task: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: TASKS }, task));
}

function queues(): Contender[] {
  return [
    {
      name: "Queue put/get (bounded 100, 1 producer, 1 consumer)",
      ops: QUEUE_ITEMS,
      run: async () => {
        const q = new Queue<number>({ maxsize: 100 });
        const consumer = (async () => {
          for (let i = 0; i < QUEUE_ITEMS; i += 1) await q.get();
        })();
        for (let i = 0; i < QUEUE_ITEMS; i += 1) await q.put(i);
        await consumer;
      },
    },
    {
      name: "Queue put/get (unbounded, 4 producers, 4 consumers)",
      ops: QUEUE_ITEMS,
      run: async () => {
        const q = new Queue<number>();
        const each = QUEUE_ITEMS / 4;
        const consumers = Array.from({ length: 4 }, async () => {
          for (let i = 0; i < each; i += 1) await q.get();
        });
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            for (let i = 0; i < each; i += 1) await q.put(i);
          }),
        );
        await Promise.all(consumers);
      },
    },
  ];
}

const started = performance.now();
console.log(`sync benchmark: ${ROUNDS} rounds per contender, median reported (node ${process.version})`);
const un = await race(uncontended(), ROUNDS);
printTable(`Uncontended Lock, ${UNCONTENDED} acquire/release per run`, un.slice(0, 2), "async-mutex acquire/release");
printTable(`Uncontended runExclusive, ${UNCONTENDED} calls per run`, un.slice(2), "async-mutex runExclusive");
const co = await race(contended(), ROUNDS);
printTable(`Contended Lock, ${TASKS} tasks x ${PER_TASK} acquire/release (yield inside)`, co, "async-mutex");
const qs = await race(queues(), ROUNDS);
printTable(`Queue, ${QUEUE_ITEMS} items per run (put+get = 1 op)`, qs);
console.log("\nratios against the targets:");
console.log(`  ${verdict("uncontended Lock vs async-mutex", un, "wharf Lock acquire/release", "async-mutex acquire/release", 1.0)}`);
console.log(`  ${verdict("uncontended runExclusive vs async-mutex", un, "wharf Lock runExclusive", "async-mutex runExclusive", 1.0)}`);
console.log(`  ${verdict("contended Lock vs async-mutex", co, "wharf Lock", "async-mutex", 1.0)}`);
console.log(`\n(sync benchmark took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
