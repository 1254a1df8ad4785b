/**
 * Work a child must finish before it reports a task done or exits: a process-shared Queue's `put()` that
 * resolved before its item reached the broker (as Python's `put()` returns before its feeder thread writes) must
 * still arrive, the way Python's child joins its queues' feeder threads at exit. The runner awaits every
 * registered flush after each task; `wharf/multiprocessing` registers them (this module knows nothing of it).
 */

const flushes = new Set<() => Promise<void>>();

/** Registers `flush` to be awaited once at the end of the current task; returns nothing. */
export function flushAtTaskEnd(flush: () => Promise<void>): void {
  flushes.add(flush);
}

/** Awaits every registered flush (failures are ignored: the task's outcome stands) and forgets them. */
export async function runTaskEndFlushes(): Promise<void> {
  while (flushes.size > 0) {
    const pending = [...flushes];
    flushes.clear();
    await Promise.allSettled(pending.map((flush) => flush()));
  }
}
