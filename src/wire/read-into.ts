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
 * The socket must not have read yet: accept it with `pauseOnConnect: true`. Measured on a Pipe round trip
 * between two processes, the broker's side: see docs/architecture.md.
 *
 * @module
 */
import { Socket } from "node:net";

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
 * Makes an accepted, not yet reading socket (`pauseOnConnect: true`) read into `buffer` and call `onRead` per
 * read, as `net.connect({ onread })` does, and starts reading. Returns false, leaving the socket paused and
 * untouched, when this Node does not have what that needs; the caller then reads with 'data' (and `resume()`).
 * The socket still emits 'end', 'error' and 'close' as usual.
 *
 * @example
 * ```ts
 * import { createServer } from "node:net";
 * import { readInto } from "./read-into.js";
 * const buffer = Buffer.allocUnsafe(64 * 1024);
 * createServer({ pauseOnConnect: true }, (socket) => {
 *   const onRead = (length: number, bytes: Buffer): void => void socket.write(Buffer.from(bytes.subarray(0, length)));
 *   if (!readInto(socket, buffer, onRead)) socket.on("data", (chunk: Buffer) => onRead(chunk.length, chunk)).resume();
 * });
 * ```
 */
export function readInto(socket: Socket, buffer: Buffer, onRead: ReadCallback): boolean {
  const found = userBufferSlots();
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (found === null || handle == null || typeof handle.useUserBuffer !== "function" || handle.reading === true || socket.readableLength > 0) return false;
  const record = socket as unknown as Record<symbol, unknown>;
  if (record[found.buffer] !== null || record[found.callback] !== null) return false;
  record[found.buffer] = buffer;
  record[found.callback] = onRead;
  handle.useUserBuffer(buffer);
  socket.resume();
  return true;
}
