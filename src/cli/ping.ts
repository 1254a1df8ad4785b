import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Option, type Command } from "commander";
import { connect, udpRequest, type Connection } from "../client/index.js";
import { ErrorCode, WharfError, parseEndpoint } from "../wire/index.js";
import { CliError, action } from "./fail.js";
import { integerOption, parseSize, secondsFlag } from "./parse.js";

interface PingOptions {
  count: number;
  size: number;
  interval: number;
  timeout: number;
}

/** Adds `wharf ping` to the program. */
export function registerPing(program: Command): void {
  program
    .command("ping")
    .description("measure round trips to a server, like ping(8)")
    .argument("[url]", "server URL: tcp://, tls://, unix:// or udp://", "tcp://127.0.0.1:9000")
    .option("-c, --count <n>", "round trips to make", integerOption("--count", 1), 4)
    .addOption(new Option("-s, --size <bytes>", "body size of each ping").argParser(parseSize).default(64))
    .addOption(secondsFlag("-i, --interval <seconds>", "pause between pings", 1_000))
    .addOption(secondsFlag("-W, --timeout <seconds>", "wait this long for each reply", 5_000))
    .action(action((url: string, options: PingOptions) => ping(url, options)));
}

async function ping(url: string, options: PingOptions): Promise<void> {
  const endpoint = parseEndpoint(url);
  const body = randomBytes(options.size);
  const conn: Connection | null = endpoint.transport === "udp" ? null : await connect(url, { timeout: options.timeout });
  const times: number[] = [];
  let lost = 0;
  const started = performance.now();
  process.stdout.write(`PING ${url}: ${options.size} bytes of body\n`);
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
  };
  process.once("SIGINT", onInterrupt);
  try {
    for (let seq = 1; seq <= options.count && !interrupted; seq += 1) {
      const t0 = performance.now();
      try {
        const reply = conn !== null
          ? await conn.request("ping", { seq }, body, { timeout: options.timeout })
          : await udpRequest(url, "ping", { seq }, body, { timeout: options.timeout, retries: 0 });
        const ms = performance.now() - t0;
        if (!reply.body.equals(body)) throw new CliError(ErrorCode.PROTOCOL, `seq=${seq}: the reply's body differs from what was sent`);
        times.push(ms);
        process.stdout.write(`${reply.body.length} bytes from ${url}: seq=${seq} time=${ms.toFixed(3)} ms\n`);
      } catch (err) {
        if (!(err instanceof WharfError) || err.code !== "E_TIMEOUT") throw err;
        lost += 1;
        process.stdout.write(`no reply from ${url}: seq=${seq} (timeout)\n`);
      }
      if (seq < options.count && !interrupted) await sleep(options.interval);
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    await conn?.close();
  }
  const sent = times.length + lost;
  const elapsed = performance.now() - started;
  process.stdout.write(`--- ${url} ping statistics ---\n`);
  process.stdout.write(`${sent} sent, ${times.length} received, ${sent === 0 ? 0 : Math.round((lost / sent) * 100)}% loss, time ${Math.round(elapsed)} ms\n`);
  if (times.length > 0) {
    const min = Math.min(...times);
    const max = Math.max(...times);
    const avg = times.reduce((a, b) => a + b, 0) / times.length;
    process.stdout.write(`rtt min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms\n`);
  }
  if (times.length === 0) throw new CliError(ErrorCode.TIMEOUT, `no reply from ${url}`);
}
