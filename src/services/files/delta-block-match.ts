import { FINGERPRINT_BYTES, type BlockIndex } from "./delta-blocks.js";
import type { Roller } from "./delta-roller.js";
import type { BlockHasher } from "./block-hash.js";

/** Blocks tried past one that did not match, where an overwrite in place would have left them (#probe). */
export const PROBES = 4;

/** A scan looks at every position for its first DENSE_SCAN bytes (where an edit's end usually is)... */
export const DENSE_SCAN = 256 * 1024;

/**
 * ...then at every SPARSE_STRIDE-th: prime to the block size, so that a run of unchanged blocks is found within
 * SPARSE_STRIDE blocks of its start whatever its offset, and a long scan of new content costs a seventh of the
 * look-ups.
 */
export const SPARSE_STRIDE = 7;

/**
 * Past FAR_SCAN bytes of scan (long new content: an unrelated file, a rewritten stretch), at every FAR_STRIDE-th
 * position: a run of unchanged blocks then costs up to FAR_STRIDE blocks more to find, and the scan runs at about
 * the speed of the rolling alone (0.55 ns per byte, where every seventh position looked up costs 0.85).
 */
export const FAR_SCAN = 16 * 1024 * 1024;
export const FAR_STRIDE = 31;

/** How a {@link BlockMatcher} searches. */
export interface MatchOptions {
  /** Bytes the receiver's list must reach past a position before it is scanned (unless the list is complete). */
  lookahead: number;
  /** Bytes a scan looks at every position of (default DENSE_SCAN). */
  denseScan?: number;
  /** Then every how many positions it looks (default SPARSE_STRIDE). */
  stride?: number;
  /** Bytes of scan after which it looks at every `farStride`-th position (default FAR_SCAN, FAR_STRIDE). */
  farScan?: number;
  farStride?: number;
  /**
   * Positions whose candidates a scan may hash without a match (default: no bound). A list comes from the other
   * side, and one that names a fingerprint the file has everywhere (a file of zeros) with hashes it never has would
   * make the scan hash a block at every position it looks at; past this many, the scan only rolls on, and blocks are
   * still found where they follow a match.
   */
  maxFalseHits?: number;
}

/** Where a {@link BlockMatcher} puts what it decided, in file order: a block of the base, or a range to send. */
export interface MatchSink {
  copy(baseOffset: number, length: number): void;
  data(offset: number, length: number): void;
}

/**
 * The sender's search of a delta put in blocks (rsync's, delta-blocks.ts): over the new version, fed in pieces, it
 * decides for every byte whether it is part of a block of the receiver's base (COPY) or must be sent (DATA).
 *
 * After a block matched, the next block of the base is tried where the match ended (one hash: an unchanged run
 * costs a hash per block and nothing per byte). Where that fails, the next few blocks are tried where an overwrite
 * in place would have left them (a hash each); where those fail too, the matcher scans: it rolls the fingerprint
 * over the file one byte at a time, looks it up (at every position for DENSE_SCAN bytes, then at every
 * SPARSE_STRIDE-th, past FAR_SCAN at every FAR_STRIDE-th) and hashes the candidates whose fingerprint is listed, until one matches; bytes that can no
 * longer begin a match become DATA as the scan passes them.
 *
 * A position is scanned only once the receiver's list covers `lookahead` bytes past it (or is complete): content
 * moved further than that towards the base's end is not found, the price of not waiting for the whole list.
 *
 * @example
 * ```ts
 * const roller = createRoller(size);
 * const index = new BlockIndex(65536, baseSize, roller.bits); // then index.add(list), index.finish()
 * const matcher = new BlockMatcher(index, roller, await createBlockHasher("blake3"), 0, { copy: (at, n) => {}, data: (at, n) => {} }, { lookahead: 64 << 20 });
 * // read the file into roller.buffer, then:
 * await matcher.feed(roller.buffer.subarray(0, size), 0, true); // every byte decided: matcher.position === size
 * ```
 */
export class BlockMatcher {
  #index: BlockIndex;
  #roller: Roller;
  #hasher: BlockHasher;
  #sink: MatchSink;
  #lookahead: number;
  #denseScan: number;
  #stride: number;
  #farScan: number;
  #farStride: number;
  #maxFalseHits: number;
  /** Positions whose candidates were hashed without a match. */
  #falseHits = 0;
  #position: number;
  /** The block expected at `position` after a match, or -1 while scanning. */
  #expect = 0;
  /** The file offset up to which bytes are rolled into the scan's fingerprint (which the roller keeps). */
  #rolled = 0;
  #scanStart = 0;

  /**
   * `roller`: the buffer the caller reads the new version into (every {@link feed} is given the start of it) and
   * the scan's loop over it; `index` keeps its fingerprint bits in `roller.bits`; `hasher` makes the block hashes
   * the index lists (best made over `roller.hasherHome`, so that it hashes the buffer in place).
   */
  constructor(index: BlockIndex, roller: Roller, hasher: BlockHasher, start: number, sink: MatchSink, options: MatchOptions) {
    this.#index = index;
    this.#roller = roller;
    this.#hasher = hasher;
    this.#sink = sink;
    this.#lookahead = options.lookahead;
    this.#denseScan = options.denseScan ?? DENSE_SCAN;
    this.#stride = options.stride ?? SPARSE_STRIDE;
    this.#farScan = Math.max(options.farScan ?? FAR_SCAN, this.#denseScan);
    this.#farStride = options.farStride ?? FAR_STRIDE;
    this.#maxFalseHits = options.maxFalseHits ?? Number.POSITIVE_INFINITY;
    this.#position = start;
    // A resumed put's first byte is the one after the last built: the block there is the likeliest guess.
    this.#expect = start % index.blockSize === 0 ? start / index.blockSize : -1;
    if (this.#expect < 0) this.#startScan();
  }

  /** The first byte not yet decided: everything before it went to the sink. */
  get position(): number {
    return this.#position;
  }

  /**
   * Decides what it can of `data`, the file's bytes from `dataStart` (which must begin at or before
   * {@link position} and reach past it, or be the file's last bytes: `atEnd`). Returns the file offset of the first
   * byte the next call must be given again (the caller keeps the bytes from there and appends the next ones). At
   * the end every byte is decided.
   */
  async feed(data: Buffer, dataStart: number, atEnd: boolean): Promise<number> {
    if (data.buffer !== this.#roller.buffer.buffer || data.byteOffset !== this.#roller.buffer.byteOffset) throw new RangeError("a matcher is fed the start of its roller's buffer");
    const end = dataStart + data.length;
    const index = this.#index;
    for (;;) {
      if (this.#expect >= 0) {
        const k = this.#expect;
        const length = index.length(k);
        if (length >= FINGERPRINT_BYTES && k >= index.count) await index.covers((k + 1) * index.blockSize);
        if (length < FINGERPRINT_BYTES || k >= index.count) {
          this.#startScan();
          continue;
        }
        if (this.#position + length > end) {
          if (!atEnd) return this.#position;
          this.#startScan();
          continue;
        }
        const from = this.#position - dataStart;
        if (index.matches(k, this.#hasher.digest(data.subarray(from, from + length)))) {
          this.#sink.copy(k * index.blockSize, length);
          this.#position += length;
          this.#expect = k + 1;
          continue;
        }
        const probed = await this.#probe(data, dataStart, end, atEnd);
        if (probed === null) return this.#position; // more bytes first
        if (!probed) this.#startScan();
        continue;
      }
      if (this.#rolled < end) await index.covers(end + this.#lookahead);
      if (this.#scan(data, dataStart, end)) continue;
      if (atEnd) {
        if (end > this.#position) this.#sink.data(this.#position, end - this.#position);
        this.#position = end;
        return end;
      }
      // Bytes more than a block behind the scan can no longer begin a match: they are sent.
      const settled = this.#rolled - index.blockSize;
      if (settled > this.#position) {
        this.#sink.data(this.#position, settled - this.#position);
        this.#position = settled;
      }
      return this.#position;
    }
  }

  /**
   * After block `expect` did not match at `position`: tries the blocks after it where they would be if the bytes
   * in between were changed in place (the next PROBES blocks, a hash each), which finds the end of an overwrite
   * without a scan. True when one matched (the skipped blocks' bytes became DATA), false when none did, null when
   * `data` ends too soon to tell (not at the file's end).
   */
  async #probe(data: Buffer, dataStart: number, end: number, atEnd: boolean): Promise<boolean | null> {
    const index = this.#index;
    const k = this.#expect;
    for (let j = 1; j <= PROBES; j += 1) {
      const length = index.length(k + j);
      if (length < FINGERPRINT_BYTES) return false;
      if (k + j >= index.count) await index.covers((k + j + 1) * index.blockSize);
      if (k + j >= index.count) return false;
      const start = this.#position + j * index.blockSize;
      // Past the bytes given: more may come, unless this is the end or they could never fit in the buffer.
      if (start + length > end) return atEnd || start + length - dataStart > this.#roller.buffer.length ? false : null;
      if (!index.matches(k + j, this.#hasher.digest(data.subarray(start - dataStart, start - dataStart + length)))) continue;
      this.#sink.data(this.#position, start - this.#position);
      this.#sink.copy((k + j) * index.blockSize, length);
      this.#position = start + length;
      this.#expect = k + j + 1;
      return true;
    }
    return false;
  }

  #startScan(): void {
    this.#expect = -1;
    this.#scanStart = this.#position;
    this.#roller.print = 0;
    this.#rolled = this.#position;
  }

  /** Rolls the fingerprint on to `end`; true when a block matched (its COPY, and the DATA before it, are out). */
  #scan(data: Buffer, dataStart: number, end: number): boolean {
    const index = this.#index;
    const roller = this.#roller;
    const stop = end - dataStart;
    const dense = this.#scanStart + this.#denseScan - dataStart;
    const far = this.#scanStart + this.#farScan - dataStart;
    for (let i = this.#rolled - dataStart; i < stop; ) {
      const until = i < dense ? Math.min(stop, dense) : i < far ? Math.min(stop, far) : stop;
      i = roller.roll(i, until, i < dense ? 1 : i < far ? this.#stride : this.#farStride);
      const print = roller.print;
      if (i === until && !index.mayHave(print)) continue;
      if (this.#falseHits >= this.#maxFalseHits) continue; // out of hashes: roll on
      const blockEnd = dataStart + i;
      // The bytes before this position are hashed once per length, however many blocks share the fingerprint.
      let digest: Buffer | null = null;
      let digestLength = -1;
      for (let k = index.firstWith(print); k >= 0; k = index.nextWith(k)) {
        const length = index.length(k);
        const start = blockEnd - length;
        if (start < this.#position) continue; // overlaps what is decided (or too few bytes rolled for this print)
        if (length !== digestLength) {
          digest = this.#hasher.digest(data.subarray(start - dataStart, blockEnd - dataStart));
          digestLength = length;
        }
        if (!index.matches(k, digest!)) continue;
        if (start > this.#position) this.#sink.data(this.#position, start - this.#position);
        this.#sink.copy(k * index.blockSize, length);
        this.#position = blockEnd;
        this.#expect = k + 1;
        return true;
      }
      if (digestLength >= 0) this.#falseHits += 1;
    }
    this.#rolled = end;
    return false;
  }
}
