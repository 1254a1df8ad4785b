import type { Command } from "commander";
import { queryTime, type TimeResult } from "../services/time/index.js";
import { action } from "./fail.js";
import { integerOption, secondsFlag } from "./parse.js";

interface TimeCliOptions {
  server: string;
  samples: number;
  timeout: number;
  json: boolean;
}

/** Adds `wharf time` to the program. */
export function registerTime(program: Command): void {
  program
    .command("time")
    .description("ask a server for the time: its clock's offset from this machine's, with the round-trip delay (sets nothing)")
    .option("--server <url>", "server URL (tcp://, tls://, unix:// or udp://)", process.env.WHARF_SERVER ?? "tcp://127.0.0.1:9000")
    .option("--samples <n>", "exchanges to make; the one with the least delay counts", integerOption("--samples", 1, 1000), 8)
    .addOption(secondsFlag("-W, --timeout <seconds>", "wait this long for each reply", 2_000))
    .option("--json", "print one JSON object", false)
    .action(action(async (options: TimeCliOptions) => {
      const result = await queryTime(options.server, { samples: options.samples, timeout: options.timeout });
      process.stdout.write(options.json ? `${JSON.stringify(toJson(options.server, result))}\n` : describe(options.server, result));
    }));
}

/** ISO 8601 with microseconds, e.g. 2026-01-01T12:00:00.123456Z. */
export function isoMicros(us: number): string {
  const whole = Math.floor(us);
  const ms = Math.floor(whole / 1000);
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, millis: string) => `.${millis}${String(whole % 1000).padStart(3, "0")}Z`);
}

function ms(us: number, signed = false): string {
  const text = (us / 1000).toFixed(3);
  return signed && us >= 0 ? `+${text}` : text;
}

function describe(server: string, result: TimeResult): string {
  return [
    `server      ${server}`,
    `server time ${isoMicros(result.serverTimeUs)}`,
    `offset      ${ms(result.offsetUs, true)} ms ± ${ms(result.errorUs)} ms (server clock minus this machine's)`,
    `delay       ${ms(result.delayUs)} ms (least of ${result.answered} samples answered out of ${result.attempted})`,
    "",
  ].join("\n");
}

function toJson(server: string, result: TimeResult): Record<string, unknown> {
  return {
    server,
    serverTime: isoMicros(result.serverTimeUs),
    serverTimeUs: Math.round(result.serverTimeUs),
    offsetUs: result.offsetUs,
    delayUs: result.delayUs,
    errorUs: result.errorUs,
    sample: result.sample,
    answered: result.answered,
    attempted: result.attempted,
  };
}
