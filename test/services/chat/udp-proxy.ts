import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { once } from "node:events";
import { decodeDatagram, type FrameHeader } from "../../../src/wire/index.js";

/**
 * A UDP relay between one client and a server that can drop chosen datagrams in either direction: the network's
 * loss, made deterministic. `drop` decides per decoded frame; dropped frames are counted.
 */
export interface LossyProxy {
  /** The URL the client talks to. */
  url: string;
  dropped: FrameHeader[];
  drop: { toServer?: (header: FrameHeader) => boolean; toClient?: (header: FrameHeader) => boolean };
  close(): Promise<void>;
}

export async function lossyProxy(serverUrl: string): Promise<LossyProxy> {
  const target = new URL(serverUrl);
  const front: Socket = createSocket("udp4");
  const back: Socket = createSocket("udp4");
  front.bind(0, "127.0.0.1");
  back.bind(0, "127.0.0.1");
  await Promise.all([once(front, "listening"), once(back, "listening")]);
  let client: RemoteInfo | null = null;
  const proxy: LossyProxy = {
    url: `udp://127.0.0.1:${front.address().port}`,
    dropped: [],
    drop: {},
    async close() {
      await Promise.all([new Promise((r) => front.close(() => r(null))), new Promise((r) => back.close(() => r(null)))]);
    },
  };
  const header = (msg: Buffer): FrameHeader => decodeDatagram(msg).header;
  front.on("message", (msg, rinfo) => {
    client = rinfo;
    const h = header(msg);
    if (proxy.drop.toServer?.(h) === true) proxy.dropped.push(h);
    else back.send(msg, Number(target.port), target.hostname);
  });
  back.on("message", (msg) => {
    const h = header(msg);
    if (client === null) return;
    if (proxy.drop.toClient?.(h) === true) proxy.dropped.push(h);
    else front.send(msg, client.port, client.address);
  });
  return proxy;
}
