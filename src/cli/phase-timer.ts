/**
 * A debug timer for the CLI's phases (start-up, login, listing, walk, ...): with `WHARF_TIMING=1` each
 * {@link markPhase} prints one line to stderr with the milliseconds since the process started (node's own
 * start-up included: `performance.now()` counts from the process's time origin) and since the previous mark.
 * Without the variable it costs one property read. Used to find where a short command's time goes (issue 15).
 *
 * @example
 * ```ts
 * markPhase("logged in"); // WHARF_TIMING=1: "wharf timing: logged in at 182.4 ms (+41.0 ms)"
 * ```
 */
const enabled = process.env.WHARF_TIMING === "1";
let last = 0;

/** Prints (with `WHARF_TIMING=1`) that the phase `name` has just ended. */
export function markPhase(name: string): void {
  if (!enabled) return;
  const now = performance.now();
  process.stderr.write(`wharf timing: ${name} at ${now.toFixed(1)} ms (+${(now - last).toFixed(1)} ms)\n`);
  last = now;
}
