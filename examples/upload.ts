/**
 * The textbook upload: the client sends a header line (`{"name", "size"}` as JSON, then a newline) and the file's
 * bytes; the server reads the line, then exactly `size` bytes into the file, and answers "ok". It works, and
 * shows what `wharf put` adds on top: the same header-then-body idea as a wharf frame, plus login, a sha256
 * checked before the file lands, resume of an interrupted upload, quotas and safe paths (docs/files.md).
 * Run: `npm run build && node dist/examples/upload.js`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { once } from "node:events";

const dir = mkdtempSync(join(tmpdir(), "wharf-upload-"));
const local = join(dir, "photo.bin");
writeFileSync(local, randomBytes(3 * 1024 * 1024 + 17));
const received = join(dir, "received");

// Server: read up to the newline (the header), then `size` bytes into the file. Bytes after the header that
// came in the same chunk belong to the file: the sticky-packet lesson again.
const server = createServer((socket) => {
  let head = Buffer.alloc(0);
  let out: ReturnType<typeof createWriteStream> | undefined;
  let left = 0;
  socket.on("data", (chunk: Buffer) => {
    if (out === undefined) {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl === -1) return;
      const { name, size } = JSON.parse(head.subarray(0, nl).toString()) as { name: string; size: number };
      out = createWriteStream(`${received}-${basename(name)}`); // basename: never trust a client's path
      left = size;
      chunk = head.subarray(nl + 1);
    }
    const part = chunk.subarray(0, left);
    left -= part.length;
    out.write(part);
    if (left === 0) out.end(() => socket.end("ok"));
  });
});
server.listen(0, "127.0.0.1");
await once(server, "listening");

// Client: header line, then the file, then wait for "ok".
const t = performance.now();
const socket = connect((server.address() as { port: number }).port, "127.0.0.1");
await once(socket, "connect");
const size = statSync(local).size;
socket.write(`${JSON.stringify({ name: "photo.bin", size })}\n`);
createReadStream(local).pipe(socket, { end: false });
const [answer] = (await once(socket, "data")) as [Buffer];
const ms = performance.now() - t;
server.close();

const sent = createHash("sha256").update(readFileSync(local)).digest("hex");
const got = createHash("sha256").update(readFileSync(`${received}-photo.bin`)).digest("hex");
console.log(`textbook upload: ${size} bytes in ${ms.toFixed(0)} ms, server said ${JSON.stringify(answer.toString())}`);
console.log(`sha256 checked by hand afterwards: ${sent === got ? "same" : "DIFFERENT"} (the protocol itself never checks)`);
console.log("with wharf: wharf put photo.bin   (login, sha256 verified before the file lands, resume, quota; docs/files.md)");
rmSync(dir, { recursive: true, force: true });
if (sent !== got) throw new Error("the upload corrupted the file");
