/** The schemas the server validates files requests with. The request names are in requests.ts, so that clients load no zod. */
import { z } from "zod";
import { WharfError } from "../../wire/index.js";
import { FileErrorCode } from "./errors.js";
import { PUT_FILE_MAX } from "./requests.js";

const remotePath = z.string().max(4096);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
const fileSize = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** A hash as it travels since issue 15: `"ALG:HEX"`. */
const hashText = z.string().regex(/^(blake3|sha256):[0-9a-f]{64}$/, "must be blake3:HEX or sha256:HEX (64 lowercase hex digits)");
/** The hash algorithms a client can compute, preferred first; absent: sha256 only (a client from before issue 15). */
const offeredHashes = z.array(z.string().max(16)).max(8).optional();

export const statRequest = z.object({ path: remotePath, sha256: z.boolean().optional(), hash: z.boolean().optional() });
export const listRequest = z.object({ path: remotePath.optional(), recursive: z.boolean().optional(), sha256: z.boolean().optional(), hash: z.boolean().optional() });
export const compareRequest = z.object({ path: remotePath });
export const mkdirRequest = z.object({ path: remotePath, parents: z.boolean().optional() });
export const rmRequest = z.object({ path: remotePath, recursive: z.boolean().optional() });
export const mvRequest = z.object({ from: remotePath, to: remotePath });
export const putBeginRequest = z.object({
  path: remotePath,
  fileSize,
  /** The sender's identity of the local file's version (e.g. size, mtime, inode): part of the resume key. */
  stamp: z.string().max(256).optional(),
  /** Modification time to give the stored file, ms since the epoch. */
  mtime: z.number().nonnegative().max(8.64e15).optional(),
  hashes: offeredHashes,
  /** The client can send a delta against the file the name holds now (issue 15). */
  delta: z.boolean().optional(),
});
export const putChunksRequest = z.object({ upload: z.string().min(1).max(64), blocks: z.boolean().optional(), blockHash: z.string().max(32).optional() });
export const putDeltaRequest = z.object({ upload: z.string().min(1).max(64), offset: fileSize, end: fileSize.optional(), size: fileSize.optional() });
export const putDataRequest = z.object({ upload: z.string().min(1).max(64), offset: fileSize, size: fileSize.optional() });
export const putCommitRequest = z
  .object({ upload: z.string().min(1).max(64), sha256: sha256Hex.optional(), hash: hashText.optional() })
  .refine((fields) => fields.sha256 !== undefined || fields.hash !== undefined, { message: "needs hash (or sha256)", path: ["hash"] });
export const putFileRequest = z.object({
  path: remotePath,
  fileSize: fileSize.max(PUT_FILE_MAX),
  mtime: z.number().nonnegative().max(8.64e15).optional(),
  /** The sender's hash of the bytes, `"ALG:HEX"`: the server stores them only if its own hash of the body is equal. */
  hash: hashText,
  /** The algorithms the sender can compute, preferred first: the file is recorded with the server's choice of them. */
  hashes: offeredHashes,
});
export const putAbortRequest = z.object({ upload: z.string().min(1).max(64) });
export const getRequest = z.object({
  path: remotePath,
  offset: fileSize.optional(),
  /** The content the client's `offset` bytes are a prefix of: `hash` (`"ALG:HEX"`), or `sha256` before issue 15. */
  sha256: sha256Hex.optional(),
  hash: hashText.optional(),
  hashes: offeredHashes,
  /** With a body: the chunk list of the client's older version, hashed with this algorithm (issue 15). */
  delta: z.enum(["blake3", "sha256"]).optional(),
  /**
   * With a body: the block list (delta-blocks.ts) of the client's older version, its blocks hashed with this;
   * `block` and `baseSize` say what it lists (issue 15). The recipe then comes in intermediate frames.
   */
  deltaBlocks: z.enum(["xxh128", "blake3", "sha256"]).optional(),
  block: z.number().int().positive().optional(),
  baseSize: fileSize.optional(),
});

/** Validates a request's fields, or throws `E_INVALID_PARAMS` naming what is wrong. */
export function parseFields<T extends z.ZodType>(schema: T, header: Record<string, unknown>): z.infer<T> {
  const result = schema.safeParse(header);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "header"}: ${issue.message}`);
  throw new WharfError(FileErrorCode.INVALID_PARAMS, `bad ${String(header.type)} request: ${problems.join("; ")}`);
}
