import { closeSync, openSync, writeSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

/**
 * How V8 collects the old generation in a serving or transferring process (`wharf serve --gc`).
 *
 * - "throughput" (default) turns incremental marking off. A server moves many short-lived Buffers (socket reads,
 *   request and reply bodies); V8 counts their bytes as external memory against the old generation's limit, so
 *   once the heap is past a few MB, incremental marking runs almost nonstop under load (measured: 30% of a
 *   process's CPU at 64 KiB bodies). One atomic collection when a limit is really reached costs far less, and
 *   memory stays bounded by the same limits.
 * - "incremental" keeps V8's default, for services whose heaps are big enough that one pause would matter.
 */
export type GcMode = "throughput" | "incremental";

/** A freed block of this size raises glibc's dynamic mmap threshold to it and its trim threshold to twice it. */
const MALLOC_THRESHOLD_BYTES = 8 * 1024 * 1024;

/**
 * Tunes the current process for moving many bytes: `wharf serve` (each cluster worker calls it for itself) and the
 * transfer verbs `wharf put` and `wharf get`. Safe to call more than once.
 *
 * Besides the GC mode, it stops glibc from handing freed memory back to the kernel after every large body.
 * Bodies of more than 4 KiB are malloc'd one by one; by default glibc trims the top of its heap once 128 KiB
 * there are free, so the next body faults every one of its pages in again (measured: ten page faults and a
 * quarter of the request's time per 64 KiB echo). Freeing one block of 8 MiB that malloc had to mmap makes
 * glibc raise its mmap threshold to 8 MiB and its trim threshold to 16 MiB (mallopt(3), "dynamic mmap
 * threshold"), so freed bodies are reused warm. fs.writeSync of a string mallocs a temporary copy and frees it
 * before returning, which is the one deterministic way to do that from JavaScript. Other C libraries ignore it.
 */
export function tuneForThroughput(gc: GcMode): void {
  if (gc === "throughput") setFlagsFromString("--no-incremental-marking");
  if (process.platform !== "linux") return;
  let fd: number | undefined;
  try {
    fd = openSync("/dev/null", "w");
    writeSync(fd, "\0".repeat(MALLOC_THRESHOLD_BYTES));
  } catch {
    // Only a tuning: a system without /dev/null serves as well, a little slower.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
