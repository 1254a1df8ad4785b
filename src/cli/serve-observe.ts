import type { Server } from "../server/index.js";
import { workerMetricsText } from "../gateway/cluster-metrics.js";
import { Readiness, type HealthRoutesOptions } from "../gateway/health-routes.js";
import { WharfMetrics } from "../gateway/metrics.js";
import type { RedisLink } from "../services/shared/redis.js";

/** What `wharf serve` tells a balancer and Prometheus about one process (issue 14). */
export interface NodeObservability {
  readiness: Readiness;
  metrics: WharfMetrics;
  /** The routes' options: `/metrics` is this process's text, or under `--workers` every worker's, summed. */
  health: HealthRoutesOptions;
  close(): void;
}

/**
 * Metrics and readiness of a serving process. `"worker"`: a cluster worker, whose `/metrics` asks the primary for
 * the aggregate (the primary runs serveClusterMetrics()). With `redis` (`--redis`), the node is not ready while
 * that link is down: the balancer sends clients to nodes that can serve logins and chat.
 */
export function observeNode(server: Server, mode: "single" | "worker", redis: RedisLink | null = null): NodeObservability {
  const readiness = new Readiness();
  if (redis !== null) readiness.dependency("redis", () => redis.ready);
  const metrics = new WharfMetrics(server);
  const metricsText = mode === "worker" ? workerMetricsText(metrics.registry) : () => metrics.registry.metrics();
  return {
    readiness,
    metrics,
    health: { readiness, metricsText, metricsContentType: metrics.registry.contentType },
    close: () => metrics.close(),
  };
}
