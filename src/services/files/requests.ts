/** The request names and entry shape of the files service: what clients need, without the server's schemas. */
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
  /** A small file whole in one request: the bytes, its hash and its mtime (issue 15). */
  PUT_FILE: "files.put.file",
  PUT_CHUNKS: "files.put.chunks",
  PUT_DELTA: "files.put.delta",
  GET: "files.get",
  /** A short-lived HTTP download link for one file (issue 13). */
  LINK: "files.link",
  /** rsync's quick check done on the server: which of the client's entries it lacks or holds otherwise (issue 15). */
  COMPARE: "files.compare",
} as const;

/** The largest file `files.put.file` takes in one request (its body is held in memory on the server): 1 MiB. */
export const PUT_FILE_MAX = 1024 * 1024;

/**
 * wharf's client puts files smaller than this in one `files.put.file` request: below the size where a delta
 * could pay (DELTA_MIN_SIZE, 256 KiB), and well inside PUT_FILE_MAX.
 */
export const PUT_FILE_BELOW = 256 * 1024;

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
  /** Hex sha256 of a file's content, when asked for with `sha256`. */
  sha256?: string;
  /** The file's recorded content hash as `"ALG:HEX"` (the algorithm it was stored with), when asked for with `hash`. */
  hash?: string;
}

/** A file in a `files.compare` body: its name, its size in bytes and its modification time (ms since the epoch). */
export type CompareFile = [name: string, size: number, mtime: number];

/**
 * One folder's entries in a `files.compare` body (docs/protocol.md): the folder, relative to the compared path
 * (`""` for the path itself, `/`-separated), then entries directly inside it, each a folder's name (a string) or a
 * file ({@link CompareFile}). A folder may appear in several groups.
 */
export type CompareGroup = [folder: string, ...entries: (string | CompareFile)[]];

/** The most entries (files and folders) and groups, counted together, one `files.compare` request may hold. */
export const COMPARE_MAX_ENTRIES = 100_000;

/** What `files.compare` answers. */
export interface CompareResult {
  /** Whether the compared path is a folder on the server (when not, every entry is in `differ`). */
  baseIsDir: boolean;
  /**
   * The positions (0-based, counting the body's entries in order, folders' names of groups not counted) of the
   * entries the server does not hold as sent: a folder that is not a folder there, a file that is not a regular
   * file there of the same size and modification time (within a millisecond). Ascending.
   */
  differ: number[];
}
