/**
 * `/healthz`, `/readyz` and `/metrics` on the HTTP port: what a load balancer and Prometheus ask a node.
 *
 * - `/healthz`: 200 while the process answers (alive).
 * - `/readyz`: 200 when the node should get new clients; 503 while it drains for shutdown, or while a Redis it
 *   needs is unreachable. HAProxy checks it (deploy/haproxy.cfg) and stops routing to a node that says 503.
 * - `/metrics`: Prometheus text (prom-client); with `--workers`, aggregated over every worker.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Anything routes can be added to: an HttpGateway. */
export interface RouteTarget {
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): unknown;
}

/**
 * Whether a node is ready for new clients. `draining` is set on SIGTERM; `dependency()` adds a check that must
 * hold (a Redis link's `ready`).
 *
 * @example
 * ```ts
 * const readiness = new Readiness();
 * readiness.dependency("redis", () => link.ready);
 * process.on("SIGTERM", () => (readiness.draining = true));
 * ```
 */
export class Readiness {
  /** True once the node drains for shutdown: never ready again. */
  draining = false;
  #checks: { name: string; ok: () => boolean }[] = [];

  /** Adds a condition readiness needs: `name` appears in the 503's body while `ok()` is false. */
  dependency(name: string, ok: () => boolean): this {
    this.#checks.push({ name, ok });
    return this;
  }

  /** Null when ready; otherwise why not, in a few words. */
  notReadyReason(): string | null {
    if (this.draining) return "draining";
    const failing = this.#checks.filter((check) => !check.ok()).map((check) => `${check.name} unreachable`);
    return failing.length === 0 ? null : failing.join(", ");
  }
}

/** What {@link registerHealthRoutes} serves from. */
export interface HealthRoutesOptions {
  readiness: Readiness;
  /** The Prometheus text of this node (every worker's, aggregated, under `--workers`). */
  metricsText: () => Promise<string>;
  /** Content-Type of that text; prom-client's registry.contentType. */
  metricsContentType: string;
}

/** Adds `/healthz`, `/readyz` and `/metrics` to a gateway. */
export function registerHealthRoutes(target: RouteTarget, options: HealthRoutesOptions): void {
  target.route("/healthz", (req, res) => {
    if (!allowMethod(req, res)) return;
    send(res, 200, "ok\n", req.method === "HEAD");
  });
  target.route("/readyz", (req, res) => {
    if (!allowMethod(req, res)) return;
    const reason = options.readiness.notReadyReason();
    send(res, reason === null ? 200 : 503, reason === null ? "ready\n" : `not ready: ${reason}\n`, req.method === "HEAD");
  });
  target.route("/metrics", (req, res) => {
    if (!allowMethod(req, res)) return;
    options.metricsText().then(
      (text) => send(res, 200, text, req.method === "HEAD", options.metricsContentType),
      (err: unknown) => send(res, 500, `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`, false),
    );
  });
}

function allowMethod(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === "GET" || req.method === "HEAD") return true;
  res.writeHead(405, { Allow: "GET, HEAD", "Content-Length": 0 }).end();
  return false;
}

function send(res: ServerResponse, status: number, text: string, headOnly: boolean, contentType = "text/plain; charset=utf-8"): void {
  // No caching: a balancer or scraper must see the state of now.
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-store" });
  res.end(headOnly ? undefined : text);
}
