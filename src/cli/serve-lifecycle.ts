import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger } from "pino";
import type { HttpGateway } from "../gateway/index.js";
import { Server } from "../server/index.js";
import { TrustedProxies, type ProxyProtocolOptions } from "../server/proxy-accept.js";
import { AccountStore, FileTokenStore } from "../services/accounts/index.js";
import { drainChat, reconfigureChat } from "../services/chat/index.js";
import { DEFAULT_SERVICE_CONFIG, registerServices, type ServiceConfig, type ServiceSet } from "../services/index.js";
import type { RedisLink } from "../services/shared/redis.js";
import { instrumentRedis } from "../services/shared/redis-instrument.js";
import { listenSntp, type SntpListener } from "../services/time/index.js";
import { localFailure, usageError } from "./fail.js";
import type { GcMode } from "./process-tuning.js";
import { stopHttp, type HttpServeOptions } from "./serve-http.js";
import type { NodeObservability } from "./serve-observe.js";
import { sharedState, withRedisClosed } from "./serve-redis.js";

/*
 * What every way of serving shares (a single process, the cluster primary and its workers: serve.ts and
 * serve-cluster.ts): the options, the server built from them with its services, the listeners, and the
 * lifecycle from the first line printed to the graceful stop.
 */

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


/**
 * A promise some handler let reject without a catch is a bug to log, not a reason to take down every client:
 * Node's default (since 15) ends the process. The server runtime itself leaves none (the fuzz test would see
 * the process die), so this guards only the code that services and users add. Uncaught exceptions keep Node's
 * default: after one, the process's state is unknown, and `--workers` replaces a worker that dies.
 */
export function logForgottenRejections(logger: Logger): void {
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
export async function stopServing(server: Server, services: ServiceSet, options: ServeOptions, gateways: HttpGateway[] = [], before: Promise<unknown>[] = []): Promise<void> {
  drainChat(services);
  await Promise.all([stopHttp(gateways), server.close({ timeout: options.shutdownTimeout }), ...before]);
  await services.close();
}

export function httpOptions(options: ServeOptions, node?: NodeObservability): HttpServeOptions {
  // `--port 0` asks for free ports: the HTTP port follows unless it was given (tests run many servers at once).
  const httpPort = options.httpPort ?? (options.port === 0 ? 0 : 9080);
  return { host: options.host, httpPort, http: options.http !== false, httpOrigin: options.httpOrigin, proxyProtocol: proxyProtocolOf(options), health: node?.health };
}

/** `--proxy-protocol` and `--trusted-proxy` go together; a balancer cannot send a header inside TLS it terminates here. */
export function checkProxyFlags(options: ServeOptions): void {
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
export function drainDelayOf(options: ServeOptions): number {
  return options.drainDelay ?? (options.proxyProtocol === true ? 2_000 : 0);
}

export function proxyProtocolOf(options: ServeOptions): ProxyProtocolOptions | undefined {
  return options.proxyProtocol === true ? { trusted: options.trustedProxy ?? [] } : undefined;
}

/**
 * SIGTERM behind a balancer (issue 14): /readyz turns 503 at once, the node keeps serving for `--drain-delay`
 * while the balancer's health checks notice, then it stops accepting, finishes what is in flight, and tells its
 * clients E_SHUTTING_DOWN (they reconnect through the balancer to another node).
 */
export async function drainThenStop(server: Server, services: ServiceSet, options: ServeOptions, gateways: HttpGateway[], node: NodeObservability, logger: Logger): Promise<void> {
  node.readiness.draining = true;
  const delay = drainDelayOf(options);
  if (delay > 0) {
    logger.info({ drainDelayMs: delay }, "draining: /readyz says 503; listeners close after the drain delay");
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  await stopServing(server, services, options, gateways);
  node.close();
}

export function serviceConfig(options: ServeOptions): ServiceConfig {
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

export function tlsFiles(options: ServeOptions): { cert: Buffer; key: Buffer } | undefined {
  return options.tlsCert !== undefined && options.tlsKey !== undefined
    ? { cert: readOptionFile("--tls-cert", options.tlsCert), key: readOptionFile("--tls-key", options.tlsKey) }
    : undefined;
}

export async function listenStreams(server: Server, options: ServeOptions): Promise<string[]> {
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

export async function listenUdp(server: Server, options: ServeOptions): Promise<string[]> {
  if (!options.udp) return [];
  const port = options.udpPort ?? options.port;
  const urls: string[] = [];
  for (const host of options.host) urls.push(await server.listenUdp({ host, port }));
  return urls;
}

/** `--ntp-port`: an SNTP responder per host, beside the UDP endpoint (served by the cluster primary). */
export async function listenNtp(options: ServeOptions, logger: Logger): Promise<SntpListener[]> {
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

export async function closeAll(ntp: SntpListener[], closing: Promise<void>): Promise<void> {
  await Promise.all([...ntp.map((listener) => listener.close()), closing]);
}

/** The first line `wharf serve` prints: every address, as URLs. */
export function announce(addresses: string[]): void {
  process.stdout.write(`wharf listening on ${addresses.join(" ")}\n`);
}

export function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
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
