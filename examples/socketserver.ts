/**
 * A socketserver-style server: Python's `socketserver` has a handler class whose `handle()` serves each
 * request; a wharf Server routes each request type to a handler, so a class with one method per type plays
 * the same part, and one Server serves it over TCP and UDP at once (ThreadingTCPServer and UDPServer in one).
 * Run: `npm run build && node dist/examples/socketserver.js`.
 */
// In your project: import { Server } from "wharf/server"; import { connect, udpRequest } from "wharf/client";
import type { RequestHeader } from "../src/wire/index.js";
import { connect, udpRequest } from "../src/client/index.js";
import { Server, type RequestContext } from "../src/server/index.js";

/** The handler class: one method per request type, like BaseRequestHandler.handle(). */
class EchoHandler {
  #served = 0;

  /** Echoes the body back upper-cased, and says which transport it came over. */
  upper(_header: RequestHeader, body: Buffer, ctx: RequestContext) {
    this.#served += 1;
    return { header: { transport: ctx.peer.transport, served: this.#served }, body: Buffer.from(body.toString().toUpperCase()) };
  }

  /** Registers every method on a server. */
  register(server: Server): void {
    server.handle("upper", (header, body: Buffer, ctx) => this.upper(header, body, ctx));
  }
}

const server = new Server();
new EchoHandler().register(server);
const tcp = await server.listenTcp({ host: "127.0.0.1", port: 0 });
const udp = await server.listenUdp({ host: "127.0.0.1", port: 0 });

const conn = await connect(tcp);
const overTcp = await conn.request("upper", {}, Buffer.from("hello over tcp"), { timeout: 5_000 });
console.log(`TCP: ${overTcp.body.toString()} (${overTcp.header.transport}, request ${overTcp.header.served})`);
await conn.close();
const overUdp = await udpRequest(udp, "upper", {}, Buffer.from("hello over udp"), { timeout: 1_000, retries: 3 });
console.log(`UDP: ${overUdp.body.toString()} (${overUdp.header.transport}, request ${overUdp.header.served})`);
await server.close();
