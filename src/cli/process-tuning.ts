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

/**
 * The block a client's transfer frees: glibc's mmap threshold becomes 8 MiB and its trim threshold 16 MiB.
 */
export const TRANSFER_MALLOC_BLOCK_BYTES = 8 * 1024 * 1024;
/**
 * The block `wharf serve` frees: 24 MiB (trim threshold 48 MiB), what the first version of this tuning freed
 * without saying so (it wrote an 8 MiB string, which node copies into a block of three bytes per character) and
 * what every server measurement since was made with; a server pays it once, at start.
 */
export const SERVE_MALLOC_BLOCK_BYTES = 24 * 1024 * 1024;
/** What node reserves per character when it encodes a string to UTF-8 for a write (StringBytes::StorageSize). */
const UTF8_BYTES_PER_CHAR_AT_MOST = 3;

/**
 * Tunes the current process for moving many bytes: `wharf serve` (each cluster worker calls it for itself) and the
 * big transfers of `wharf put` and `wharf get`. Safe to call more than once.
 *
 * Besides the GC mode, it stops glibc from handing freed memory back to the kernel after every large body.
 * Bodies of more than 4 KiB are malloc'd one by one; by default glibc trims the top of its heap once 128 KiB
 * there are free, so the next body faults every one of its pages in again (measured: ten page faults and a
 * quarter of the request's time per 64 KiB echo). Freeing one block of `mallocBlockBytes` that malloc had to
 * mmap makes glibc raise its mmap threshold to that size and its trim threshold to twice it (mallopt(3),
 * "dynamic mmap threshold"), so freed bodies are reused warm. fs.writeSync of a string mallocs a temporary copy
 * and frees it before returning, which is the one deterministic way to do that from JavaScript. Other C
 * libraries ignore it.
 *
 * The copy is sized for the worst case of the encoding, three bytes per character in UTF-8, and only the bytes
 * written are touched: a string of a third of the block's size gets the whole block while faulting in a third
 * of it, plus the string. For the 8 MiB block of a transfer: ~1,400 page faults and ~18 ms of CPU on the test
 * VM, where writing an 8 MiB string (the first version) touched 16 MiB: ~4,100 faults and ~50 ms (issue 15).
 *
 * @example
 * ```ts
 * tuneForThroughput("throughput"); // before a 1 GiB put
 * ```
 */
export function tuneForThroughput(gc: GcMode, mallocBlockBytes = TRANSFER_MALLOC_BLOCK_BYTES): void {
  if (gc === "throughput") setFlagsFromString("--no-incremental-marking");
  if (process.platform !== "linux") return;
  let fd: number | undefined;
  try {
    fd = openSync("/dev/null", "w");
    writeSync(fd, "\0".repeat(Math.ceil(mallocBlockBytes / UTF8_BYTES_PER_CHAR_AT_MOST)), null, "utf8");
  } catch {
    // Only a tuning: a system without /dev/null serves as well, a little slower.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * How many of V8's profiler ticks a function must run before V8 optimizes it, in a `put`'s process
 * ({@link deferOptimization}); V8's default is 3.
 */
export const PUT_TICKS_BEFORE_OPTIMIZATION = 30;

/**
 * Makes V8 wait ten times longer before it optimizes a hot function, for a `put`. A put's code runs once through
 * its work: a tree's walk runs a few small functions once per entry, a file's transfer a few once per MiB, so they
 * turn hot within milliseconds, and V8 then compiles them with TurboFan on a background thread; on a client with
 * one core that thread takes the put's core (measured on a 10,000-file tree: 57 ms of compiling for the walk's
 * loop, which it compiled twice, and 22 ms for the comparison's hook), and the optimized code arrives when the
 * work is nearly done. Code that stays hot for longer (a delta's loops over thousands of chunks) is still
 * optimized, later. Issue 15, interleaved runs on one machine: a second `put -r` of an unchanged 10,000-file tree
 * 0.35-0.40 s without, 0.29-0.34 s with (5 runs each); a put of 1 GiB 0.86 against 0.80 CPU s of the client
 * (medians of 5); a delta put of 1 GiB no worse (client 1.29-1.54 against 1.30-1.33 CPU s, 4 runs each). No
 * TurboFan at all (`--max-opt=1`) was as good for those two and worse for the delta (1.47-1.86 s against
 * 1.79-2.24) and for a get of 1 GiB (0.1 s more of client CPU), and V8 does not optimize again once told not to
 * (raising `--max-opt` at run time optimized nothing, not even new functions). `get` keeps V8's default (with the
 * deferral a get of 1 GiB took 1.52-1.76 CPU s of the client against 1.44-1.76).
 *
 * @example
 * ```ts
 * deferOptimization(); // first thing in a put
 * ```
 */
export function deferOptimization(): void {
  setFlagsFromString(`--ticks-before-optimization=${PUT_TICKS_BEFORE_OPTIMIZATION}`);
}
