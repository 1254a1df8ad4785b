/**
 * A TCP proxy on 127.0.0.1 port 0 whose link can be cut: `cut()` destroys every connection through it and
 * refuses new ones until `restore()`. For tests of what a client does when its network drops (the server stays
 * up, so others can keep talking meanwhile). Closed when the test ends.
 */
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import type { TestContext } from "node:test";

/** A running proxy. */
export interface CuttableProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Destroys every connection and refuses new ones. */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
}

/** Starts a proxy to `targetPort` on 127.0.0.1. */
export async function startCuttableProxy(t: TestContext, targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
  };
}
