import cluster from "node:cluster";
import type { Logger } from "pino";
import { serveClusterMetrics } from "../gateway/cluster-metrics.js";
import { chatHubOf, relayChatToPrimary } from "../services/chat/index.js";
import { describeFailure, printFailure } from "./fail.js";
import { startHttp } from "./serve-http.js";
import { observeNode } from "./serve-observe.js";
import {
  announce,
  buildServerWithServices,
  closeAll,
  drainDelayOf,
  drainThenStop,
  httpOptions,
  listenNtp,
  listenStreams,
  listenUdp,
  onShutdownSignal,
  stopServing,
  tlsFiles,
  type ServeOptions,
} from "./serve-lifecycle.js";

/*
 * `wharf serve --workers N`: the primary forks N workers that serve TCP and HTTP (they share the listening
 * sockets), and serves UDP, SNTP and the chat rooms' state itself.
 */

/** Messages between the cluster primary and its workers. */
type ClusterMessage =
  | { wharf: "listening"; addresses: string[] }
  | { wharf: "shutdown" }
  /** A worker that could not start (a port in use): the primary says so once, stops the others and exits. */
  | { wharf: "failed"; code: string; message: string; exitCode: number };

/**
 * The cluster primary: forks the workers that serve TCP (they share the listening sockets), serves UDP itself,
 * replaces a worker that dies, and on SIGINT/SIGTERM shuts every worker down gracefully.
 */
export async function servePrimary(options: ServeOptions, logger: Logger): Promise<void> {
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

export async function serveWorker(options: ServeOptions, logger: Logger): Promise<void> {
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
