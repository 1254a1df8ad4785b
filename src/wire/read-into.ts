/**
 * Reads of an accepted socket into one reused buffer, past the Readable stream.
 *
 * Node offers this for sockets it connects itself (`net.connect({ onread })`): each read lands in the caller's
 * buffer and goes to a callback. There is no 'data' event, no queue in the Readable, and no read-more tick per
 * read. A `net.Server` has no such option for the sockets it accepts. Node's own accepted sockets take the same
 * path once three things are set: the socket's buffer and callback slots (the ones its constructor fills from
 * `onread`) and the handle's `useUserBuffer`. This module sets them when this Node has them, and says so, so
 * that the caller can fall back to 'data' when it does not.
 *
 * The socket must not have delivered a byte yet: call this from the server's 'connection' listener (no read
 * callback of the new socket can run before it returns), or accept with `pauseOnConnect: true`. What it buys is
 * measured in docs/architecture.md.
 *
 * @module
 */
import { Socket } from "node:net";
import type { Duplex } from "node:stream";

/** The callback of a read: `length` bytes at the start of `buffer`. Return false to stop reading (backpressure). */
export type ReadCallback = (length: number, buffer: Buffer) => boolean | void;

interface UserBufferSlots {
  buffer: symbol;
  callback: symbol;
}

let slots: UserBufferSlots | null | undefined;

/** The Socket's own slots for `onread`, found once by their names on a socket made with `onread`. */
function userBufferSlots(): UserBufferSlots | null {
  if (slots !== undefined) return slots;
  // `onread` is read by the constructor as by connect(), though the types only list it for connect().
  const probe = new Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } } as ConstructorParameters<typeof Socket>[0]);
  const own = Object.getOwnPropertySymbols(probe);
  const named = (name: string): symbol | undefined => own.find((symbol) => symbol.description === name);
  const buffer = named("kBuffer");
  const callback = named("kBufferCb");
  const record = probe as unknown as Record<symbol, unknown>;
  const sound = buffer !== undefined && callback !== undefined && Buffer.isBuffer(record[buffer]) && typeof record[callback] === "function";
  slots = sound ? { buffer, callback } : null;
  probe.destroy();
  return slots;
}

interface UserBufferHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
  reading?: boolean;
}

/**
 * Makes an accepted socket that has not delivered a byte yet read into `buffer` and call `onRead` per read, as
 * `net.connect({ onread })` does, and sets it flowing. Returns false, leaving the socket untouched, when this
 * Node does not have what that needs or the socket has delivered bytes already; the caller then reads with
 * 'data' (and `resume()` if it accepted with `pauseOnConnect`). `pause()` and `resume()` stop and restart the
 * reads; the socket still emits 'end', 'error' and 'close' as usual.
 *
 * @example
 * ```ts
 * import { createServer } from "node:net";
 * import { readInto } from "./read-into.js";
 * const buffer = Buffer.allocUnsafe(64 * 1024);
 * createServer((socket) => {
 *   const echo = (bytes: Buffer): void => void socket.write(bytes);
 *   if (!readInto(socket, buffer, (length, bytes) => echo(Buffer.from(bytes.subarray(0, length))))) socket.on("data", echo);
 * });
 * ```
 */
export function readInto(socket: Socket, buffer: Buffer, onRead: ReadCallback): boolean {
  const found = userBufferSlots();
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (found === null || handle == null || typeof handle.useUserBuffer !== "function") return false;
  // Reading may have started (an accepted socket starts at once), but no read has happened: the buffer a read
  // lands in is asked for at the read, so it is not too late to supply it.
  if (socket.bytesRead !== 0 || socket.readableLength !== 0 || socket.destroyed) return false;
  const record = socket as unknown as Record<symbol, unknown>;
  if (record[found.buffer] !== null || record[found.callback] !== null) return false;
  record[found.buffer] = buffer;
  record[found.callback] = onRead;
  handle.useUserBuffer(buffer);
  socket.resume();
  return true;
}

/** Where every socket read by {@link readTransient} reads by default: one read at a time, handled before the next. */
const sharedBuffer = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Calls `onChunk` with each read of `stream`. A plain socket (TCP or Unix, not TLS) that has read nothing yet
 * reads into `buffer` ({@link readInto}; by default the process's one 64 KiB buffer) and each chunk is
 * `transient`: valid only during the call. Any other stream reads with 'data', and its chunks are the callee's
 * to keep. Sharing one buffer among sockets is safe because every read is handled before the next one happens.
 *
 * @example
 * ```ts
 * import { createServer } from "node:net";
 * import { readTransient } from "./read-into.js";
 * createServer((socket) => readTransient(socket, (chunk, transient) => void socket.write(transient ? Buffer.from(chunk) : chunk)));
 * ```
 */
export function readTransient(stream: Duplex, onChunk: (chunk: Buffer, transient: boolean) => void, buffer: Buffer = sharedBuffer): void {
  const direct =
    stream instanceof Socket &&
    (stream as { encrypted?: boolean }).encrypted !== true &&
    readInto(stream, buffer, (length, bytes) => onChunk(bytes.subarray(0, length), true));
  if (!direct) stream.on("data", (chunk: Buffer) => onChunk(chunk, false));
}

/**
 * Calls `onChunk` with each read of `stream`, in a Buffer of its own that the callee may keep: the reads of
 * {@link readTransient}, a transient one copied out. A small read's copy comes from Node's Buffer pool; a large
 * one costs a memcpy, about what Node's own path spends on a fresh buffer per read.
 *
 * @example
 * ```ts
 * import { createServer } from "node:net";
 * import { readCopies } from "./read-into.js";
 * createServer((socket) => readCopies(socket, (chunk) => void socket.write(chunk)));
 * ```
 */
export function readCopies(stream: Duplex, onChunk: (chunk: Buffer) => void): void {
  readTransient(stream, (chunk, transient) => onChunk(transient ? Buffer.from(chunk) : chunk));
}
