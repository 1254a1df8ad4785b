/**
 * The end of an upload (upload-handlers.ts has its beginning and its bytes): `files.put.commit` checks the whole
 * file's hash and lands the partial under its name, with its record and, for a big file, its block list.
 */
import { constants, type BigIntStats } from "node:fs";
import { mkdir, open, rename, rm, stat, utimes } from "node:fs/promises";
import { dirname } from "node:path";
import type { RequestContext } from "../../server/index.js";
import { WharfError, type RequestHeader } from "../../wire/index.js";
import { syncDir } from "../shared/dir-sync.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { createContentHash, formatHash, hashFields, parseHash } from "./hash.js";
import { hashFileRange } from "./hashing-io.js";
import { userHome, type FilesDeps } from "./home.js";
import { parseFields, putCommitRequest } from "./messages.js";
import { removePartial } from "./partials.js";
import { resolveInHome } from "./remote-path.js";
import { storedBlockLists } from "./stored-block-lists.js";
import { endUpload, findUpload, type Upload } from "./upload-handlers.js";
import { forgetUsage } from "./usage-cache.js";

/**
 * `files.put.commit {upload, hash}` (or `sha256`, before issue 15): the sender's hash of the whole file. When it equals the server's, the
 * partial gets its mtime and metadata and is renamed under its name (then the folder is flushed), so the file
 * appears whole or not at all. → `{path, fileSize, hash, sha256?, mtime}`. A mismatch deletes the partial: `E_INTEGRITY`.
 */
export async function commitUpload(deps: FilesDeps, header: RequestHeader, ctx: RequestContext) {
  await userHome(deps, ctx);
  const fields = parseFields(putCommitRequest, header);
  const upload = findUpload(ctx, fields.upload);
  if (upload.offset !== upload.fileSize) {
    throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: the server has ${upload.offset} of ${upload.fileSize} bytes; send the rest first`);
  }
  // A client from before issue 15 commits with `sha256` (and was given sha256 at begin).
  const claimed = fields.hash !== undefined ? parseHash(fields.hash)! : { algorithm: "sha256" as const, hex: fields.sha256! };
  if (claimed.algorithm !== upload.algorithm) {
    throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: this upload is hashed with ${upload.algorithm}, the commit names ${claimed.algorithm}`);
  }
  upload.lastActivity = 0;
  try {
    await upload.lock.confirm?.(); // the partial lands only while its lease is still this upload's
    const digest = upload.digest ?? (await hashWholePartial(upload, ctx.signal));
    if (digest !== claimed.hex) {
      await removePartial(upload.paths);
      const [expected, actual] = upload.algorithm === "sha256" ? [claimed.hex, digest] : [formatHash(upload.algorithm, claimed.hex), formatHash(upload.algorithm, digest)];
      ctx.logger.warn({ path: upload.rel, expected, actual }, "upload failed its integrity check");
      throw new WharfError(FileErrorCode.INTEGRITY, `${upload.rel}: the server received content with ${upload.algorithm} ${digest}, the sender sent ${claimed.hex}; nothing was stored`, {
        data: { expected, actual },
      });
    }
    const mtime = await land(upload, digest);
    ctx.logger.info({ path: upload.rel, fileSize: upload.fileSize, hash: upload.algorithm }, "upload stored");
    return { header: { path: upload.rel, fileSize: upload.fileSize, ...hashFields(upload.algorithm, digest), mtime } };
  } catch (err) {
    throw fsFailure(err, upload.rel);
  } finally {
    await endUpload(upload);
  }
}

async function hashWholePartial(upload: Upload, signal: AbortSignal): Promise<string> {
  const file = await open(upload.paths.data, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    const size = (await file.stat()).size;
    if (size !== upload.fileSize) throw new WharfError(FileErrorCode.INVALID_PARAMS, `${upload.rel}: the partial has ${size} of ${upload.fileSize} bytes`);
    const hash = createContentHash(upload.algorithm);
    await hashFileRange(file, 0, size, hash, signal);
    await file.sync(); // an earlier attempt may have died before it flushed
    return hash.digest();
  } finally {
    await file.close();
  }
}

/**
 * Keeps the block list the upload made of its file (when it saw every byte), as the list of the version now under
 * the name: the same inode, size and mtime as the partial had (the rename moved only its ctime), so that nothing
 * written since is described by a list of what came before.
 */
async function rememberBlocks(upload: Upload, path: string, partial: BigIntStats): Promise<void> {
  if (upload.blocks === null || upload.blocks.bytes !== upload.fileSize) return;
  const landed = await stat(path, { bigint: true }).catch(() => null);
  if (landed === null || landed.ino !== partial.ino || landed.size !== partial.size || landed.mtimeNs !== partial.mtimeNs) return;
  storedBlockLists.remember(landed, "xxh128", upload.blocks.finish());
}

/** Puts a verified partial under its name: mtime, metadata, rename, flush the folder. Resolves the mtime (ms). */
async function land(upload: Upload, digest: string): Promise<number> {
  // Seconds as a number, not a Date: a Date drops the sub-millisecond part, and the quick check compares times.
  if (upload.mtime !== undefined) await utimes(upload.paths.data, upload.mtime / 1000, upload.mtime / 1000);
  const info = await stat(upload.paths.data, { bigint: true });
  // The record goes first: the file then never appears without it (a record without a file is swept).
  await upload.meta.write(info, upload.algorithm, digest);
  // The tree may have changed since begin: resolve again, and make missing parent folders.
  const target = await resolveInHome(upload.realHome, upload.rel, { followFinal: true });
  if (target.stat?.isDirectory()) throw new WharfError(FileErrorCode.IS_DIR, `${upload.rel}: is a directory`);
  // The file replaced is held open across the rename and let go once the reply is out: the kernel frees a file's
  // pages when its last reference goes, 38 ms for 1 GiB on tmpfs (issue 15), which the sender need not wait for.
  const old = target.stat?.isFile() === true ? await open(target.abs, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null) : null;
  try {
    const replaced = old === null ? null : (await old.stat({ bigint: true })).ino;
    if (!target.parentExists) await mkdir(dirname(target.abs), { recursive: true });
    await rename(upload.paths.data, target.abs);
    forgetUsage(); // the partial became a file, and a replaced file is gone
    await syncDir(dirname(target.abs));
    await rm(upload.paths.info, { force: true });
    if (replaced !== null && replaced !== info.ino) await upload.meta.remove(replaced);
    await rememberBlocks(upload, target.abs, info);
  } finally {
    if (old !== null) setImmediate(() => void old.close().catch(() => {})); // after the reply, written as the handler returns
  }
  return Number((info.mtimeNs + 500_000n) / 1_000_000n); // whole ms (the docs say integer), rounded: utimes() of ms / 1000 lands a hair below
}

