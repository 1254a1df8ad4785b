import cluster from "node:cluster";
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { pino, type Logger } from "pino";
import { Server } from "../server/index.js";
import { TrustedProxies } from "../server/proxy-accept.js";
import { AccountStore, FileTokenStore } from "../services/accounts/index.js";
import { DEFAULT_SERVICE_CONFIG, registerServices, type ServiceConfig, type ServiceSet } from "../services/index.js";
import { listenSntp, type SntpListener } from "../services/time/index.js";
import { chatHubOf, drainChat, reconfigureChat, relayChatToPrimary } from "../services/chat/index.js";
import { action, describeFailure, localFailure, printFailure, usageError } from "./fail.js";
import { asDuration, durationOption, integerOption, parseSize, secondsFlag } from "./parse.js";
import { SERVE_MALLOC_BLOCK_BYTES, tuneForThroughput, type GcMode } from "./process-tuning.js";
import { startHttp, stopHttp, type HttpServeOptions } from "./serve-http.js";
import type { HttpGateway } from "../gateway/index.js";
import { observeNode, type NodeObservability } from "./serve-observe.js";
import { serveClusterMetrics } from "../gateway/cluster-metrics.js";
import type { ProxyProtocolOptions } from "../server/proxy-accept.js";
import { sharedState, withRedisClosed } from "./serve-redis.js";
import { instrumentRedis } from "../services/shared/redis-instrument.js";
import type { RedisLink } from "../services/shared/redis.js";

/** The options of `wharf serve`, as commander parses them. */
export interface ServeOptions {
  host: string[];
  port: number;
  udpPort?: number;
  udp: boolean;
  tlsCert?: string;
  tlsKey?: string;
  unix?: string;
  /** HTTP (or HTTPS with --tls-cert) port of the web app and the WebSocket gateway; optional for older callers. */
  httpPort?: number;
  /** False with --no-http. */
  http?: boolean;
  httpOrigin?: string[];
  /** `--proxy-protocol`: stream and HTTP listeners expect a PROXY header from a trusted balancer. */
  proxyProtocol?: boolean;
  /** `--trusted-proxy`, repeatable: the balancers' addresses or CIDR blocks. */
  trustedProxy?: string[];
  /** `--drain-delay`, ms: on SIGTERM, how long /readyz says 503 before the listeners close. */
  drainDelay?: number;
  workers: number;
  data: string;
  logLevel: string;
  maxConnections: number;
  idleTimeout: number;
  maxHeaderSize: number;
  maxBodySize: number;
  shutdownTimeout: number;
  partialTtl: number;
  hash?: "blake3" | "sha256";
  execShell: boolean;
  execAllow?: string;
  execTimeout: number;
  execMaxOutput: number;
  execMaxConcurrent: number;
  chatHistory: number;
  /** Chat sends and joins per user per second (bursts of twice as many); optional: absent is chat's default. */
  chatRate?: number;
  ntpPort?: number;
  /** Optional so that callers of buildServer() written before the flag still compile; absent means off. */
  rpcDemo?: boolean;
  /** Longest lifetime of a login token, ms; optional for the same reason as rpcDemo. */
  tokenTtl?: number;
  /** `--redis URL`: accounts, tokens, throttles and upload leases in this Redis (docs/scale.md). */
  redis?: string;
  gc: GcMode;
}


/** Messages between the cluster primary and its workers. */
type ClusterMessage =
  | { wharf: "listening"; addresses: string[] }
  | { wharf: "shutdown" }
  /** A worker that could not start (a port in use): the primary says so once, stops the others and exits. */
  | { wharf: "failed"; code: string; message: string; exitCode: number };

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

/**
 * A promise some handler let reject without a catch is a bug to log, not a reason to take down every client:
 * Node's default (since 15) ends the process. The server runtime itself leaves none (the fuzz test would see
 * the process die), so this guards only the code that services and users add. Uncaught exceptions keep Node's
 * default: after one, the process's state is unknown, and `--workers` replaces a worker that dies.
 */
function logForgottenRejections(logger: Logger): void {
  process.on("unhandledRejection", (reason) => {
    logger.error({ err: reason }, "a promise rejected and nothing handled it (a bug); serving goes on");
  });
}

/** Makes a server with every service registered, configured from the options. */
export function buildServer(options: ServeOptions, logger: Logger): Server {
  return buildServerWithServices(options, logger).server;
}

/** {@link buildServer}, with the services it registered: close them once the server has closed. */
export function buildServerWithServices(options: ServeOptions, logger: Logger): { server: Server; services: ServiceSet; redis: RedisLink | null } {
  const server = new Server({
    logger,
    proxyProtocol: proxyProtocolOf(options),
    maxConnections: options.maxConnections,
    idleTimeout: options.idleTimeout,
    maxHeaderSize: options.maxHeaderSize,
    maxBodySize: options.maxBodySize,
  });
  const dataDir = resolve(options.data);
  const deps = { dataDir, accounts: new AccountStore(dataDir), tokens: new FileTokenStore(dataDir), logger, config: serviceConfig(options) };
  const chat = { rate: options.chatRate === undefined ? undefined : { rate: options.chatRate, burst: 2 * options.chatRate } };
  if (options.redis === undefined) {
    const services = registerServices(server, deps);
    return { server, services: options.chatRate === undefined ? services : reconfigureChat(server, services, deps, chat), redis: null };
  }
  const shared = sharedState(options.redis, dataDir, logger);
  instrumentRedis(shared.redis.client); // Redis round trips and errors on /metrics
  const services = reconfigureChat(server, registerServices(server, { ...deps, ...shared.deps }), deps, chat, shared.redis);
  return { server, services: withRedisClosed(services, shared.redis), redis: shared.redis };
}

/**
 * The graceful stop of one process: the server first (new requests refused, in-flight ones finish within the
 * shutdown timeout), then every service, awaited, so that nothing they hold outlives the process: chat history
 * written, upload locks released, commands killed. Nothing relies on the process's `exit` event for this.
 */
async function stopServing(server: Server, services: ServiceSet, options: ServeOptions, gateways: HttpGateway[] = [], before: Promise<unknown>[] = []): Promise<void> {
  drainChat(services);
  await Promise.all([stopHttp(gateways), server.close({ timeout: options.shutdownTimeout }), ...before]);
  await services.close();
}

function httpOptions(options: ServeOptions, node?: NodeObservability): HttpServeOptions {
  // `--port 0` asks for free ports: the HTTP port follows unless it was given (tests run many servers at once).
  const httpPort = options.httpPort ?? (options.port === 0 ? 0 : 9080);
  return { host: options.host, httpPort, http: options.http !== false, httpOrigin: options.httpOrigin, proxyProtocol: proxyProtocolOf(options), health: node?.health };
}

/** `--proxy-protocol` and `--trusted-proxy` go together; a balancer cannot send a header inside TLS it terminates here. */
function checkProxyFlags(options: ServeOptions): void {
  const trusted = options.trustedProxy ?? [];
  if (options.proxyProtocol !== true) {
    if (trusted.length > 0) throw usageError("--trusted-proxy needs --proxy-protocol");
    return;
  }
  if (trusted.length === 0) throw usageError("--proxy-protocol needs --trusted-proxy <address|cidr>: the balancers allowed to name clients");
  if (options.tlsCert !== undefined) throw usageError("--proxy-protocol does not combine with --tls-cert: terminate TLS at the balancer, or pass it through without PROXY headers");
  try {
    new TrustedProxies(trusted);
  } catch (err) {
    throw usageError(`--trusted-proxy: ${(err as Error).message}`);
  }
}

/** `--drain-delay`, ms: 2 s behind a balancer (--proxy-protocol) unless given, else none. */
function drainDelayOf(options: ServeOptions): number {
  return options.drainDelay ?? (options.proxyProtocol === true ? 2_000 : 0);
}

function proxyProtocolOf(options: ServeOptions): ProxyProtocolOptions | undefined {
  return options.proxyProtocol === true ? { trusted: options.trustedProxy ?? [] } : undefined;
}

/**
 * SIGTERM behind a balancer (issue 14): /readyz turns 503 at once, the node keeps serving for `--drain-delay`
 * while the balancer's health checks notice, then it stops accepting, finishes what is in flight, and tells its
 * clients E_SHUTTING_DOWN (they reconnect through the balancer to another node).
 */
async function drainThenStop(server: Server, services: ServiceSet, options: ServeOptions, gateways: HttpGateway[], node: NodeObservability, logger: Logger): Promise<void> {
  node.readiness.draining = true;
  const delay = drainDelayOf(options);
  if (delay > 0) {
    logger.info({ drainDelayMs: delay }, "draining: /readyz says 503; listeners close after the drain delay");
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  await stopServing(server, services, options, gateways);
  node.close();
}

function serviceConfig(options: ServeOptions): ServiceConfig {
  return {
    partialTtl: options.partialTtl,
    hash: options.hash,
    execShell: options.execShell,
    execAllow: options.execAllow === undefined ? null : options.execAllow.split(",").map((name) => name.trim()).filter(Boolean),
    execTimeout: options.execTimeout,
    execMaxOutput: options.execMaxOutput,
    execMaxConcurrent: options.execMaxConcurrent,
    chatHistory: options.chatHistory,
    ntpPort: options.ntpPort ?? null,
    rpcDemo: options.rpcDemo === true,
    tokenTtl: options.tokenTtl ?? DEFAULT_SERVICE_CONFIG.tokenTtl,
  };
}

function tlsFiles(options: ServeOptions): { cert: Buffer; key: Buffer } | undefined {
  return options.tlsCert !== undefined && options.tlsKey !== undefined
    ? { cert: readOptionFile("--tls-cert", options.tlsCert), key: readOptionFile("--tls-key", options.tlsKey) }
    : undefined;
}

async function listenStreams(server: Server, options: ServeOptions): Promise<string[]> {
  const tls = tlsFiles(options);
  const urls: string[] = [];
  for (const host of options.host) urls.push(await server.listenTcp({ host, port: options.port, tls }));
  if (options.unix !== undefined) urls.push(await server.listenUnix(resolve(options.unix)));
  return urls;
}

/** Reads a file named by an option; a failure names both: `--tls-cert /x: no such file or folder`. */
function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw localFailure(err as NodeJS.ErrnoException, path, option);
  }
}

async function listenUdp(server: Server, options: ServeOptions): Promise<string[]> {
  if (!options.udp) return [];
  const port = options.udpPort ?? options.port;
  const urls: string[] = [];
  for (const host of options.host) urls.push(await server.listenUdp({ host, port }));
  return urls;
}

/** `--ntp-port`: an SNTP responder per host, beside the UDP endpoint (served by the cluster primary). */
async function listenNtp(options: ServeOptions, logger: Logger): Promise<SntpListener[]> {
  const port = options.ntpPort;
  if (port === undefined) return [];
  const listeners: SntpListener[] = [];
  try {
    for (const host of options.host) listeners.push(await listenSntp({ host, port, logger }));
  } catch (err) {
    await Promise.all(listeners.map((listener) => listener.close()));
    throw err;
  }
  return listeners;
}

async function closeAll(ntp: SntpListener[], closing: Promise<void>): Promise<void> {
  await Promise.all([...ntp.map((listener) => listener.close()), closing]);
}

/** The first line `wharf serve` prints: every address, as URLs. */
function announce(addresses: string[]): void {
  process.stdout.write(`wharf listening on ${addresses.join(" ")}\n`);
}

function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    shutdown().then(
      () => {
        logger.info("stopped");
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/**
 * The cluster primary: forks the workers that serve TCP (they share the listening sockets), serves UDP itself,
 * replaces a worker that dies, and on SIGINT/SIGTERM shuts every worker down gracefully.
 */
async function servePrimary(options: ServeOptions, logger: Logger): Promise<void> {
  const { server, services } = buildServerWithServices(options, logger);
  const ntp = await listenNtp(options, logger);
  const udpAddresses = [...(await listenUdp(server, options)), ...ntp.map((l) => l.url)];
  let shuttingDown = false;
  let streamAddresses: string[] | null = null;
  let listening = 0;
  serveClusterMetrics();
  const chatHub = chatHubOf(services);
  const fork = (): void => {
    const worker = cluster.fork();
    // A failed send to a worker that is going away must not end the primary (an unhandled 'error' would).
    worker.on("error", (err) => logger.warn({ err, worker: worker.process.pid }, "could not reach a worker"));
    chatHub.attach(worker);
    worker.on("message", (message: ClusterMessage) => {
      if (message.wharf === "failed") return void failedToStart(message);
      if (message.wharf !== "listening") return;
      listening += 1;
      streamAddresses ??= message.addresses;
      if (listening === options.workers) {
        // The stream URLs first, then UDP, then HTTP (last in a worker's list), as a single process prints them.
        const http = streamAddresses.filter((url) => url.startsWith("http"));
        const streams = streamAddresses.filter((url) => !url.startsWith("http"));
        const all = [...streams, ...udpAddresses, ...http];
        announce(all);
        logger.info({ addresses: all, workers: options.workers }, "serving");
      }
    });
  };
  cluster.on("exit", (worker, code, signal) => {
    if (shuttingDown) return;
    logger.error({ worker: worker.process.pid, code, signal }, "worker died; starting another");
    fork();
  });
  const stopWorkers = async (): Promise<void> => {
    shuttingDown = true;
    const exits = Object.values(cluster.workers ?? {}).map((worker) => {
      if (worker === undefined || worker.isDead()) return Promise.resolve();
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      // A worker that failed to start is leaving: a send to it may fail (EPIPE), which the callback takes.
      if (worker.isConnected()) worker.send({ wharf: "shutdown" } satisfies ClusterMessage, undefined, () => {});
      return exited;
    });
    // UDP (served here) goes on through the workers' drain delay, as their stream listeners do.
    await new Promise((resolve) => setTimeout(resolve, drainDelayOf(options)));
    // Chat state lives here: its history is written once the workers that relay to it have stopped.
    await closeAll(ntp, stopServing(server, services, options, [], exits));
  };
  // A worker that cannot start before all have listened ends the command, as a single process does: another
  // worker would fail the same way, so none is started in its place.
  const failedToStart = (failure: { code: string; message: string; exitCode: number }): void => {
    if (shuttingDown || listening === options.workers) return;
    printFailure(failure.code, failure.message);
    process.exitCode = failure.exitCode;
    void stopWorkers().then(
      () => process.exit(),
      () => process.exit(),
    );
  };
  for (let i = 0; i < options.workers; i += 1) fork();
  onShutdownSignal(logger, stopWorkers);
}

async function serveWorker(options: ServeOptions, logger: Logger): Promise<void> {
  const built = buildServerWithServices(options, logger);
  const server = built.server;
  const services = options.redis === undefined ? relayChatToPrimary(server, built.services) : built.services;
  const node = observeNode(server, "worker", built.redis);
  let http: Awaited<ReturnType<typeof startHttp>> = { gateways: [], urls: [] };
  let addresses: string[];
  try {
    const streams = await listenStreams(server, options);
    // Workers share the HTTP port as they share the TCP one (the cluster primary hands out connections).
    http = await startHttp(server, services, httpOptions(options, node), logger, tlsFiles(options));
    addresses = [...streams, ...http.urls];
  } catch (err) {
    await stopServing(server, services, options, http.gateways).catch(() => {});
    node.close();
    if (process.send === undefined) throw err;
    // The primary says it, once for all workers, and stops the others; this worker ends with its channel.
    process.send({ wharf: "failed", ...describeFailure(err) } satisfies ClusterMessage);
    process.disconnect();
    return;
  }
  let stopping: Promise<void> | null = null;
  // The primary's message and a signal of the worker's own may both come: one drain.
  const stop = (): Promise<void> => (stopping ??= drainThenStop(server, services, options, http.gateways, node, logger));
  process.on("message", (message: ClusterMessage) => {
    if (message.wharf === "shutdown") void stop().then(() => process.exit(0), () => process.exit(1));
  });
  onShutdownSignal(logger, stop);
  process.send?.({ wharf: "listening", addresses } satisfies ClusterMessage);
}
