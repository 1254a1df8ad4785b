/**
 * Tables and target verdicts of the wire benchmark (issue 3). Pure functions of the measurements, so the
 * benchmark's policy (which round counts, what the targets are) is in one readable place.
 */
import type { LoadResult } from "./wire-load.js";

/** One cell of the matrix: how the load generator drives every server. */
export interface Scenario {
  connections: number;
  depth: number;
  bodySize: number;
}

/** A ratio the issue asks for: `subject` must reach `factor` times `baseline` in every scenario. */
export interface Target {
  subject: string;
  baseline: string;
  factor: number;
  label: string;
}

/** One slice: what the load generator saw, plus the CPU time the server's processes spent meanwhile. */
export interface Measurement extends LoadResult {
  /** µs of user + system CPU of the server's process tree over the whole slice; NaN without /proc. */
  serverCpuUs: number;
}

/** Every measured slice of every server in one scenario. */
export type ScenarioResults = Map<string, Measurement[]>;

export function scenarioName(s: Scenario): string {
  const mode = s.depth === 1 ? "ping-pong" : `pipeline ${s.depth}`;
  return `${mode.padEnd(11)} ${String(s.connections).padStart(3)} conn ${formatBytes(s.bodySize).padStart(6)}`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** The slice that counts: the fastest, since noise on a shared machine only ever slows a server down. */
export function best(slices: Measurement[] | undefined): Measurement | undefined {
  if (slices === undefined || slices.length === 0) return undefined;
  return slices.reduce((a, b) => (b.rps > a.rps ? b : a));
}

/** The median requests/s of the slices (the mean of the middle two for an even count). */
export function medianRps(slices: Measurement[] | undefined): number | undefined {
  return median((slices ?? []).map((s) => s.rps));
}

/** The median over slices of the server's CPU µs per request: the figure least moved by other load. */
export function medianCpu(slices: Measurement[] | undefined): number | undefined {
  return median((slices ?? []).filter((s) => s.totalReplies > 0).map((s) => s.serverCpuUs / s.totalReplies));
}

function median(values: number[]): number | undefined {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** How many times less CPU per request `subject` spends than `baseline` (medians): 1 is the same cost. */
export function cpuRatio(results: ScenarioResults, subject: string, baseline: string): number | undefined {
  const a = medianCpu(results.get(subject));
  const b = medianCpu(results.get(baseline));
  return a === undefined || b === undefined || a === 0 ? undefined : b / a;
}

/** requests/s of `subject` over `baseline` in one scenario (best slices, or medians), if both were measured. */
export function ratio(results: ScenarioResults, subject: string, baseline: string, by: "best" | "median" = "best"): number | undefined {
  const rps = (name: string): number | undefined =>
    by === "best" ? best(results.get(name))?.rps : medianRps(results.get(name));
  const a = rps(subject);
  const b = rps(baseline);
  if (a === undefined || b === undefined || b === 0) return undefined;
  return a / b;
}

function table(rows: string[][], rightAligned: (column: number) => boolean): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows
    .map((row) => row.map((cell, c) => (rightAligned(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  "))
    .join("\n");
}

/**
 * The throughput and latency table: one row per server per scenario. Latencies and the load generator's CPU
 * ("gen cpu", of one core) are the best slice's; "cpu µs/req" is the server's median CPU time per request.
 */
export function resultTable(scenarios: Scenario[], results: ScenarioResults[], servers: string[]): string {
  const rows = [["scenario", "server", "best req/s", "median req/s", "p50 µs", "p99 µs", "cpu µs/req", "gen cpu", "slices"]];
  scenarios.forEach((scenario, i) => {
    for (const server of servers) {
      const slices = results[i].get(server);
      const top = best(slices);
      if (top === undefined) {
        rows.push([scenarioName(scenario), server, "failed", "-", "-", "-", "-", "-", "0"]);
        continue;
      }
      rows.push([
        scenarioName(scenario),
        server,
        integer.format(top.rps),
        integer.format(medianRps(slices) ?? 0),
        integer.format(top.p50Us),
        integer.format(top.p99Us),
        medianCpu(slices)?.toFixed(1) ?? "-",
        `${Math.round(top.generatorCpu * 100)}%`,
        String(slices?.length ?? 0),
      ]);
    }
  });
  return table(rows, (c) => c >= 2);
}

/**
 * One row per scenario: the requests/s ratio of every target (best slices; `*` marks a miss), then for each
 * `cpu` pair how much less CPU per request the subject spends than the baseline (medians; 1.00 is equal cost).
 */
export function ratioTable(
  scenarios: Scenario[],
  results: ScenarioResults[],
  targets: Target[],
  cpu: [subject: string, baseline: string][] = [],
): string {
  const rows = [
    ["scenario", ...targets.map((t) => `${t.subject}/${t.baseline}`), ...cpu.map(([a, b]) => `cpu/req ${b}/${a}`)],
  ];
  scenarios.forEach((scenario, i) => {
    rows.push([
      scenarioName(scenario),
      ...targets.map((t) => {
        const r = ratio(results[i], t.subject, t.baseline);
        return r === undefined ? "-" : `${r.toFixed(2)}${r < t.factor ? " *" : ""}`;
      }),
      ...cpu.map(([a, b]) => cpuRatio(results[i], a, b)?.toFixed(2) ?? "-"),
    ]);
  });
  return table(rows, (c) => c >= 1);
}

/** The verdict line of a target, e.g. `target wharf >= 0.9x node:net (1 worker): min ratio 0.93 ... : MET`. */
export function verdict(scenarios: Scenario[], results: ScenarioResults[], target: Target): { line: string; met: boolean } {
  let min = Infinity;
  let worst = "";
  let measured = 0;
  const misses: string[] = [];
  scenarios.forEach((scenario, i) => {
    const r = ratio(results[i], target.subject, target.baseline);
    if (r === undefined) return;
    measured += 1;
    if (r < target.factor) misses.push(`${scenarioName(scenario).replace(/\s+/g, " ")} (${r.toFixed(2)})`);
    if (r < min) {
      min = r;
      worst = scenarioName(scenario).replace(/\s+/g, " ");
    }
  });
  const met = measured === scenarios.length && misses.length === 0;
  const medians = scenarios
    .map((_, i) => ratio(results[i], target.subject, target.baseline, "median"))
    .filter((r): r is number => r !== undefined);
  const medianNote = medians.length > 0 ? `; by medians ${Math.min(...medians).toFixed(2)}` : "";
  const summary =
    measured === 0
      ? "not measured"
      : `min ratio ${min.toFixed(2)} (${worst}) over ${measured} of ${scenarios.length} scenarios${medianNote}`;
  const missed = misses.length > 0 ? `\n  missed in: ${misses.join("; ")}` : "";
  return {
    line: `target ${target.subject} >= ${target.factor}x ${target.baseline} ${target.label}: ${summary}: ${met ? "MET" : "NOT MET"}${missed}`,
    met,
  };
}
