import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { SessionKey, type RequestContext } from "../../server/index.js";
import { ErrorCode, WharfError, type IncomingBody, type RequestHeader } from "../../wire/index.js";
import { filesChannel } from "../shared/channels.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { chooseAlgorithm, createContentHash, hashFields, type ContentHash, type HashAlgorithm } from "./hash.js";
import { BlockRecorder } from "./block-recorder.js";
import { HashingFileSink } from "./file-sink.js";
import { hashFileRange, type HashingWriter } from "./hashing-io.js";
import { userHome, type FilesDeps } from "./home.js";
import { currentUser } from "../accounts/index.js";
import type { PartialPaths } from "./layout.js";
import type { NameLock } from "./lock-file.js";
import { parseFields, putAbortRequest, putBeginRequest, putDataRequest } from "./messages.js";
import type { MetaStore } from "./meta.js";
import { preparePartial } from "./partials.js";
import { checkFreeSpace, checkQuota, homeUsage } from "./quota.js";
import { forgetUsage } from "./usage-cache.js";
import { normalizeRemotePath, resolveInHome } from "./remote-path.js";

/** An upload between `files.put.begin` and its commit, owned by one connection. */
export interface Upload {
  token: string;
  rel: string;
  realHome: string;
  meta: MetaStore;
  paths: PartialPaths;
  fileSize: number;
  /** Bytes in the partial file. */
  offset: number;
  mtime: number | undefined;
  /** The name lock: a lock file, or a Redis lease that may be `lost` (then no byte more may be written). */
  lock: NameLock;
  /** The content hash of this upload, chosen at begin from what the client offered. */
  algorithm: HashAlgorithm;
  /** The hash (hex) of all the partial's bytes, once the last one is written. */
  digest: string | null;
  /**
   * After a `files.put.data` that sent a slice (not the whole rest): the running hash of the partial's `offset`
   * bytes, which the next slice continues, so that a file sent in n slices is hashed once, not n times.
   */
  running: ContentHash | null;
  sending: boolean;
  /**
   * The `files.put.data` requests of this upload run one after another: a browser keeps several slices in
   * flight on its connection (one round trip per slice would cap an upload at a slice per round trip), and each
   * continues where the one before it ended.
   */
  queue: Promise<void>;
  /** Set by `files.put.abort`: slices still queued give up without touching the partial. */
  aborting: boolean;
  /** The writer of a `files.put.data` or `files.put.delta` slice in progress. */
  writer: Pick<HashingWriter, "finish" | "settle"> | null;
  /** When a request or a byte of this upload last arrived, or 0 while the server is busy with it itself. */
  lastActivity: number;
  /** Set when the upload went quiet for too long and was ended: no byte of it may be written after that. */
  stalled: boolean;
  watchdog: NodeJS.Timeout | undefined;
  /** The uploads of its connection (by token) and of its service: it leaves both when it ends. */
  ofConnection: Map<string, Upload>;
  ofService: OpenUploads;
  /** Set by the first endUpload: later calls (connection close, stall, service close) await the same ending. */
  ending: Promise<void> | null;
  /** With `delta` at begin: the file the name holds now, which a delta transfer builds the new version from. */
  base: string | null;
  /**
   * Lists the blocks of the new version as its bytes are written, from its first byte (block-recorder.ts), so that
   * the next delta put onto it need not read it; null for small files, resumed uploads, or without WebAssembly.
   */
  blocks: BlockRecorder | null;
}

/** Uploads of files from this size (8 MiB: listing them costs a few ms) to RECORD_MAX_SIZE list their blocks. */
const RECORD_MIN_SIZE = 8 * 1024 * 1024;
/** 16 GiB: a list of 5 MiB, kept by storedBlockLists. */
const RECORD_MAX_SIZE = 16 * 1024 * 1024 * 1024;

/** The uploads of one files service that have not ended, so that its close() can end them. */
export type OpenUploads = Set<Upload>;

/**
 * Ends every open upload of a service (locks released, partials kept for a resume): for the service's close(),
 * once the server has stopped its requests.
 */
export async function endOpenUploads(open: OpenUploads): Promise<void> {
  await Promise.all([...open].map((upload) => endUpload(upload)));
}

const SESSION_UPLOADS = new SessionKey<Map<string, Upload>>("wharf.files.uploads");

/** The uploads of a request's connection; they end (locks released, partials kept) when it closes. */
function uploadsOf(ctx: RequestContext): Map<string, Upload> {
  let uploads = ctx.session.get(SESSION_UPLOADS);
  if (uploads === undefined) {
    const created = new Map<string, Upload>();
    uploads = created;
    ctx.session.set(SESSION_UPLOADS, created);
    ctx.channel?.onClose(() => {
      // An upload whose bytes are being received ends in its data handler, once what arrived is written: its
      // lock must not go before that, or another upload could start on the partial meanwhile.
      for (const upload of created.values()) if (!upload.sending) void endUpload(upload);
    });
  }
  return uploads;
}

/** The upload of a token on this connection. `queued`: a data request that will wait for the one in progress. */
export function findUpload(ctx: RequestContext, token: string, queued = false): Upload {
  const upload = uploadsOf(ctx).get(token);
  if (upload === undefined) {
    throw new WharfError(FileErrorCode.INVALID_PARAMS, "unknown upload: begin it with files.put.begin on this connection");
  }
  if (upload.sending && !queued) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: its bytes are being sent`);
  return upload;
}

/** Throws once the upload's lock is lost (a Redis lease that expired or was taken over): no byte more may land. */
export function assertLockHeld(upload: Upload): void {
  if (upload.lock.lost === true) {
    throw new WharfError(FileErrorCode.BUSY, `${upload.rel}: this upload lost its lease on the name (another node may hold it now); put again`, { data: { path: upload.rel } });
  }
}

/**
 * Checked before each chunk of a slice's body (`files.put.data`, `files.put.delta`) is taken: throws once the upload
 * stalled and was ended, the request was cancelled, or the upload's lease was lost; else notes the activity.
 */
export function assertSliceGoing(deps: FilesDeps, upload: Upload, ctx: RequestContext): void {
  if (upload.stalled) throw new WharfError(ErrorCode.TIMEOUT, `${upload.rel}: no bytes for ${deps.stallTimeout} ms; the upload was ended`);
  if (ctx.aborted) throw ctx.signal.reason;
  assertLockHeld(upload);
  upload.lastActivity = Date.now();
}

/**
 * The hash a slice continues, over the partial's first `offset` bytes: the one the slice before it left running,
 * else those bytes hashed again from `file`. Bytes past the offset were never acknowledged and are cut off.
 */
export async function sliceHash(upload: Upload, file: FileHandle, signal: AbortSignal): Promise<ContentHash> {
  let hash = upload.running;
  upload.running = null; // taken: a failure below ends the upload
  if (hash === null) {
    hash = createContentHash(upload.algorithm);
    await hashFileRange(file, 0, upload.offset, hash, signal);
  }
  await file.truncate(upload.offset);
  return hash;
}

/**
 * Counts a slice's `received` bytes in and gives its reply: before the file's end `{received, offset}`, the hash left
 * running for the next slice; with the last byte the partial is flushed (once, with the last slice) and its digest
 * recorded, `{received, hash, sha256?}`.
 */
export async function endSlice(upload: Upload, file: FileHandle, hash: ContentHash, received: number) {
  upload.offset += received;
  upload.lastActivity = Date.now();
  if (upload.offset < upload.fileSize) {
    upload.running = hash;
    return { header: { received, offset: upload.offset } };
  }
  await file.sync();
  upload.digest = hash.digest();
  return { header: { received, ...hashFields(upload.algorithm, upload.digest) } };
}

export function endUpload(upload: Upload): Promise<void> {
  upload.ending ??= (async () => {
    clearInterval(upload.watchdog);
    upload.blocks?.release();
    upload.blocks = null; // its memory (4 MiB and more) goes now, not when the upload object does
    upload.ofConnection.delete(upload.token);
    try {
      await upload.lock.release();
    } finally {
      // Only once the lock file is gone: the service's close() must be able to await an ending begun elsewhere
      // (the connection closing as the server shuts down).
      upload.ofService.delete(upload);
    }
  })();
  return upload.ending;
}

/**
 * Ends an upload that has had no request and no byte for `stallTimeout` ms, keeping what it wrote: a client whose
 * network was cut never closes its connection, and its lock would otherwise keep the name busy for good.
 */
function watchForStall(deps: FilesDeps, ctx: RequestContext, upload: Upload): void {
  upload.watchdog = setInterval(() => {
    if (upload.stalled || upload.lastActivity === 0 || Date.now() - upload.lastActivity < deps.stallTimeout) return;
    upload.stalled = true;
    ctx.logger.warn({ path: upload.rel, offset: upload.offset }, `upload ended: no bytes for ${deps.stallTimeout} ms`);
    const flushed = upload.writer?.finish().catch(() => {}) ?? Promise.resolve();
    void flushed.then(() => endUpload(upload));
  }, Math.max(10, Math.min(1_000, deps.stallTimeout / 4)));
  upload.watchdog.unref();
}

/** Quota checks and partial set-up of one user run one at a time, so that concurrent begins (and one-request puts) see each other. */
const userQueues = new Map<string, Promise<unknown>>();

export function serialized<T>(user: string, work: () => Promise<T>): Promise<T> {
  const run = (userQueues.get(user) ?? Promise.resolve()).then(work, work);
  const tail = run.then(() => undefined, () => undefined);
  userQueues.set(user, tail);
  void tail.then(() => {
    if (userQueues.get(user) === tail) userQueues.delete(user);
  });
  return run;
}

/**
 * `files.put.begin {path, fileSize, stamp?, mtime?}` → `{upload, offset}`: takes the name's lock (`E_BUSY` if an
 * upload to it runs), checks the quota with the declared size (`E_QUOTA`) and the free space (`E_NO_SPACE`)
 * before any byte is stored, and says how many bytes of an earlier attempt with the same path, size and stamp
 * the server already has.
 */
export async function beginUpload(deps: FilesDeps, header: RequestHeader, ctx: RequestContext) {
  const { account, realHome, meta } = await userHome(deps, ctx);
  const fields = parseFields(putBeginRequest, header);
  const rel = normalizeRemotePath(fields.path);
  if (rel === "") throw new WharfError(FileErrorCode.IS_DIR, "put needs a file name, not your home");
  try {
    const target = await resolveInHome(realHome, rel, { followFinal: true });
    if (target.stat?.isDirectory()) throw new WharfError(FileErrorCode.IS_DIR, `${rel}: is a directory`);
    const paths = deps.layout.partialPaths(realHome, rel);
    const lock = await deps.locks.acquire(paths.lock, deps.partialTtl);
    if (lock === null) throw new WharfError(FileErrorCode.BUSY, `${rel}: another upload to this name is in progress`, { data: { path: rel } });
    let offset: number;
    try {
      offset = await serialized(account.name, async () => {
        // The usage walks the whole home: a user without a quota does not pay it, or a put -r of n files costs n².
        if (account.quota !== null) {
          const replacing = target.stat?.isFile() === true ? target.abs : undefined;
          const used = await homeUsage(realHome, deps.layout.partialsDir(realHome), { replacing, ownPartialInfo: paths.info });
          checkQuota(account.quota, used, fields.fileSize, rel);
        }
        const kept = await preparePartial(paths, { path: rel, fileSize: fields.fileSize, stamp: fields.stamp ?? "" });
        forgetUsage(); // the partial counts at its full size from now on
        await checkFreeSpace(deps.layout.partialsDir(realHome), fields.fileSize - kept, rel);
        return kept;
      });
    } catch (err) {
      await lock.release();
      throw err;
    }
    const algorithm = chooseAlgorithm(fields.hashes, deps.defaultHash);
    const token = randomBytes(12).toString("hex");
    const upload: Upload = {
      token, rel, realHome, meta, paths, fileSize: fields.fileSize, offset, mtime: fields.mtime, lock,
      algorithm, digest: null, running: null, sending: false, queue: Promise.resolve(), aborting: false, writer: null, lastActivity: Date.now(), stalled: false, watchdog: undefined,
      ofConnection: uploadsOf(ctx), ofService: deps.openUploads, ending: null,
      base: fields.delta === true && target.stat?.isFile() === true && target.stat.size > 0 ? target.abs : null,
      blocks: offset === 0 && fields.fileSize >= RECORD_MIN_SIZE && fields.fileSize <= RECORD_MAX_SIZE ? await BlockRecorder.create(fields.fileSize).catch(() => null) : null,
    };
    upload.ofConnection.set(token, upload);
    upload.ofService.add(upload);
    watchForStall(deps, ctx, upload);
    ctx.logger.debug({ user: account.name, path: rel, fileSize: fields.fileSize, offset }, "upload begins");
    // `hash` names the algorithm to hash with; a client from before issue 15 offered none and gets sha256.
    return { header: { upload: token, offset, hash: algorithm, ...(upload.base === null ? {} : { delta: true }) } };
  } catch (err) {
    throw fsFailure(err, rel);
  }
}

/**
 * `files.put.data {upload, offset}` + a streamed body of the bytes from `offset` to the end, or of a slice of
 * them (a browser sends one slice per WebSocket message, issue 13): re-hashes the partial's first `offset` bytes
 * from disk (unless a slice before left the running hash), then hashes and appends the body as it arrives. The
 * request that brings the last byte flushes the file to disk and → `{received, hash, sha256?}` (see
 * {@link hashFields}); a slice before it → `{received, offset}`, the bytes the server now has. On failure (disk
 * full, connection lost) the bytes written so far stay in the partial for a later resume, and the upload ends:
 * the client begins again.
 */
export async function receiveUpload(deps: FilesDeps, header: RequestHeader, body: IncomingBody, ctx: RequestContext) {
  currentUser(ctx); // E_AUTH first, as for every files type
  const fields = parseFields(putDataRequest, header);
  return inUploadOrder(deps, ctx, fields.upload, (upload) => receiveSlice(deps, upload, fields, body, ctx));
}

/**
 * Runs `work` for one slice of an upload (`files.put.data`, `files.put.delta`) once the slices that came before it
 * on the connection are done, so that a sender may pipeline them: each continues where the one before ended. The
 * slice takes its place in the upload's queue before anything is awaited (requests are dispatched in the order
 * they arrived, and an await first could let a later slice overtake this one). A slice after one that ended the
 * upload (failed, aborted, the connection went) fails without touching the partial.
 */
export async function inUploadOrder<T>(deps: FilesDeps, ctx: RequestContext, token: string, work: (upload: Upload) => Promise<T>): Promise<T> {
  const upload = findUpload(ctx, token, true);
  const previous = upload.queue;
  let done!: () => void;
  upload.queue = new Promise<void>((resolve) => (done = resolve));
  try {
    await userHome(deps, ctx);
    await previous; // the slice before this one (its body is unread meanwhile: the connection waits, bounded)
    if (upload.ending !== null || upload.aborting) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: the upload ended before this slice; begin it again`);
    await upload.lock.confirm?.(); // a lease is checked against Redis before the first byte
    return await work(upload);
  } finally {
    done();
  }
}

async function receiveSlice(deps: FilesDeps, upload: Upload, fields: { offset: number; size?: number | undefined }, body: IncomingBody, ctx: RequestContext) {
  const bodySize = fields.size ?? 0;
  if (fields.offset !== upload.offset || upload.offset + bodySize > upload.fileSize) {
    throw new WharfError(
      FileErrorCode.INVALID_PARAMS,
      `${upload.rel}: the server has ${upload.offset} of ${upload.fileSize} bytes; send the rest (or a slice of it) from there (got offset ${fields.offset}, ${bodySize} bytes)`,
    );
  }
  upload.sending = true;
  upload.lastActivity = 0; // re-hashing the partial is the server's own time, not the client's silence
  let file;
  try {
    file = await open(upload.paths.data, constants.O_RDWR | constants.O_NOFOLLOW);
    const hash = await sliceHash(upload, file, ctx.signal);
    // The body goes from the connection's reads into the file's buffers, with no stream between (file-sink.ts).
    const writer = new HashingFileSink(file, upload.offset, hash, { recorder: upload.blocks ?? undefined });
    upload.writer = writer;
    upload.lastActivity = Date.now();
    let received = 0;
    try {
      await body.drainInto({
        write: (chunk) => {
          assertSliceGoing(deps, upload, ctx);
          received += chunk.length;
          return writer.write(chunk);
        },
      });
      upload.lastActivity = 0;
      await writer.finish();
      if (filesChannel.hasSubscribers) filesChannel.publish({ event: "upload", bytes: received });
    } catch (err) {
      if (filesChannel.hasSubscribers) filesChannel.publish({ event: "upload", bytes: received });
      // Keep every byte that arrived (a lost connection, a cut network) for the resume; after a stall the
      // watchdog has flushed them already, and the name may belong to another upload by now.
      if (upload.stalled) await writer.settle();
      else await writer.finish().catch(() => {});
      throw err;
    }
    return await endSlice(upload, file, hash, received);
  } catch (err) {
    await endUpload(upload);
    throw fsFailure(err, upload.rel);
  } finally {
    upload.sending = false;
    upload.writer = null;
    await file?.close();
    if (ctx.channel?.closed === true) await endUpload(upload); // nobody is left to commit it
  }
}

/** `files.put.abort {upload}`: ends an upload early, keeping its partial for a later resume. */
export async function abortUpload(deps: FilesDeps, header: RequestHeader, ctx: RequestContext) {
  await userHome(deps, ctx);
  const fields = parseFields(putAbortRequest, header);
  // An abort may come while slices are being received (a browser pipelines them, then gives up): queued ones
  // give up, the one running stops once its request is cancelled or its body ends, and only then is the name
  // released, so that no byte of this upload lands after another upload of the name has begun.
  const upload = findUpload(ctx, fields.upload, true);
  upload.aborting = true;
  await upload.queue;
  await endUpload(upload);
  return { header: { upload: upload.token, offset: upload.offset } };
}
