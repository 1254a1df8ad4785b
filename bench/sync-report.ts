/**
 * Shared helpers of the sync and pool benchmarks: run contenders side by side in alternating rounds, take the
 * median per contender, and print a table with ratios against a baseline.
 */

/** One thing to measure: `run()` performs `ops` operations and resolves when done. */
export interface Contender {
  name: string;
  ops: number;
  run: () => Promise<void>;
}

export interface Row {
  name: string;
  opsPerSec: number[];
  median: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs every contender once as warm-up, then `rounds` rounds in which all contenders run once each, the order
 * rotating per round so that machine noise hits them alike. Returns ops/s per contender.
 */
export async function race(contenders: Contender[], rounds: number): Promise<Row[]> {
  for (const c of contenders) await c.run();
  const samples = contenders.map(() => [] as number[]);
  for (let round = 0; round < rounds; round += 1) {
    for (let k = 0; k < contenders.length; k += 1) {
      const index = (round + k) % contenders.length;
      const c = contenders[index]!;
      const started = performance.now();
      await c.run();
      const seconds = (performance.now() - started) / 1000;
      samples[index]!.push(c.ops / seconds);
    }
  }
  return contenders.map((c, i) => ({ name: c.name, opsPerSec: samples[i]!, median: median(samples[i]!) }));
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}

/** Prints a scenario's rows, each with its ratio to `baseline` (a row name). */
export function printTable(title: string, rows: Row[], baseline?: string): void {
  const base = rows.find((r) => r.name === baseline);
  console.log(`\n${title}`);
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`  ${"contender".padEnd(width)}  ${"median ops/s".padStart(12)}  ${"min..max".padStart(20)}  ratio`);
  for (const row of rows) {
    const ratio = base === undefined ? "" : `${(row.median / base.median).toFixed(2)}x`;
    const range = `${fmt(Math.min(...row.opsPerSec))}..${fmt(Math.max(...row.opsPerSec))}`;
    console.log(`  ${row.name.padEnd(width)}  ${fmt(row.median).padStart(12)}  ${range.padStart(20)}  ${ratio}`);
  }
}

/**
 * One line per target: the median of the per-round ratios (each round runs both contenders back to back, so a
 * burst of load on the shared machine hits both sides of a pair), beside the ratio of the medians.
 */
export function verdict(label: string, rows: Row[], contender: string, baseline: string, target: number): string {
  const a = rows.find((r) => r.name === contender)!;
  const b = rows.find((r) => r.name === baseline)!;
  const paired = median(a.opsPerSec.map((ops, round) => ops / b.opsPerSec[round]!));
  const ofMedians = a.median / b.median;
  return (
    `${paired >= target ? "MET " : "MISS"} ${label}: ${paired.toFixed(2)}x median of per-round ratios ` +
    `(${ofMedians.toFixed(2)}x ratio of medians; target >= ${target.toFixed(1)}x)`
  );
}
