/**
 * The recipe of a delta transfer (issue 15): how the receiver builds the new version of a file from the old one
 * it has (its "base") and the bytes the sender has to send.
 *
 * Two binary messages. A **chunk list** describes a base: per chunk `u32 length` + 32-byte hash, in file order.
 * A **recipe** is a sequence of operations, each a byte tag then fields, big-endian:
 * `0x01 COPY u48 baseOffset u32 length` (bytes the receiver has) and `0x02 DATA u32 length` + that many bytes.
 * Operations cover the new file's bytes in order, from the transfer's offset to its end (or to a slice's end).
 */
import type { Chunk } from "./chunker.js";

export const OP_COPY = 0x01;
export const OP_DATA = 0x02;
const COPY_SIZE = 1 + 6 + 4;
/** The longest step an operation can say (its length is a u32). */
const MAX_STEP = 0xffffffff;
const DATA_HEAD = 1 + 4;
/** Bytes per chunk in a chunk list: `u32` length + 32-byte hash. */
export const LIST_ENTRY = 4 + 32;

/** Encodes a base's chunk list. */
export function encodeChunkList(chunks: readonly Chunk[]): Buffer {
  const out = Buffer.allocUnsafe(chunks.length * LIST_ENTRY);
  chunks.forEach((chunk, i) => {
    out.writeUInt32BE(chunk.length, i * LIST_ENTRY);
    chunk.hash.copy(out, i * LIST_ENTRY + 4);
  });
  return out;
}

/** Where each chunk of a base is, by hash (the first one wins when the same content repeats). */
export type ChunkIndex = Map<string, { offset: number; length: number }>;

/** Decodes a chunk list into an index; throws a RangeError on a malformed list. */
export function decodeChunkList(list: Buffer): ChunkIndex {
  if (list.length % LIST_ENTRY !== 0) throw new RangeError(`a chunk list is a multiple of ${LIST_ENTRY} bytes, not ${list.length}`);
  const index: ChunkIndex = new Map();
  let offset = 0;
  for (let at = 0; at < list.length; at += LIST_ENTRY) {
    const length = list.readUInt32BE(at);
    const key = list.toString("latin1", at + 4, at + LIST_ENTRY);
    if (!index.has(key)) index.set(key, { offset, length });
    offset += length;
  }
  return index;
}

/** The chunks a chunk list describes, with their offsets; throws a RangeError on a malformed list. */
export function chunksOfList(list: Buffer): Chunk[] {
  if (list.length % LIST_ENTRY !== 0) throw new RangeError(`a chunk list is a multiple of ${LIST_ENTRY} bytes, not ${list.length}`);
  const chunks: Chunk[] = [];
  let offset = 0;
  for (let at = 0; at < list.length; at += LIST_ENTRY) {
    const length = list.readUInt32BE(at);
    chunks.push({ offset, length, hash: list.subarray(at + 4, at + LIST_ENTRY) });
    offset += length;
  }
  return chunks;
}

/** One step of a recipe, before encoding: copy from the base, or send a range of the new file. */
export type Step = { copy: true; baseOffset: number; length: number } | { copy: false; offset: number; length: number };

/**
 * The recipe for the new file's chunks against a base's index: a chunk the base has becomes a COPY (adjacent
 * copies merge), any other a DATA of its range (adjacent ranges merge).
 */
export function planSteps(chunks: readonly Chunk[], base: ChunkIndex): Step[] {
  const steps: Step[] = [];
  for (const chunk of chunks) addStep(steps, chunk, base.get(chunk.hash.toString("latin1")));
  return steps;
}

/**
 * Appends the step for one chunk of the new file to `steps`: a COPY of `found` (the base's chunk of the same
 * hash, when its length matches too) or a DATA of the chunk's range.
 */
export function addStep(steps: Step[], chunk: Chunk, found: { offset: number; length: number } | undefined): void {
  if (found !== undefined && found.length === chunk.length) pushCopy(steps, found.offset, chunk.length);
  else pushData(steps, chunk.offset, chunk.length);
}

/** Appends a COPY of `length` bytes of the base from `baseOffset`, merged into the last step where they join. */
export function pushCopy(steps: Step[], baseOffset: number, length: number): void {
  const last = steps.at(-1);
  if (last?.copy === true && last.baseOffset + last.length === baseOffset && last.length + length <= MAX_STEP) last.length += length;
  else steps.push({ copy: true, baseOffset, length });
}

/** Appends a DATA of the new file's bytes [offset, offset + length), merged into the last step where they join. */
export function pushData(steps: Step[], offset: number, length: number): void {
  while (length > 0) {
    const last = steps.at(-1);
    const joins = last?.copy === false && last.offset + last.length === offset && last.length < MAX_STEP;
    const take = Math.min(length, joins ? MAX_STEP - last.length : MAX_STEP);
    if (joins) last.length += take;
    else steps.push({ copy: false, offset, length: take });
    offset += take;
    length -= take;
  }
}

/** The encoded size of a recipe (its frame's body size) and the bytes it sends as DATA. */
export function recipeSize(steps: readonly Step[]): { size: number; literal: number } {
  let size = 0;
  let literal = 0;
  for (const step of steps) {
    if (step.copy) size += COPY_SIZE;
    else {
      size += DATA_HEAD + step.length;
      literal += step.length;
    }
  }
  return { size, literal };
}

export function encodeCopy(baseOffset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(COPY_SIZE);
  out[0] = OP_COPY;
  out.writeUIntBE(baseOffset, 1, 6);
  out.writeUInt32BE(length, 7);
  return out;
}

export function encodeDataHead(length: number): Buffer {
  const out = Buffer.allocUnsafe(DATA_HEAD);
  out[0] = OP_DATA;
  out.writeUInt32BE(length, 1);
  return out;
}

/** What a {@link RecipeDecoder} hands on: copy a range of the base, or bytes that came with the recipe. */
export interface RecipeSink {
  copy(baseOffset: number, length: number): Promise<void>;
  data(bytes: Buffer): Promise<void>;
}

/**
 * Decodes a recipe as it streams in, as an explicit state machine (each step consumes bytes or waits for more):
 * an operation's fixed head may be split across chunks; DATA bytes are handed on as they arrive, never gathered.
 */
export class RecipeDecoder {
  #sink: RecipeSink;
  #head: Buffer = Buffer.alloc(0);
  #dataLeft = 0;

  constructor(sink: RecipeSink) {
    this.#sink = sink;
  }

  async push(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.#dataLeft > 0) {
        const take = Math.min(this.#dataLeft, chunk.length - at);
        this.#dataLeft -= take;
        await this.#sink.data(chunk.subarray(at, at + take));
        at += take;
        continue;
      }
      const tag = this.#head.length > 0 ? this.#head[0] : chunk[at];
      const need = tag === OP_COPY ? COPY_SIZE : tag === OP_DATA ? DATA_HEAD : -1;
      if (need < 0) throw new RangeError(`unknown recipe operation 0x${tag.toString(16)}`);
      const take = Math.min(need - this.#head.length, chunk.length - at);
      this.#head = Buffer.concat([this.#head, chunk.subarray(at, at + take)]);
      at += take;
      if (this.#head.length < need) return;
      const head = this.#head;
      this.#head = Buffer.alloc(0);
      if (tag === OP_COPY) await this.#sink.copy(head.readUIntBE(1, 6), head.readUInt32BE(7));
      else this.#dataLeft = head.readUInt32BE(1);
    }
  }

  /** Throws if the recipe stopped inside an operation. */
  end(): void {
    if (this.#head.length > 0 || this.#dataLeft > 0) throw new RangeError("the recipe ended inside an operation");
  }
}
