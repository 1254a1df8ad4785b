/**
 * The three I/O models of the course, with node:net: three clients each send one line at once, and the server
 * needs 60 ms of I/O (a slow disk, another server) before it can answer each.
 *  - blocking: the server serves one connection from start to end before it takes the next (accept, recv, the
 *    slow I/O, send, close in a loop), so the clients wait for each other;
 *  - non-blocking: the server tries to read every connection in turn and gets "nothing yet" (null) until data is
 *    there, polling in a loop: no client waits for another, but the polls burn CPU;
 *  - multiplexed: the event loop (epoll underneath) tells the server which socket is ready: no waiting, no polling.
 *    This is what every Node server, and wharf's, does.
 * Run: `npm run build && node dist/examples/io-models.js`.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";

const CLIENTS = 3;
const IO_MS = 60;

/** The server's slow I/O for one request. */
const slowIo = (): Promise<void> => sleep(IO_MS);

async function client(port: number): Promise<void> {
  const socket = connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write("hi\n");
  await new Promise((resolve) => socket.once("data", resolve));
  socket.destroy();
}

async function measure(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const t = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, () => client(port)));
  const ms = performance.now() - t;
  await new Promise((resolve) => server.close(resolve));
  return ms;
}

// Blocking: a queue of accepted connections served strictly one at a time.
const waiting: Socket[] = [];
let busy = false;
async function serveOneByOne(): Promise<void> {
  if (busy) return;
  busy = true;
  for (let socket = waiting.shift(); socket !== undefined; socket = waiting.shift()) {
    socket.resume();
    const line = await new Promise<Buffer>((resolve) => socket.once("data", resolve)); // "recv" blocks here
    await slowIo(); // and so does the I/O: the next client waits
    socket.end(`echo ${line}`);
  }
  busy = false;
}
const blocking = createServer({ pauseOnConnect: true }, (socket) => {
  waiting.push(socket);
  void serveOneByOne();
});

// Non-blocking: read() returns null while nothing has arrived; the server keeps polling every socket.
let emptyPolls = 0;
const open = new Set<Socket>();
let polling = false;
async function pollAll(): Promise<void> {
  if (polling) return;
  polling = true;
  while (open.size > 0) {
    for (const socket of open) {
      const data = socket.read() as Buffer | null;
      if (data === null) emptyPolls++;
      else {
        open.delete(socket);
        void slowIo().then(() => socket.end(`echo ${data}`)); // started, not waited for
      }
    }
    await yieldToLoop(); // let the kernel's data in; a real non-blocking loop would spin here
  }
  polling = false;
}
const nonBlocking = createServer((socket) => {
  socket.pause();
  open.add(socket);
  void pollAll();
});

// Multiplexed: the loop calls us when a socket is readable.
const multiplexed = createServer((socket) => socket.once("data", (line) => void slowIo().then(() => socket.end(`echo ${line}`))));

const b = await measure(blocking);
const n = await measure(nonBlocking);
const m = await measure(multiplexed);
console.log(`blocking:     ${CLIENTS} clients served one after another (${b.toFixed(0)} ms: about ${CLIENTS} x ${IO_MS} ms)`);
console.log(`non-blocking: ${CLIENTS} clients served together (${n.toFixed(0)} ms), after ${emptyPolls} reads that found nothing (each one a wasted system call)`);
console.log(`multiplexed:  ${CLIENTS} clients served together (${m.toFixed(0)} ms), no read wasted: the loop said who was ready`);
if (!(b > 2 * IO_MS && n < b && m < b)) throw new Error("the models did not behave as the lesson says");
