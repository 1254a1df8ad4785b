import { ErrorCode, ProtocolError } from "./errors.js";
import { headerSize, isWireInteger, type FrameHeader } from "./header.js";
import { LENGTH_PREFIX_SIZE, resolveLimits, type FrameLimits, type ResolvedFrameLimits } from "./limits.js";
import { parseHeader } from "./parse-header.js";

/** How the decoder delivers a frame's body: whole, in one Buffer, or as a stream of chunks. */
export type BodyMode = "buffer" | "stream";

/** Where the decoder delivers frames. */
export interface FrameHandlers {
  /**
   * Called once a header is parsed, before any of its body is read. Returns how the body is delivered
   * (default "buffer"). May throw a ProtocolError to refuse the frame (the decoder then fails with it).
   */
  onHeader?(header: FrameHeader, size: number): BodyMode;
  /**
   * A whole frame with a buffered body. The body may share memory with the pushed chunks, never with a chunk
   * pushed as transient.
   */
  onFrame(header: FrameHeader, body: Buffer): void;
  /** A streamed frame begins; `size` bytes follow through onBodyChunk, then onBodyEnd. */
  onBodyStart?(header: FrameHeader, size: number): void;
  /**
   * A piece of a streamed body. Chunks may share memory with the pushed chunks; a piece of a chunk pushed as
   * transient is valid only during this call (copy what is kept).
   */
  onBodyChunk?(chunk: Buffer): void;
  /** The streamed body is complete. */
  onBodyEnd?(): void;
}

export interface FrameDecoderOptions extends FrameLimits {}

const enum State {
  Length,
  Header,
  Body,
  Stream,
}

const EMPTY = Buffer.alloc(0);

/**
 * The incremental frame decoder: an explicit state machine that takes bytes in chunks of any size (one byte,
 * or a thousand frames at once) and delivers whole frames or streamed bodies. Limits are checked when a length
 * is read, before any of it is buffered. No byte is copied more than once: frames inside one chunk are
 * delivered as views of it, and only a frame spread over several chunks is gathered into a new buffer.
 *
 * After a protocol error the decoder is failed: `push()` throws that error again.
 *
 * @example
 * ```ts
 * import { FrameDecoder, encodeFrame } from "wharf/wire";
 * const decoder = new FrameDecoder({ onFrame: (header, body) => console.log(header, body.length) });
 * const bytes = encodeFrame({ type: "ping", id: 1 }, Buffer.from("hi"));
 * for (const byte of bytes) decoder.push(Buffer.of(byte)); // logs { type: 'ping', id: 1, size: 2 } 2
 * ```
 */
export class FrameDecoder {
  readonly limits: ResolvedFrameLimits;
  #handlers: FrameHandlers;
  #state: State = State.Length;
  /**
   * Unconsumed bytes: the first chunk (`#offset` of it consumed), then any later ones. Kept apart so that the
   * common case, one chunk at a time consumed whole, never touches an array.
   */
  #first: Buffer = EMPTY;
  #later: Buffer[] = [];
  #offset = 0;
  #buffered = 0;
  #headerLength = 0;
  #header: FrameHeader | null = null;
  #remaining = 0;
  #failure: ProtocolError | null = null;
  /** The chunk being pushed when it is transient: valid only until push() returns. */
  #transient: Buffer | null = null;

  constructor(handlers: FrameHandlers, options: FrameDecoderOptions = {}) {
    this.#handlers = handlers;
    this.limits = resolveLimits(options);
  }

  /** Bytes received but not yet delivered. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True between frames: nothing of a next frame has been received. */
  get idle(): boolean {
    return this.#state === State.Length && this.#buffered === 0;
  }

  /** True while part of a frame's length prefix or header has arrived but not all of it. */
  get inHeader(): boolean {
    return this.#state === State.Header || (this.#state === State.Length && this.#buffered > 0);
  }

  /** True while a streamed body is being delivered. */
  get inStream(): boolean {
    return this.#state === State.Stream;
  }

  /** The protocol error that failed this decoder, if any. */
  get failure(): ProtocolError | null {
    return this.#failure;
  }

  /**
   * Feeds bytes; delivers every frame they complete. Throws the ProtocolError that fails the decoder.
   *
   * `transient`: the chunk is valid only during this call (a socket's reads landing in one reused buffer,
   * wire/read-into.ts). The decoder then copies what it keeps past the call and every body it gives to onFrame;
   * onBodyChunk gets views of the chunk, which its handler copies if it keeps them.
   */
  push(chunk: Buffer, transient = false): void {
    if (this.#failure !== null) throw this.#failure;
    if (chunk.length === 0) return;
    if (this.#buffered === 0) {
      this.#first = chunk;
      this.#offset = 0;
    } else {
      this.#later.push(chunk);
    }
    this.#buffered += chunk.length;
    this.#transient = transient ? chunk : null;
    try {
      this.#run();
      if (transient && this.#buffered > 0) this.#keepTransient(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#failure = err;
        this.#first = EMPTY;
        this.#later = [];
        this.#offset = 0;
        this.#buffered = 0;
      }
      throw err;
    } finally {
      this.#transient = null;
    }
  }

  /** Copies what is left of a transient chunk, the part of a frame it began, before the chunk is reused. */
  #keepTransient(chunk: Buffer): void {
    if (this.#first === chunk) {
      this.#first = Buffer.from(chunk.subarray(this.#offset));
      this.#offset = 0;
      return;
    }
    const last = this.#later.length - 1;
    if (last >= 0 && this.#later[last] === chunk) this.#later[last] = Buffer.from(chunk);
  }

  /**
   * Declares the end of input. Throws a ProtocolError with `E_TRUNCATED` when it cuts a frame short.
   */
  end(): void {
    if (this.#failure !== null) return;
    if (!this.idle) {
      const id = this.#header !== null && isWireInteger(this.#header.id) ? this.#header.id : null;
      this.#failure = new ProtocolError(ErrorCode.TRUNCATED, "the stream ended in the middle of a frame", id);
      throw this.#failure;
    }
  }

  #run(): void {
    for (;;) {
      switch (this.#state) {
        case State.Length: {
          if (this.#buffered < LENGTH_PREFIX_SIZE) return;
          const length = this.#readLength();
          if (length > this.limits.maxHeaderSize) {
            throw new ProtocolError(
              ErrorCode.FRAME_TOO_LARGE,
              `header length ${length} exceeds the limit of ${this.limits.maxHeaderSize} bytes`,
            );
          }
          this.#headerLength = length;
          this.#state = State.Header;
          break;
        }
        case State.Header: {
          if (this.#buffered < this.#headerLength) return;
          this.#startBody(this.#readHeader());
          break;
        }
        case State.Body: {
          if (this.#buffered < this.#remaining) return;
          const header = this.#header as FrameHeader;
          const taken = this.#take(this.#remaining);
          // A view of a transient chunk would change under its reader: the frame gets its own copy.
          const body = this.#transient !== null && taken.buffer === this.#transient.buffer ? Buffer.from(taken) : taken;
          this.#header = null;
          this.#state = State.Length;
          this.#handlers.onFrame(header, body);
          break;
        }
        case State.Stream: {
          if (this.#buffered === 0) return;
          const chunk = this.#take(Math.min(this.#remaining, this.#first.length - this.#offset));
          this.#remaining -= chunk.length;
          this.#handlers.onBodyChunk?.(chunk);
          if (this.#remaining === 0) this.#finishStream();
          break;
        }
      }
    }
  }

  #startBody(header: FrameHeader): void {
    const size = headerSize(header);
    const mode = this.#handlers.onHeader?.(header, size) ?? "buffer";
    const limit = mode === "stream" ? this.limits.maxStreamSize : this.limits.maxBodySize;
    if (size > limit) {
      const id = isWireInteger(header.id) ? header.id : null;
      throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, `body size ${size} exceeds the limit of ${limit} bytes`, id);
    }
    this.#header = header;
    this.#remaining = size;
    if (mode === "buffer") {
      this.#state = State.Body;
      return;
    }
    this.#state = State.Stream;
    this.#handlers.onBodyStart?.(header, size);
    if (size === 0) this.#finishStream();
  }

  #finishStream(): void {
    this.#header = null;
    this.#state = State.Length;
    this.#handlers.onBodyEnd?.();
  }

  #readLength(): number {
    const first = this.#first;
    let length: number;
    if (first.length - this.#offset >= LENGTH_PREFIX_SIZE) {
      length = first.readUInt32BE(this.#offset);
      this.#consume(LENGTH_PREFIX_SIZE);
    } else {
      length = this.#take(LENGTH_PREFIX_SIZE).readUInt32BE(0);
    }
    return length;
  }

  #readHeader(): FrameHeader {
    const length = this.#headerLength;
    if (length === 0) return parseHeader(EMPTY, 0, 0);
    const first = this.#first;
    if (first.length - this.#offset >= length) {
      const header = parseHeader(first, this.#offset, this.#offset + length);
      this.#consume(length);
      return header;
    }
    const bytes = this.#take(length);
    return parseHeader(bytes, 0, length);
  }

  /** Removes `n` bytes from the front; a view when they lie in one chunk, else one gathered copy. */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.#first;
    const available = first.length - this.#offset;
    if (available >= n) {
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#consume(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#first;
      const count = Math.min(n - filled, chunk.length - this.#offset);
      chunk.copy(out, filled, this.#offset, this.#offset + count);
      filled += count;
      this.#consume(count);
    }
    return out;
  }

  /** Advances past `n` bytes that lie in the first chunk. */
  #consume(n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    if (this.#offset === this.#first.length) {
      this.#first = this.#later.length > 0 ? (this.#later.shift() as Buffer) : EMPTY;
      this.#offset = 0;
    }
  }
}
