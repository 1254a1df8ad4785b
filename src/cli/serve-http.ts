import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { downloadRoute } from "../gateway/download-route.js";
import { HttpGateway } from "../gateway/index.js";
import { registerHealthRoutes, type HealthRoutesOptions } from "../gateway/health-routes.js";
import type { ProxyProtocolOptions } from "../server/proxy-accept.js";
import { staticRoute } from "../gateway/static-route.js";
import type { Server } from "../server/index.js";
import type { FilesService } from "../services/files/index.js";
import type { ServiceSet } from "../services/index.js";

/** The built web app: dist/web, beside dist/src where this module runs from. */
const WEB_APP_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

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
  services: ServiceSet,
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
    const files = services.get("files") as FilesService | undefined;
    if (files !== undefined) gateway.route("/dl/", downloadRoute({ dataDir: files.layout.dataDir, logger }));
    gateway.route("/", staticRoute(WEB_APP_DIR, { logger }));
    try {
      urls.push(await gateway.listen({ host, port: options.httpPort }));
    } catch (err) {
      await stopHttp(gateways); // those of the hosts before this one
      throw err;
    }
    gateways.push(gateway);
  }
  return { gateways, urls };
}

/** Stops every gateway's listener; its WebSockets are the server's connections and drain with it. */
export async function stopHttp(gateways: HttpGateway[]): Promise<void> {
  await Promise.all(gateways.map((gateway) => gateway.close()));
}
