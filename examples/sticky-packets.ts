/**
 * The sticky-packet problem: TCP is a byte stream, not a message stream. Three messages written back to back
 * arrive glued together in one read, and one message written in two pieces arrives in two reads. The fix is
 * framing: wharf's frame puts a 4-byte big-endian header length before each JSON header (whose `size` says how
 * long the body is), and the FrameDecoder gives back exactly the messages that were sent, however the bytes
 * were cut.
 * Run: `npm run build && node dist/examples/sticky-packets.js`.
 */
// In your project: import { FrameDecoder, encodeFrame } from "wharf/wire";
import { connect, createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeFrame, FrameDecoder } from "../src/wire/index.js";

const MESSAGES = ["hello", "sticky", "world"];

/** A server that logs each read; `framed` decodes frames from the reads. */
async function run(framed: boolean, send: (socket: Socket) => Promise<void>): Promise<{ reads: number; messages: string[] }> {
  const reads: Buffer[] = [];
  const messages: string[] = [];
  const decoder = new FrameDecoder({ onFrame: (_header, body) => messages.push(body.toString()) });
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  const server = createServer((socket) => {
    socket.on("data", (chunk) => {
      reads.push(chunk);
      if (framed) decoder.push(chunk);
      else messages.push(chunk.toString());
    });
    socket.on("end", () => done());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = connect((server.address() as { port: number }).port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  await send(socket);
  socket.end();
  await ended;
  server.close();
  return { reads: reads.length, messages };
}

/** Writes the messages back to back: the kernel is free to glue them (cork makes it certain here). */
const backToBack = (encode: (m: string, i: number) => Buffer) => async (socket: Socket) => {
  socket.cork();
  MESSAGES.forEach((m, i) => socket.write(encode(m, i)));
  socket.uncork();
};

/** Writes one message in two pieces, a moment apart: the receiver sees half a message first. */
const split = (bytes: Buffer) => async (socket: Socket) => {
  socket.write(bytes.subarray(0, 5));
  await sleep(30);
  socket.write(bytes.subarray(5));
};

const raw = await run(false, backToBack((m) => Buffer.from(m)));
console.log(`raw TCP, ${MESSAGES.length} messages sent: ${raw.reads} read(s), received ${JSON.stringify(raw.messages)}`);
const rawSplit = await run(false, split(Buffer.from("one whole message")));
console.log(`raw TCP, 1 message sent in two pieces: received ${JSON.stringify(rawSplit.messages)}`);

const frames = await run(true, backToBack((m, i) => encodeFrame({ type: "msg", id: i }, Buffer.from(m))));
console.log(`wharf frames, ${MESSAGES.length} messages sent: ${frames.reads} read(s), decoded ${JSON.stringify(frames.messages)}`);
const framesSplit = await run(true, split(encodeFrame({ type: "msg", id: 0 }, Buffer.from("one whole message"))));
console.log(`wharf frames, 1 message sent in two pieces: decoded ${JSON.stringify(framesSplit.messages)}`);
if (JSON.stringify(frames.messages) !== JSON.stringify(MESSAGES)) throw new Error("framing lost a boundary");
