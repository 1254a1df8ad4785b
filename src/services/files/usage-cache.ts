/**
 * A home's usage as last counted by this process, for the quota check of the one-request put (issue 15).
 *
 * Counting a home walks all of it, so a `put -r` of n small files by a user with a quota cost n walks, n²
 * stats. Between two counts the one-request puts of this process add what they store (and take off what they
 * replace); anything else that changes a home (an upload's begin or landing, a partial removed, `rm`, `mv`)
 * forgets every count, and a count older than {@link USAGE_FRESH_MS} is made again, so that what other
 * processes (workers, nodes) stored meanwhile is seen within that time. Within one process the quota holds
 * exactly, since a user's checks and landings run one at a time (`serialized`); across processes a check was
 * never atomic, and the window stays this short.
 */
import { homeUsage } from "./quota.js";

/** How long a count is trusted (ms). */
export const USAGE_FRESH_MS = 1_000;

const counts = new Map<string, { used: number; at: number }>();
/** Bumped by every forget: a walk that a forget overlapped is used once and not kept. */
let generation = 0;

/**
 * Bytes `realHome` takes (as {@link homeUsage} counts them), minus `replacing` bytes of a file a put will
 * replace: a count of this process when it is fresh, else a new walk.
 */
export async function usageForPut(realHome: string, partialsDir: string, replacing: number): Promise<number> {
  const now = Date.now();
  let count = counts.get(realHome);
  if (count === undefined || now - count.at > USAGE_FRESH_MS) {
    const started = generation;
    count = { used: await homeUsage(realHome, partialsDir), at: now };
    if (generation === started) counts.set(realHome, count);
  }
  return count.used - replacing;
}

/** Adds what a one-request put stored (`stored` bytes over a file of `replaced` bytes) to a kept count. */
export function notePut(realHome: string, stored: number, replaced: number): void {
  const count = counts.get(realHome);
  if (count !== undefined) count.used += stored - replaced;
}

/** Forgets every count: something other than a one-request put changed a home. */
export function forgetUsage(): void {
  generation++;
  counts.clear();
}
