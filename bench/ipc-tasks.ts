/** What the child processes of bench/ipc.bench.ts run. */
import type { Barrier, Connection, Lock, Queue } from "../src/multiprocessing/index.js";

/** Puts 0..n-1 and then null. */
export async function write(q: Queue<number | null>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await q.put(i);
  await q.put(null);
}

/** Gets until null; returns items per second from the first item to the last. */
export async function read(q: Queue<number | null>): Promise<number> {
  let n = 0;
  await q.get();
  const t = performance.now();
  while ((await q.get()) !== null) n++;
  return n / ((performance.now() - t) / 1000);
}

/** Echoes what it receives until null. */
export async function echo(conn: Connection<number | null>): Promise<void> {
  for (;;) {
    const v = await conn.recv();
    if (v === null) return;
    await conn.send(v);
  }
}

/** Waits for the other party, then acquires and releases `n` times; returns the elapsed milliseconds. */
export async function lockLoop(start: Barrier, lock: Lock, n: number): Promise<number> {
  await start.wait();
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await lock.acquire();
    await lock.release();
  }
  return performance.now() - t;
}

/** Sends and receives `n` round trips after 200 of warm-up, then null; returns round trips per second. */
export async function ping(conn: Connection<number | null>, n: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    await conn.send(i);
    await conn.recv();
  }
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await conn.send(i);
    await conn.recv();
  }
  const rate = n / ((performance.now() - t) / 1000);
  await conn.send(null);
  return rate;
}
