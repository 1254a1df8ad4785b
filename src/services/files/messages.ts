import { z } from "zod";
import { WharfError } from "../../wire/index.js";
import { FileErrorCode } from "./errors.js";

/**
 * The request types of the files service (docs/protocol.md, "Files"). Sizes of files travel as `fileSize`,
 * because a header's `size` is the length of the frame's body.
 */
export const FileRequest = {
  STAT: "files.stat",
  LIST: "files.list",
  MKDIR: "files.mkdir",
  RM: "files.rm",
  MV: "files.mv",
  PUT_BEGIN: "files.put.begin",
  PUT_DATA: "files.put.data",
  PUT_COMMIT: "files.put.commit",
  PUT_ABORT: "files.put.abort",
  GET: "files.get",
} as const;

/** One file or directory as `files.stat` and `files.list` describe it. */
export interface FileEntry {
  /** Path relative to the home, `/`-separated. */
  path: string;
  /** Last path component ("" for the home itself). */
  name: string;
  type: "file" | "dir";
  /** Bytes (0 for directories). */
  size: number;
  /** Modification time, milliseconds since the epoch. */
  mtime: number;
  /** Hex sha256 of a file's content, when asked for. */
  sha256?: string;
}

const remotePath = z.string().max(4096);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
const fileSize = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const statRequest = z.object({ path: remotePath, sha256: z.boolean().optional() });
export const listRequest = z.object({ path: remotePath.optional(), recursive: z.boolean().optional(), sha256: z.boolean().optional() });
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
});
export const putDataRequest = z.object({ upload: z.string().min(1).max(64), offset: fileSize, size: fileSize.optional() });
export const putCommitRequest = z.object({ upload: z.string().min(1).max(64), sha256: sha256Hex });
export const putAbortRequest = z.object({ upload: z.string().min(1).max(64) });
export const getRequest = z.object({ path: remotePath, offset: fileSize.optional(), sha256: sha256Hex.optional() });

/** Validates a request's fields, or throws `E_INVALID_PARAMS` naming what is wrong. */
export function parseFields<T extends z.ZodType>(schema: T, header: Record<string, unknown>): z.infer<T> {
  const result = schema.safeParse(header);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "header"}: ${issue.message}`);
  throw new WharfError(FileErrorCode.INVALID_PARAMS, `bad ${String(header.type)} request: ${problems.join("; ")}`);
}
