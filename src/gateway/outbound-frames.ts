import { LENGTH_PREFIX_SIZE } from "../wire/index.js";
import { declaredBodySize } from "./frame-boundaries.js";

/** A piece of one frame to send, and whether it ends the frame (the WebSocket message). */
export interface FramePiece {
  data: Buffer;
  fin: boolean;
}

/**
 * A body bigger than this is sent as WebSocket fragments of one message as it arrives (a streamed reply), not
 * gathered first: a message needs no copy of a large body, and a streamed one is never held whole.
 */
const FRAGMENT_AT = 64 * 1024;

/**
 * Cuts the byte stream a connection writes (whole frames, or a frame head followed by its streamed body) into
 * frames, so that each frame leaves as exactly one WebSocket message. Only the server's own frames pass through
 * here, so a header is always valid; it may still arrive split across writes, and is gathered then.
 *
 * @example
 * ```ts
 * const frames = new OutboundFrames();
 * for (const piece of frames.take(chunk)) ws.send(piece.data, { binary: true, fin: piece.fin });
 * ```
 */
export class OutboundFrames {
  /** The frame's prefix and header gathered so far, while they arrive split across writes. */
  #partialHead: Buffer | null = null;
  /** Body bytes of the current frame still to come; -1 while its head is being read. */
  #bodyLeft = -1;
  /** Pieces of the current frame held back until it ends or grows past FRAGMENT_AT. */
  #held: Buffer[] = [];
  #heldBytes = 0;

  /** Feeds written bytes; returns what to send now, in order. */
  take(chunk: Buffer): FramePiece[] {
    const out: FramePiece[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#bodyLeft < 0) {
        offset = this.#readHead(chunk, offset);
        if (this.#bodyLeft < 0) break; // the head continues in the next write
        if (this.#bodyLeft === 0) {
          this.#bodyLeft = -1;
          this.#emit(out, true);
        }
        continue;
      }
      const take = Math.min(this.#bodyLeft, chunk.length - offset);
      this.#hold(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      offset += take;
      this.#bodyLeft -= take;
      if (this.#bodyLeft === 0) {
        this.#bodyLeft = -1;
        this.#emit(out, true);
      } else if (this.#heldBytes >= FRAGMENT_AT) {
        this.#emit(out, false);
      }
    }
    // What stays held (under FRAGMENT_AT) is copied: the writer may reuse `chunk` once this write's callback ran,
    // and for bytes held back that callback runs at once (a streamed file body's buffers are reused, issue 15).
    if (this.#held.length > 0 && this.#held.some((piece) => piece.buffer === chunk.buffer)) {
      this.#held = [Buffer.concat(this.#held, this.#heldBytes)];
    }
    return out;
  }

  /** Reads (part of) a frame's prefix and header from `chunk` at `offset`; returns the offset after what it took. */
  #readHead(chunk: Buffer, offset: number): number {
    if (this.#partialHead === null && chunk.length - offset >= LENGTH_PREFIX_SIZE) {
      const end = offset + LENGTH_PREFIX_SIZE + chunk.readUInt32BE(offset);
      if (end <= chunk.length) {
        this.#startBody(chunk.subarray(offset, end));
        return end;
      }
    }
    // Rare: the head is split across writes. Gather it byte-exactly.
    let head = this.#partialHead ?? Buffer.alloc(0);
    for (;;) {
      if (head.length >= LENGTH_PREFIX_SIZE && head.length === LENGTH_PREFIX_SIZE + head.readUInt32BE(0)) {
        this.#partialHead = null;
        this.#startBody(head);
        return offset;
      }
      if (offset >= chunk.length) {
        this.#partialHead = head;
        return offset;
      }
      const need = head.length < LENGTH_PREFIX_SIZE ? LENGTH_PREFIX_SIZE : LENGTH_PREFIX_SIZE + head.readUInt32BE(0);
      const take = Math.min(need - head.length, chunk.length - offset);
      head = Buffer.concat([head, chunk.subarray(offset, offset + take)]);
      offset += take;
    }
  }

  #startBody(head: Buffer): void {
    this.#hold(head);
    this.#bodyLeft = declaredBodySize(head.subarray(LENGTH_PREFIX_SIZE)) ?? 0;
  }

  #hold(piece: Buffer): void {
    this.#held.push(piece);
    this.#heldBytes += piece.length;
  }

  #emit(out: FramePiece[], fin: boolean): void {
    const data = this.#held.length === 1 ? this.#held[0] : Buffer.concat(this.#held, this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
    out.push({ data, fin });
  }
}
