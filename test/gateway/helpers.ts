/**
 * HTTP for the gateway route tests: a plain node:http server on 127.0.0.1 port 0 that routes by prefix as
 * HttpGateway.route() does (longest prefix wins, "/" the fallback), closed when the test ends.
 */
import { once } from "node:events";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { TestContext } from "node:test";
import type { RouteHandler } from "../../src/gateway/download-route.js";

/** Serves `routes` (prefix → handler) on loopback; resolves the base URL "http://127.0.0.1:PORT". */
export async function serveRoutes(t: TestContext, routes: Record<string, RouteHandler>): Promise<string> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const prefix = prefixes.find((p) => (p.endsWith("/") ? path.startsWith(p) : path === p));
    if (prefix === undefined) {
      res.writeHead(404).end();
      return;
    }
    routes[prefix](req, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
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
