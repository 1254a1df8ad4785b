import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { RequestContext } from "../../server/index.js";
import { WharfError, type RequestHeader } from "../../wire/index.js";
import { listEntryBytes, type BlockHashName } from "./block-hash.js";
import { BLOCK_SIZE } from "./delta-blocks.js";
import { RecipeDecoder } from "./delta-ops.js";
import { ChunkListCache } from "./delta-list-cache.js";
import { storedBlockLists } from "./stored-block-lists.js";
import { filesChannel } from "../shared/channels.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { copyThrough, COPY_BLOCK, HashingWriter } from "./hashing-io.js";
import { userHome, type FilesDeps } from "./home.js";
import { parseFields, putChunksRequest, putDeltaRequest } from "./messages.js";
import { currentUser } from "../accounts/index.js";
import { assertSliceGoing, endSlice, endUpload, findUpload, inUploadOrder, sliceHash, type Upload } from "./upload-handlers.js";

/** The last few bases listed by this process: a resumed or retried delta put does not list its base again. */
const baseListings = new ChunkListCache();

function baseOf(upload: Upload): string {
  if (upload.base === null) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: no delta for this upload: begin it with delta where the name holds a file`);
  return upload.base;
}

/**
 * `files.put.chunks {upload, blocks?, blockHash?}` → `{chunks, baseSize}` + a body: the chunk list (delta-ops.ts)
 * of the file the name holds, cut and hashed with the upload's algorithm, for the sender to find what it need not
 * send. With `blocks: true` it is a block list instead (delta-blocks.ts: fixed blocks, no scan for cut points),
 * its blocks hashed with XXH3-128 where `blockHash` asks for `xxh128` (else with the upload's algorithm), streamed
 * as the file is read: intermediate frames `{block, blockHash, baseSize, chunks: n}` + n entries, and a final
 * `{block, blockHash, baseSize, chunks}` (the whole list's count) + the entries not streamed, so that the sender
 * searches while the base is still being read. Either list is kept for the next upload against the same
 * unchanged file (delta-list-cache.ts); a block list may also have been made when the file was stored
 * (block-recorder.ts), and then the base is not read at all.
 */
export async function sendBaseChunks(deps: FilesDeps, header: RequestHeader, ctx: RequestContext) {
  await userHome(deps, ctx);
  const fields = parseFields(putChunksRequest, header);
  const upload = findUpload(ctx, fields.upload);
  await upload.lock.confirm?.();
  const basePath = baseOf(upload);
  upload.lastActivity = 0; // listing the base is the server's own time
  let base: FileHandle | undefined;
  try {
    base = await open(basePath, constants.O_RDONLY | constants.O_NOFOLLOW);
    if (fields.blocks !== true) {
      const { list, chunks, size, fresh } = await baseListings.listing(base, upload.algorithm);
      countBaseList(fresh);
      return { header: { chunks, baseSize: size }, body: list };
    }
    const baseSize = (await base.stat()).size;
    const blockHash: BlockHashName = fields.blockHash === "xxh128" ? "xxh128" : upload.algorithm;
    const entry = listEntryBytes(blockHash);
    let streamed = 0;
    const { list, chunks, fresh } = await storedBlockLists.listing(base, blockHash, undefined, async (part) => {
      upload.lastActivity = 0; // a slice built meanwhile may have set it
      await ctx.send({ block: BLOCK_SIZE, blockHash, baseSize, chunks: part.length / entry }, part);
      streamed += part.length;
    });
    countBaseList(fresh);
    return { header: { block: BLOCK_SIZE, blockHash, baseSize, chunks }, body: list.subarray(streamed) };
  } catch (err) {
    throw fsFailure(err, upload.rel);
  } finally {
    upload.lastActivity = Date.now();
    await base?.close();
  }
}

/** Tells the metrics where a base's list came from: read from the file now, or from memory. */
function countBaseList(fresh: boolean): void {
  if (filesChannel.hasSubscribers) filesChannel.publish({ event: "base-list", from: fresh ? "file" : "memory" });
}

/** The buffer each upload copies its COPY ranges through, kept across its slices (fresh memory faults in slowly). */
const copyBuffers = new WeakMap<Upload, Buffer>();

/**
 * `files.put.delta {upload, offset, end?}` + a streamed recipe (delta-ops.ts) covering the file from `offset` to
 * `end` (default: its end): the partial is built from ranges of the file the name holds now and the bytes in the
 * recipe, each byte hashed as it is written. Slices may be pipelined: each waits for the one before it and
 * continues its hash (as `files.put.data` slices do). A slice that ends before the file's end → `{received,
 * offset}`; the one that brings the last byte flushes the partial and → `{received, hash, sha256?}` as for
 * `files.put.data`; the commit then compares the whole file's hash, so a base that changed meanwhile is caught
 * there. Interrupted, the partial keeps what was built, and a later begin resumes from it.
 */
export async function receiveDelta(deps: FilesDeps, header: RequestHeader, body: Readable, ctx: RequestContext) {
  currentUser(ctx); // E_AUTH first, as for every files type
  const fields = parseFields(putDeltaRequest, header);
  return inUploadOrder(deps, ctx, fields.upload, (upload) => buildSlice(deps, upload, fields, body, ctx));
}

async function buildSlice(deps: FilesDeps, upload: Upload, fields: { offset: number; end?: number | undefined }, body: Readable, ctx: RequestContext) {
  const basePath = baseOf(upload);
  const end = fields.end ?? upload.fileSize;
  if (fields.offset !== upload.offset || end < fields.offset || end > upload.fileSize) {
    throw new WharfError(
      FileErrorCode.INVALID_PARAMS,
      `${upload.rel}: the server has ${upload.offset} of ${upload.fileSize} bytes; the recipe must start there and end by the file's end (got offset ${fields.offset}, end ${end})`,
    );
  }
  upload.sending = true;
  upload.lastActivity = 0;
  let file: FileHandle | undefined;
  let base: FileHandle | undefined;
  try {
    file = await open(upload.paths.data, constants.O_RDWR | constants.O_NOFOLLOW);
    base = await open(basePath, constants.O_RDONLY | constants.O_NOFOLLOW);
    const baseFile = base;
    const baseSize = (await base.stat()).size;
    const hash = await sliceHash(upload, file, ctx.signal);
    const recorder = upload.blocks;
    // What is built is also listed in blocks (block-recorder.ts): copied ranges are read into the recorder's memory
    // and hashed where they lie, the recipe's own bytes pass through it.
    const hashes = recorder === null ? hash : { update: (bytes: Buffer) => (hash.update(bytes), recorder.update(bytes)) };
    const writer = new HashingWriter(file, upload.offset, hashes);
    upload.writer = writer;
    upload.lastActivity = Date.now();
    let copyBuffer = recorder?.area ?? copyBuffers.get(upload);
    if (copyBuffer === undefined) copyBuffers.set(upload, (copyBuffer = Buffer.allocUnsafeSlow(COPY_BLOCK)));
    const room = end - upload.offset;
    let built = 0;
    const fits = (length: number): void => {
      if (built + length > room) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: the recipe builds more than the ${room} bytes from ${upload.offset} to ${end}`);
    };
    const decoder = new RecipeDecoder({
      copy: async (at, length) => {
        fits(length);
        if (at + length > baseSize) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: the recipe copies past the end of the stored file`);
        await copyThrough(baseFile, at, length, copyBuffer, { write: (bytes) => writer.write(bytes), settle: () => writer.finish(), source: "the stored file" });
        built += length;
      },
      data: async (bytes) => {
        fits(bytes.length);
        await writer.write(bytes);
        built += bytes.length;
      },
    });
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        assertSliceGoing(deps, upload, ctx);
        await decoder.push(chunk);
      }
      decoder.end();
      upload.lastActivity = 0;
      await writer.finish();
    } catch (err) {
      // As for plain data: keep every byte built, for the resume.
      if (upload.stalled) await writer.settle();
      else await writer.finish().catch(() => {});
      throw err instanceof RangeError ? new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: ${err.message}`) : err;
    }
    if (built !== room) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: the recipe built ${built} of the ${room} bytes from ${upload.offset} to ${end}`);
    return await endSlice(upload, file, hash, built);
  } catch (err) {
    await endUpload(upload);
    throw fsFailure(err, upload.rel);
  } finally {
    upload.sending = false;
    upload.writer = null;
    await file?.close();
    await base?.close();
    if (ctx.channel?.closed === true) await endUpload(upload);
  }
}
