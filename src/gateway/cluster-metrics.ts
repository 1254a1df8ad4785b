/**
 * `/metrics` under `wharf serve --workers N`: a scrape lands on one worker, which asks the cluster primary; the
 * primary gathers every worker's registry (prom-client's AggregatorRegistry over cluster IPC) and answers with
 * the sum. Counters and histograms add up; `wharf_connections_open` adds up too (each worker's own).
 *
 * @module
 */
import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

type Ask = { wharf: "metrics"; requestId: number };
type Answer = { wharf: "metrics-text"; requestId: number; text?: string; error?: string };

/** In the primary: answers workers' requests for the aggregated text. Call once, before forking. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: Ask) => {
    if (message?.wharf !== "metrics") return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ wharf: "metrics-text", requestId: message.requestId, text } satisfies Answer),
      (err: Error) => worker.send({ wharf: "metrics-text", requestId: message.requestId, error: err.message } satisfies Answer),
    );
  });
}

/**
 * In a worker: offers `registry` to the primary's aggregation and returns the function `/metrics` calls (it asks
 * the primary, and gives up after `timeout` ms).
 */
export function workerMetricsText(registry: Registry, timeout = 5_000): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // installs prom-client's answering listener in this worker
  let next = 1;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on("message", (message: Answer) => {
    if (message?.wharf !== "metrics-text") return;
    const waiter = waiting.get(message.requestId);
    if (waiter === undefined) return;
    waiting.delete(message.requestId);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve(message.text ?? "");
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const requestId = next++;
      const timer = setTimeout(() => {
        waiting.delete(requestId);
        reject(new Error("the cluster primary did not answer in time"));
      }, timeout);
      waiting.set(requestId, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      process.send?.({ wharf: "metrics", requestId } satisfies Ask);
    });
}
