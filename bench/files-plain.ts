/**
 * The ceiling of the files benchmark (issue 5): a plain node:net stream into a file, with the same read and write
 * sizes wharf uses, and nothing else (no framing, no hashing, no fsync). Both sides run with the process tuning
 * of `wharf serve`, `wharf put` and `wharf get` (src/cli/process-tuning.ts). Run as a child process:
 *
 *   node files-plain.js server DEST   prints "listening PORT", then "done BYTES" after each upload is on disk
 *   node files-plain.js client PORT SOURCE
 */
import { createReadStream, createWriteStream } from "node:fs";
import { connect, createServer } from "node:net";
import { pipeline } from "node:stream/promises";
import { tuneForThroughput } from "../src/cli/process-tuning.js";

const MiB = 1024 * 1024;
const [mode, ...args] = process.argv.slice(2);
tuneForThroughput("throughput");

if (mode === "server") {
  const [dest] = args;
  const server = createServer((socket) => {
    pipeline(socket, createWriteStream(dest, { highWaterMark: 4 * MiB })).then(
      () => process.stdout.write(`done ${socket.bytesRead}\n`),
      (err: unknown) => process.stdout.write(`failed ${(err as Error).message}\n`),
    );
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`);
  });
} else if (mode === "client") {
  const [port, source] = args;
  const socket = connect(Number(port), "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  await pipeline(createReadStream(source, { highWaterMark: MiB }), socket);
} else {
  process.stderr.write("usage: files-plain.js server DEST | client PORT SOURCE\n");
  process.exitCode = 2;
}
