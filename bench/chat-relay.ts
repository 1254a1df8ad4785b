/**
 * The baseline of issue 7's chat benchmark: the chat frame protocol relayed by hand on plain node:net. It does
 * what a relay must (a frame parser that survives any chunking, JSON.parse of every request header, `auth`,
 * `chat.join`, `chat.send` with a per-room msgId and server timestamp, the event encoded once and written to every
 * member) and nothing else: no login check, no dedup, no history, no rate or size limits, no slow-consumer bound.
 *
 * Both sides of the benchmark run with `wharf serve`'s process tuning (src/cli/process-tuning.ts).
 *
 * Usage: node chat-relay.js [--port N] [--host H]. First stdout line: `listening on tcp://HOST:PORT`.
 */
import { createServer, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { tuneForThroughput } from "../src/cli/process-tuning.js";

interface Room {
  members: Set<Socket>;
  lastMsgId: number;
}

const rooms = new Map<string, Room>();
const MAX_HEADER = 64 * 1024;

function frame(header: Record<string, unknown>, body?: Buffer): Buffer {
  const json = JSON.stringify(body === undefined ? header : { ...header, size: body.length });
  const length = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(4 + length + (body?.length ?? 0));
  out.writeUInt32BE(length, 0);
  out.write(json, 4, "utf8");
  body?.copy(out, 4 + length);
  return out;
}

function serve(socket: Socket): void {
  let buffered: Buffer = Buffer.alloc(0);
  const joined = new Set<Room>();
  let user = "anonymous";
  socket.setNoDelay(true);
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    for (;;) {
      if (buffered.length - offset < 4) break;
      const headerLength = buffered.readUInt32BE(offset);
      if (headerLength > MAX_HEADER) return socket.destroy();
      const headerEnd = offset + 4 + headerLength;
      if (headerEnd > buffered.length) break;
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(buffered.toString("utf8", offset + 4, headerEnd)) as Record<string, unknown>;
      } catch {
        return socket.destroy();
      }
      const size = typeof header.size === "number" ? header.size : 0;
      if (headerEnd + size > buffered.length) break;
      const body = buffered.subarray(headerEnd, headerEnd + size);
      offset = headerEnd + size;
      const id = header.id;
      if (header.type === "auth") {
        user = String(header.user);
        socket.write(frame({ id, ok: true, user }));
      } else if (header.type === "chat.join") {
        const name = String(header.room);
        let room = rooms.get(name);
        if (room === undefined) {
          room = { members: new Set(), lastMsgId: 0 };
          rooms.set(name, room);
        }
        room.members.add(socket);
        joined.add(room);
        socket.write(frame({ id, ok: true, room: name, lastMsgId: room.lastMsgId }));
      } else if (header.type === "chat.send") {
        const room = rooms.get(String(header.room));
        if (room === undefined) {
          socket.write(frame({ id, ok: false, error: { code: "E_NOT_IN_ROOM", message: "no such room" } }));
          continue;
        }
        const msgId = ++room.lastMsgId;
        const ts = Date.now();
        const event = frame({ room: header.room, from: user, msgId, ts, event: "chat.message" }, Buffer.from(body));
        for (const member of room.members) member.write(event);
        socket.write(frame({ id, ok: true, msgId, ts }));
      } else {
        socket.write(frame({ id, ok: false, error: { code: "E_UNKNOWN_TYPE", message: "unknown type" } }));
      }
    }
    buffered = offset === buffered.length ? Buffer.alloc(0) : buffered.subarray(offset);
  });
  const leave = (): void => {
    for (const room of joined) room.members.delete(socket);
  };
  socket.on("close", leave);
  socket.on("error", () => socket.destroy());
}

const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } } });
tuneForThroughput("throughput");
const server = createServer({ noDelay: true }, serve);
server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(`listening on tcp://${values.host}:${port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
