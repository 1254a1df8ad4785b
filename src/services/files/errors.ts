import { WharfError } from "../../wire/index.js";

/** Error codes of the files service (see docs/errors.md). */
export const FileErrorCode = {
  /** A remote path that is absolute, leaves the home with `..`, holds a NUL byte, uses a reserved name, or
   * goes through a symlink that points outside the home. */
  PATH: "E_PATH",
  /** No such file or directory. */
  NOT_FOUND: "E_NOT_FOUND",
  /** Something already exists at that path. */
  EXISTS: "E_EXISTS",
  /** A directory that is not empty (rm without recursive). */
  NOT_EMPTY: "E_NOT_EMPTY",
  /** A directory where a file is needed. */
  IS_DIR: "E_IS_DIR",
  /** A file where a directory is needed. */
  NOT_DIR: "E_NOT_DIR",
  /** The upload would take the user over their quota; nothing was stored. */
  QUOTA: "E_QUOTA",
  /** The disk is full; a partial upload is kept for a later resume. */
  NO_SPACE: "E_NO_SPACE",
  /** Another upload to the same name is in progress. */
  BUSY: "E_BUSY",
  /** The sha256 of what was received differs from the sender's; nothing was stored. */
  INTEGRITY: "E_INTEGRITY",
  /** Request fields that are missing or of the wrong type, or an unknown upload. */
  INVALID_PARAMS: "E_INVALID_PARAMS",
} as const;

const ERRNO_CODES: Record<string, { code: string; text: string }> = {
  ENOENT: { code: FileErrorCode.NOT_FOUND, text: "no such file or directory" },
  EEXIST: { code: FileErrorCode.EXISTS, text: "already exists" },
  ENOTEMPTY: { code: FileErrorCode.NOT_EMPTY, text: "directory not empty" },
  EISDIR: { code: FileErrorCode.IS_DIR, text: "is a directory" },
  ENOTDIR: { code: FileErrorCode.NOT_DIR, text: "not a directory" },
  ENOSPC: { code: FileErrorCode.NO_SPACE, text: "no space left on the server's disk" },
  EDQUOT: { code: FileErrorCode.NO_SPACE, text: "the server's disk quota is exhausted" },
  ELOOP: { code: FileErrorCode.PATH, text: "a symlink is in the way" },
  ENAMETOOLONG: { code: FileErrorCode.PATH, text: "name too long" },
};

/**
 * Turns a file system error into the WharfError a client should see, naming the remote path (never the server's
 * absolute path). Errors without a mapping are returned unchanged, so they reply `E_INTERNAL` and are logged.
 */
export function fsFailure(err: unknown, remotePath: string): unknown {
  if (err instanceof WharfError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const mapped = errno === undefined ? undefined : ERRNO_CODES[errno];
  if (mapped === undefined) return err;
  return new WharfError(mapped.code, `${remotePath === "" ? "(home)" : remotePath}: ${mapped.text}`, { cause: err });
}

/** True for errors meaning the disk is full. */
export function isNoSpace(err: unknown): boolean {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  return errno === "ENOSPC" || errno === "EDQUOT";
}
