import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { once } from "node:events";
import { decodeDatagram, encodeDatagram, isWireInteger } from "../../src/wire/index.js";

/** One request and its reply as they crossed the relay. */
export interface Exchange {
  type: string;
  requestSize: number;
  replySize: number;
  /** True when the reply was over 3x its request and the relay answered E_USE_STREAM in its place. */
  refused: boolean;
}

/**
 * A UDP relay in front of a real server that applies the anti-amplification rule the way a server does
 * (docs/protocol.md §5): a reply datagram larger than 3x the request datagram it answers is not passed on; the
 * client gets a small `E_USE_STREAM` error instead. Every client gets a socket of its own towards the server, so
 * the server tells clients apart by port as it would without the relay. Records every exchange.
 */
export interface AmplificationRelay {
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

export async function amplificationRelay(serverUrl: string): Promise<AmplificationRelay> {
  const target = new URL(serverUrl);
  const front: Socket = createSocket("udp4");
  front.bind(0, "127.0.0.1");
  await once(front, "listening");
  const backs = new Map<string, Socket>();
  const asked = new Map<string, { type: string; size: number }>();
  const exchanges: Exchange[] = [];

  const backFor = async (client: RemoteInfo): Promise<Socket> => {
    const key = `${client.address}:${client.port}`;
    let back = backs.get(key);
    if (back === undefined) {
      back = createSocket("udp4");
      backs.set(key, back);
      back.bind(0, "127.0.0.1");
      await once(back, "listening");
      back.on("message", (msg) => {
        const { header } = decodeDatagram(msg);
        const request = isWireInteger(header.id) ? asked.get(`${key}#${header.id}`) : undefined;
        if (request === undefined) {
          front.send(msg, client.port, client.address); // an event, or a repeat: not an answer we can size
          return;
        }
        const refused = msg.length > 3 * request.size;
        exchanges.push({ type: request.type, requestSize: request.size, replySize: msg.length, refused });
        const out = refused
          ? encodeDatagram({ id: header.id, ok: false, error: { code: "E_USE_STREAM", message: "the reply is over 3x the request: use a stream" } })
          : msg;
        front.send(out, client.port, client.address);
      });
    }
    return back;
  };

  front.on("message", (msg, rinfo) => {
    const { header } = decodeDatagram(msg);
    if (isWireInteger(header.id)) asked.set(`${rinfo.address}:${rinfo.port}#${header.id}`, { type: String(header.type), size: msg.length });
    void backFor(rinfo).then((back) => back.send(msg, Number(target.port), target.hostname));
  });

  return {
    url: `udp://127.0.0.1:${front.address().port}`,
    exchanges,
    async close() {
      const sockets = [front, ...backs.values()];
      await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.close(() => resolve(null)))));
    },
  };
}
