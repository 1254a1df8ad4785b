import { DatagramClient, connect, type Connection } from "../../client/index.js";
import { ErrorCode, WharfError, parseEndpoint } from "../../wire/index.js";
import { systemClock, type Clock } from "./clock.js";
import { bestSample, estimate, type TimeEstimate, type TimeSample } from "./formulas.js";

/** Options of {@link queryTime}. */
export interface QueryTimeOptions {
  /** Exchanges to make; the one with the least delay counts. Default 8. */
  samples?: number;
  /** Milliseconds to wait for each reply (a lost UDP sample is skipped). Default 2,000. */
  timeout?: number;
  /** Pause between samples, ms. Default 10. */
  interval?: number;
  /** The local clock; default {@link systemClock}. */
  clock?: Clock;
}

/** The result of {@link queryTime}: the best sample and what it says. */
export interface TimeResult extends TimeEstimate {
  /** The best sample's four timestamps (µs since the epoch). */
  sample: TimeSample;
  /** The server's time when the best sample's reply arrived, by the estimate: t4 + offset (µs). */
  serverTimeUs: number;
  /** Samples answered / attempted. */
  answered: number;
  attempted: number;
}

/**
 * Asks a wharf server for the time `samples` times (over tcp://, tls://, unix:// or udp://), keeps the sample with
 * the least round-trip delay, and returns the server's clock offset from ours with its error bound. Nothing is
 * changed on this machine. Fails with `E_TIMEOUT` when no sample was answered.
 *
 * @example
 * ```ts
 * const { offsetUs, errorUs } = await queryTime("udp://127.0.0.1:9000", { samples: 8 });
 * console.log(`server is ${offsetUs / 1000} ms ahead, ± ${errorUs / 1000} ms`);
 * ```
 */
export async function queryTime(url: string, options: QueryTimeOptions = {}): Promise<TimeResult> {
  const samplesWanted = options.samples ?? 8;
  if (!Number.isSafeInteger(samplesWanted) || samplesWanted < 1) throw new RangeError("options.samples must be a positive integer");
  const timeout = options.timeout ?? 2_000;
  const interval = options.interval ?? 10;
  const clock = options.clock ?? systemClock;
  const exchange = parseEndpoint(url).transport === "udp" ? await udpExchanger(url, timeout) : await streamExchanger(url, timeout);
  const samples: TimeSample[] = [];
  try {
    for (let i = 0; i < samplesWanted; i += 1) {
      if (i > 0 && interval > 0) await new Promise((resolve) => setTimeout(resolve, interval));
      const sample = await exchange.once(clock);
      if (sample !== null) samples.push(sample);
    }
  } finally {
    await exchange.close();
  }
  if (samples.length === 0) throw new WharfError(ErrorCode.TIMEOUT, `no time sample from ${url} answered within ${timeout} ms`);
  const sample = bestSample(samples);
  const result = estimate(sample);
  return { ...result, sample, serverTimeUs: sample.t4 + result.offsetUs, answered: samples.length, attempted: samplesWanted };
}

interface Exchanger {
  /** One sample, or null when the reply was lost (UDP). */
  once(clock: Clock): Promise<TimeSample | null>;
  close(): Promise<void>;
}

function timesOf(header: Record<string, unknown>): { t2: number; t3: number } {
  const { t2, t3 } = header;
  if (typeof t2 !== "number" || typeof t3 !== "number") throw new WharfError(ErrorCode.PROTOCOL, "the time reply lacks t2 and t3");
  return { t2, t3 };
}

async function streamExchanger(url: string, timeout: number): Promise<Exchanger> {
  const conn: Connection = await connect(url, { timeout });
  return {
    async once(clock) {
      const t1 = clock();
      const reply = await conn.request("time", { t1 }, undefined, { timeout });
      const t4 = clock();
      return { t1, ...timesOf(reply.header), t4 };
    },
    async close() {
      await conn.close();
    },
  };
}

/**
 * Every time request over UDP is padded to this many bytes. The reply (t1, t2, t3, id, ok: about 90 bytes) must
 * stay within 3x the request for a server to send it (docs/protocol.md §5); 64 bytes leaves room for ids and
 * timestamps of any length and a few more fields, and costs a sample nothing measurable.
 */
export const TIME_REQUEST_SIZE = 64;

/**
 * One socket for every sample, so that socket setup is not part of any sample's delay. A lost sample is not
 * retried (a retry would measure the first attempt's delay too): it counts as unanswered.
 */
async function udpExchanger(url: string, timeout: number): Promise<Exchanger> {
  const client = await DatagramClient.open(url, { timeout, retries: 0, minRequestSize: TIME_REQUEST_SIZE });
  return {
    async once(clock) {
      let t4 = 0;
      const t1 = clock();
      try {
        // t4 is read as the datagram arrives, not when the promise's continuation runs.
        const reply = await client.request("time", { t1 }, undefined, { onArrival: () => (t4 = clock()) });
        return { t1, ...timesOf(reply.header), t4 };
      } catch (err) {
        if (err instanceof WharfError && err.code === ErrorCode.TIMEOUT) return null;
        throw err;
      }
    },
    close() {
      return client.close();
    },
  };
}
