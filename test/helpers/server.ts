import type { TestContext } from "node:test";
import { Server, type ServerOptions } from "../../src/server/index.js";

/** Starts a Server on loopback TCP (port 0) and UDP, closed when the test ends. */
export async function startServer(
  t: TestContext,
  options: ServerOptions = {},
  setup?: (server: Server) => void,
): Promise<{ server: Server; url: string; udpUrl: string }> {
  const server = new Server(options);
  setup?.(server);
  const url = await server.listenTcp({ host: "127.0.0.1", port: 0 });
  const udpUrl = await server.listenUdp({ host: "127.0.0.1", port: 0 });
  t.after(() => server.destroy());
  return { server, url, udpUrl };
}
