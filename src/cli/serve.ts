import cluster from "node:cluster";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { pino } from "pino";
import { DEFAULT_SERVICE_CONFIG } from "../services/index.js";
import type { SntpListener } from "../services/time/index.js";
import { action, usageError } from "./fail.js";
import { asDuration, durationOption, integerOption, parseSize, secondsFlag } from "./parse.js";
import { SERVE_MALLOC_BLOCK_BYTES, tuneForThroughput } from "./process-tuning.js";
import { servePrimary, serveWorker } from "./serve-cluster.js";
import { startHttp } from "./serve-http.js";
import {
  announce,
  buildServerWithServices,
  checkProxyFlags,
  closeAll,
  drainThenStop,
  httpOptions,
  listenNtp,
  listenStreams,
  listenUdp,
  logForgottenRejections,
  onShutdownSignal,
  stopServing,
  tlsFiles,
  type ServeOptions,
} from "./serve-lifecycle.js";
import { observeNode } from "./serve-observe.js";

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds `wharf serve` to the program. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve wharf over TCP (or TLS), UDP and optionally a Unix socket")
    .option("--host <address>", "address to listen on; repeat for several (IPv4 or IPv6)", collect)
    .option("--port <port>", "TCP (or TLS) port; 0 picks a free one", integerOption("--port", 0, 65535), 9000)
    .option("--udp-port <port>", "UDP port; 0 picks a free one (default: the TCP port)", integerOption("--udp-port", 0, 65535))
    .option("--no-udp", "do not serve UDP")
    .option("--tls-cert <file>", "PEM certificate: serve TLS instead of plain TCP")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--unix <path>", "also listen on a Unix socket at this path")
    .option("--http-port <port>", "HTTP port of the web app and the WebSocket gateway (HTTPS/WSS with --tls-cert); 0 picks a free one (default: 9080, or a free one with --port 0)", integerOption("--http-port", 0, 65535))
    .option("--no-http", "do not serve HTTP (no web app, no WebSocket gateway)")
    .option("--http-origin <origin>", "another origin whose pages may open the WebSocket (e.g. https://app.example.com); repeat for several", collect)
    .option("--proxy-protocol", "behind a load balancer: TCP and HTTP connections must open with a PROXY v1/v2 header from a --trusted-proxy address (others are refused); logs, throttles and limits see the client it names", false)
    .option("--trusted-proxy <address>", "an address or CIDR block (10.0.0.0/8) of a balancer allowed to send PROXY headers; repeat for several", collect)
    .addOption(secondsFlag("--drain-delay <seconds>", "on SIGTERM, answer /readyz with 503 this long before closing the listeners, so the balancer stops sending new clients (default: 2 with --proxy-protocol, else 0)"))
    .option("--workers <n>", "processes serving TCP (uses every core with the number of cores)", integerOption("--workers", 1, 256), 1)
    .option("--data <dir>", "data folder", "./wharf-data")
    .addOption(new Option("--log-level <level>", "log level (logs go to stderr as JSON lines)").choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"))
    .option("--max-connections <n>", "most connections served at once", integerOption("--max-connections", 1), 10_000)
    .addOption(secondsFlag("--idle-timeout <seconds>", "close connections idle this long; 0: never", 120_000))
    .addOption(new Option("--max-header-size <size>", "largest frame header").argParser(parseSize).default(64 * 1024, "64K"))
    .addOption(new Option("--max-body-size <size>", "largest buffered body").argParser(parseSize).default(16 * 1024 * 1024, "16M"))
    .addOption(secondsFlag("--shutdown-timeout <seconds>", "on SIGINT/SIGTERM, wait this long for in-flight requests", 10_000))
    .addOption(secondsFlag("--partial-ttl <seconds>", "files: delete partial uploads untouched this long", DEFAULT_SERVICE_CONFIG.partialTtl))
    .addOption(new Option("--hash <alg>", "files: content hash when a client leaves it open, and for files placed by other means").choices(["blake3", "sha256"]).default("blake3"))
    .option("--exec-shell", "exec: allow commands to run through /bin/sh (off: argument vectors only)", false)
    .option("--exec-allow <names>", "exec: comma-separated command names that may run (default: any)")
    .addOption(secondsFlag("--exec-timeout <seconds>", "exec: longest run time of a command", DEFAULT_SERVICE_CONFIG.execTimeout))
    .addOption(new Option("--exec-max-output <size>", "exec: most output bytes of one command").argParser(parseSize).default(DEFAULT_SERVICE_CONFIG.execMaxOutput, "1G"))
    .option("--exec-max-concurrent <n>", "exec: most commands one user runs at once", integerOption("--exec-max-concurrent", 1), DEFAULT_SERVICE_CONFIG.execMaxConcurrent)
    .option("--chat-history <n>", "chat: messages kept per room", integerOption("--chat-history", 0), DEFAULT_SERVICE_CONFIG.chatHistory)
    .option("--chat-rate <n>", "chat: sends and joins per user per second, bursts of twice as many (default 20)", integerOption("--chat-rate", 1))
    .option("--ntp-port <port>", "time: also answer SNTP (RFC 4330) on this UDP port", integerOption("--ntp-port", 0, 65535))
    .addOption(new Option("--token-ttl <duration>", "accounts: longest lifetime of a login token (wharf login), e.g. 30d, 12h").argParser(durationOption("--token-ttl")).default(DEFAULT_SERVICE_CONFIG.tokenTtl, asDuration(DEFAULT_SERVICE_CONFIG.tokenTtl!)))
    .option("--rpc-demo", "rpc: also offer the demo methods math.add, echo and demo.count", false)
    .option("--redis <url>", "keep accounts, login tokens, login throttles, upload leases and chat rooms in this Redis (redis://HOST:PORT), shared by every node")
    .addOption(
      new Option("--gc <mode>", "V8 old-generation collection: throughput (one pause when needed) or incremental (V8's default)")
        .choices(["throughput", "incremental"])
        .default("throughput"),
    )
    .action(action((options: ServeOptions) => serve({ ...options, host: options.host ?? ["127.0.0.1"] })));
}

async function serve(options: ServeOptions): Promise<void> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw usageError("--tls-cert and --tls-key go together");
  }
  checkProxyFlags(options);
  tuneForThroughput(options.gc, SERVE_MALLOC_BLOCK_BYTES);
  mkdirSync(resolve(options.data), { recursive: true });
  const logger = pino({ level: options.logLevel, base: { pid: process.pid } }, pino.destination(2));
  logForgottenRejections(logger);
  if (options.workers > 1 && cluster.isPrimary) return servePrimary(options, logger);
  if (cluster.isWorker) return serveWorker(options, logger);
  const { server, services, redis } = buildServerWithServices(options, logger);
  const node = observeNode(server, "single", redis);
  const ntp: SntpListener[] = [];
  let http: Awaited<ReturnType<typeof startHttp>> = { gateways: [], urls: [] };
  let addresses: string[];
  try {
    ntp.push(...(await listenNtp(options, logger)));
    const streams = await listenStreams(server, options);
    http = await startHttp(server, services, httpOptions(options, node), logger, tlsFiles(options));
    addresses = [...streams, ...(await listenUdp(server, options)), ...ntp.map((l) => l.url), ...http.urls];
  } catch (err) {
    // A listener that could not start (a port in use) ends the command: what did start closes, or it would keep
    // the process serving without having said so.
    await closeAll(ntp, stopServing(server, services, options, http.gateways)).catch(() => {});
    node.close();
    throw err;
  }
  announce(addresses);
  logger.info({ addresses, data: resolve(options.data) }, "serving");
  onShutdownSignal(logger, () => closeAll(ntp, drainThenStop(server, services, options, http.gateways, node, logger)));
}
