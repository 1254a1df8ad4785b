import type { Logger } from "pino";
import { HttpGateway } from "../gateway/index.js";
import { registerHealthRoutes, type HealthRoutesOptions } from "../gateway/health-routes.js";
import type { ProxyProtocolOptions } from "../server/proxy-accept.js";
import type { Server } from "../server/index.js";
import type { ServiceSet } from "../services/index.js";

/** What `wharf serve` needs to start its HTTP side. */
export interface HttpServeOptions {
  host: string[];
  httpPort: number;
  /** False with `--no-http`. */
  http: boolean;
  httpOrigin?: string[];
  /** `--proxy-protocol` with its `--trusted-proxy` addresses. */
  proxyProtocol?: ProxyProtocolOptions;
  /** `/healthz`, `/readyz` and `/metrics` (issue 14). */
  health?: HealthRoutesOptions;
}

/**
 * The HTTP side of `wharf serve`: a gateway per `--host` on `--http-port` (HTTPS and WSS when `tls` is given),
 * with the routes of the services that have them. Resolves the gateways (empty with `--no-http`) and their URLs.
 */
export async function startHttp(
  server: Server,
  _services: ServiceSet,
  options: HttpServeOptions,
  logger: Logger,
  tls: { cert: Buffer; key: Buffer } | undefined,
): Promise<{ gateways: HttpGateway[]; urls: string[] }> {
  if (!options.http) return { gateways: [], urls: [] };
  const gateways: HttpGateway[] = [];
  const urls: string[] = [];
  for (const host of options.host) {
    const gateway = new HttpGateway(server, { logger, origins: options.httpOrigin ?? [], tls, proxyProtocol: options.proxyProtocol });
    // Routes of the services go here, one line each.
    if (options.health !== undefined) registerHealthRoutes(gateway, options.health);
    urls.push(await gateway.listen({ host, port: options.httpPort }));
    gateways.push(gateway);
  }
  return { gateways, urls };
}

/** Stops every gateway's listener; its WebSockets are the server's connections and drain with it. */
export async function stopHttp(gateways: HttpGateway[]): Promise<void> {
  await Promise.all(gateways.map((gateway) => gateway.close()));
}
