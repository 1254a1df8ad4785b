import type { Connection } from "../../client/index.js";
import type { PutOptions, TransferOptions, TransferResult } from "./client-put.js";
import { FileRequest, type CompareGroup, type CompareResult, type FileEntry } from "./requests.js";

/**
 * The files service from a logged-in connection: every path is relative to the user's home on the server.
 * Failures reject with a WharfError (`E_PATH`, `E_NOT_FOUND`, `E_QUOTA`, `E_BUSY`, `E_INTEGRITY`... see
 * docs/errors.md).
 *
 * @example
 * ```ts
 * import { connect } from "wharf/client";
 * import { FilesClient, login } from "wharf/files";
 * const conn = await connect("tcp://127.0.0.1:9000");
 * await login(conn, "alice", process.env.WHARF_PASSWORD ?? "");
 * const files = new FilesClient(conn);
 * const put = await files.put("./big.iso", "isos/big.iso", { onProgress: (p) => console.log(p.done, p.total) });
 * console.log(put.sha256, put.resumedFrom);
 * for (const entry of await files.list("isos")) console.log(entry.name, entry.size);
 * await files.get("isos/big.iso", "./copy.iso");
 * ```
 */
export class FilesClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /**
   * One entry; with `hash` a file's recorded hash as `"ALG:HEX"`, with `sha256` its sha256 (either computed on the
   * server if it had none recorded).
   */
  async stat(path: string, options: { sha256?: boolean; hash?: boolean } = {}): Promise<FileEntry> {
    const reply = await this.#conn.request(FileRequest.STAT, { path, sha256: options.sha256 === true, hash: options.hash === true });
    return reply.header.entry as FileEntry;
  }

  /** The entries of a folder (all below it with `recursive`), or of one file. */
  async list(path = "", options: { recursive?: boolean; sha256?: boolean; hash?: boolean } = {}): Promise<FileEntry[]> {
    const entries: FileEntry[] = [];
    await this.#conn.request(
      FileRequest.LIST,
      { path, recursive: options.recursive === true, sha256: options.sha256 === true, hash: options.hash === true },
      undefined,
      { onFrame: (_header, body) => void entries.push(...(JSON.parse(body.toString("utf8")) as FileEntry[])) },
    );
    return entries;
  }

  /**
   * rsync's quick check, done by the server: which of these local entries (grouped by folder, relative to `path`)
   * the server does not hold as sent under `path`, by their positions in `groups` (see {@link CompareGroup}). A
   * `path` that does not exist is no error: `baseIsDir` is then false and every entry differs. At most
   * COMPARE_MAX_ENTRIES entries and groups per call. A server from before this request type rejects it with
   * `E_UNKNOWN_TYPE`.
   *
   * @example
   * ```ts
   * const { differ } = await files.compare("backup", [["", "photos", ["notes.txt", 120, 1717236000000]], ["photos", ["cat.jpg", 5120, 1717236000000]]]);
   * // differ: [2] when only photos/cat.jpg is missing or changed on the server
   * ```
   */
  async compare(path: string, groups: CompareGroup[]): Promise<CompareResult> {
    const reply = await this.#conn.request(FileRequest.COMPARE, { path }, Buffer.from(JSON.stringify(groups)));
    return { baseIsDir: reply.header.baseIsDir === true, differ: JSON.parse(reply.body.toString("utf8")) as number[] };
  }

  /** Makes a folder; with `parents`, also its missing parents, and an existing folder is fine. */
  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<{ path: string }> {
    const reply = await this.#conn.request(FileRequest.MKDIR, { path, parents: options.parents === true });
    return { path: String(reply.header.path) };
  }

  /** Removes a file, a symlink, an empty folder, or with `recursive` a folder and everything in it. */
  async rm(path: string, options: { recursive?: boolean } = {}): Promise<{ path: string; files: number }> {
    const reply = await this.#conn.request(FileRequest.RM, { path, recursive: options.recursive === true });
    return { path: String(reply.header.path), files: Number(reply.header.files) };
  }

  /** Moves or renames; into `to` when it is a folder. A file at `to` is replaced. */
  async mv(from: string, to: string): Promise<{ from: string; to: string }> {
    const reply = await this.#conn.request(FileRequest.MV, { from, to });
    return { from: String(reply.header.from), to: String(reply.header.to) };
  }

  /**
   * Uploads a local file to `remote`, resuming an interrupted upload of the same file to the same name, and
   * verified end to end by BLAKE3 (or sha256, `options.hash`). The file appears on the server whole or not at all.
   */
  async put(local: string, remote: string, options?: PutOptions): Promise<TransferResult> {
    // The transfer modules (and the hashes, and with them node:crypto) load with the first transfer: a listing,
    // a stat or a `put -r` that finds everything already there does without them (issue 15).
    const { putFile } = await import("./client-put.js");
    return putFile(this.#conn, local, remote, options);
  }

  /**
   * Downloads `remote` into the local path `local`, resuming an interrupted download of the same content, and
   * verified end to end with the hash the file was stored with. `local` is replaced only once the whole file is verified and on disk.
   */
  async get(remote: string, local: string, options?: TransferOptions): Promise<TransferResult> {
    const { getFile } = await import("./client-get.js");
    return getFile(this.#conn, remote, local, options);
  }
}
