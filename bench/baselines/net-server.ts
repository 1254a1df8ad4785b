/**
 * The baseline of issue 3: the wharf protocol served by hand on plain node:net, as fast as it can honestly be
 * made. It does everything the protocol requires of a ping server (a streaming frame parser that survives any
 * chunking, JSON.parse of every header, id/type/size validation, E_UNKNOWN_TYPE for other types) and nothing
 * else: no handler table, no per-request context, no backpressure policy, no timeouts, no logging.
 *
 * It runs with the same process tuning as `wharf serve` (GC mode and malloc thresholds, src/cli/process-tuning.ts),
 * so that the ratio measures the servers' code, not which process happened to get glibc's heap trimmed.
 *
 * Usage: node net-server.js [--port N] [--host H]. First stdout line: `listening on tcp://HOST:PORT`.
 */
import { createServer, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { tuneForThroughput } from "../../src/cli/process-tuning.js";

const MAX_HEADER = 64 * 1024;
const MAX_BODY = 16 * 1024 * 1024;
/** Bodies up to this size are copied behind the reply header so that the reply is one buffer. */
const INLINE_BODY = 16 * 1024;

/** Parses frames from one connection and writes each reply as soon as its request is complete. */
function serveConnection(socket: Socket): void {
  // Bytes of an incomplete frame. Kept as a list and gathered only once enough bytes for the next step are
  // there (`need`), so a large frame spread over many chunks is copied once, not once per chunk.
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let need = 0;

  const fail = (): void => {
    socket.destroy();
  };

  socket.on("data", (chunk: Buffer) => {
    if (pendingLength > 0) {
      pending.push(chunk);
      pendingLength += chunk.length;
      if (pendingLength < need) return;
      chunk = Buffer.concat(pending, pendingLength);
      pending = [];
      pendingLength = 0;
    }
    // Replies to every frame of this chunk leave in one writev.
    socket.cork();
    let offset = 0;
    const end = chunk.length;
    for (;;) {
      const available = end - offset;
      if (available < 4) {
        need = 4;
        break;
      }
      const headerLength = chunk.readUInt32BE(offset);
      if (headerLength > MAX_HEADER) return fail();
      const headerEnd = offset + 4 + headerLength;
      if (headerEnd > end) {
        need = 4 + headerLength;
        break;
      }
      let header: { type?: unknown; id?: unknown; size?: unknown };
      try {
        header = JSON.parse(chunk.toString("utf8", offset + 4, headerEnd));
      } catch {
        return fail();
      }
      if (typeof header !== "object" || header === null) return fail();
      const { id, type } = header;
      const size = header.size ?? 0;
      if (!isWireInteger(id) || !isWireInteger(size) || size > MAX_BODY || typeof type !== "string") return fail();
      const frameEnd = headerEnd + size;
      if (frameEnd > end) {
        // Re-parsing the header when the rest arrives is cheaper than keeping state: it only happens to frames
        // that span chunks, whose bodies dwarf their headers.
        need = 4 + headerLength + size;
        break;
      }
      if (type === "ping") reply(socket, id, chunk, headerEnd, frameEnd);
      else unknownType(socket, id, type);
      offset = frameEnd;
    }
    if (offset < end) {
      const rest = chunk.subarray(offset);
      pending.push(rest);
      pendingLength = rest.length;
    }
    socket.uncork();
  });
  socket.on("error", () => socket.destroy());
}

function isWireInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Writes `{"id":..,"ok":true,"size":..}` and the echoed body, which is a view of the request's bytes. */
function reply(socket: Socket, id: number, chunk: Buffer, bodyStart: number, bodyEnd: number): void {
  const size = bodyEnd - bodyStart;
  const json = `{"id":${id},"ok":true,"size":${size}}`;
  // The header is ASCII, so its length in characters is its length in bytes.
  const inline = size <= INLINE_BODY;
  const out = Buffer.allocUnsafe(4 + json.length + (inline ? size : 0));
  out.writeUInt32BE(json.length, 0);
  out.write(json, 4, "latin1");
  if (inline) {
    chunk.copy(out, 4 + json.length, bodyStart, bodyEnd);
    socket.write(out);
  } else {
    socket.write(out);
    socket.write(chunk.subarray(bodyStart, bodyEnd));
  }
}

function unknownType(socket: Socket, id: number, type: string): void {
  const json = JSON.stringify({ id, ok: false, error: { code: "E_UNKNOWN_TYPE", message: `unknown request type ${JSON.stringify(type)}` } });
  const length = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(4 + length);
  out.writeUInt32BE(length, 0);
  out.write(json, 4, "utf8");
  socket.write(out);
}

tuneForThroughput("throughput");
const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } } });
const server = createServer({ noDelay: true }, serveConnection);
server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(`listening on tcp://${values.host}:${port}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  process.exit(0);
});
