/**
 * HTTP for the gateway route tests: the real HttpGateway on 127.0.0.1 port 0 with the routes given, closed when
 * the test ends.
 */
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:http";
import type { TestContext } from "node:test";
import { pino } from "pino";
import { HttpGateway, type RouteHandler } from "../../src/gateway/http-gateway.js";
import { Server } from "../../src/server/index.js";

/** Serves `routes` (path or prefix → handler) on loopback; resolves the base URL "http://127.0.0.1:PORT". */
export async function serveRoutes(t: TestContext, routes: Record<string, RouteHandler>, server?: Server): Promise<string> {
  const owner = server ?? new Server();
  const gateway = new HttpGateway(owner, { logger: pino({ level: "silent" }) });
  for (const [path, handler] of Object.entries(routes)) gateway.route(path, handler);
  const url = await gateway.listen({ host: "127.0.0.1", port: 0 });
  t.after(async () => {
    // WebSockets are the server's connections, and the listener's close waits for them: end them first.
    if (server === undefined) owner.destroy();
    await gateway.close();
  });
  return url;
}

/** One answer, its body read whole. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A raw HTTP request (node:http, so that the path is sent exactly as given: fetch would normalise `..` and
 * `%2e%2e` away before the server sees them).
 */
export function httpRequest(base: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
