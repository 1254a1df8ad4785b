import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { FrameDecoder, parseEndpoint, type FrameHeader } from "../../src/wire/index.js";

/** A raw TCP socket that records the frames it receives: for sending bytes no well-behaved client would. */
export interface RawPeer {
  socket: Socket;
  frames: { header: FrameHeader; body: Buffer }[];
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  /** Resolves with the next frame (or the first one not yet taken). */
  nextFrame(timeoutMs?: number): Promise<{ header: FrameHeader; body: Buffer }>;
}

export async function rawConnect(url: string): Promise<RawPeer> {
  const endpoint = parseEndpoint(url);
  if (endpoint.transport === "unix") throw new TypeError("tcp only");
  const socket = connect({ host: endpoint.host, port: endpoint.port });
  await once(socket, "connect");
  const frames: RawPeer["frames"] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  const decoder = new FrameDecoder({
    onFrame: (header, body) => {
      frames.push({ header, body: Buffer.from(body) });
      for (const wake of waiters.splice(0)) wake();
    },
  });
  socket.on("data", (chunk: Buffer) => decoder.push(chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  return {
    socket,
    frames,
    closed,
    async nextFrame(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (taken >= frames.length) {
        if (Date.now() > deadline) throw new Error("no frame arrived in time");
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), closed, new Promise((r) => setTimeout(r, 50))]);
        if (socket.destroyed && taken >= frames.length) throw new Error("the connection closed without a frame");
      }
      return frames[taken++];
    },
  };
}

/** A frame with a hand-made header text, for headers an encoder would never produce. */
export function rawFrame(headerText: string, body: Buffer = Buffer.alloc(0), declaredLength?: number): Buffer {
  const header = Buffer.from(headerText);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(declaredLength ?? header.length);
  return Buffer.concat([prefix, header, body]);
}
