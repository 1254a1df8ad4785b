import type { FileEntry } from "../services/files/requests.js";
import type { BrowserConnection } from "./connection.js";
import type { BlobLike } from "./types.js";
import { uploadBlob, type UploadOptions, type UploadResult } from "./upload.js";

export type { FileEntry };

const decoder = new TextDecoder();

/**
 * The files service from a logged-in browser connection: every path is relative to the user's home. The same
 * names as the Node FilesClient (`wharf/files`), with `upload` (a Blob or File, resumable and verified) for
 * `put`, and `link` (a short-lived download URL the browser fetches itself) for `get`. Failures reject with a
 * WharfError (`E_PATH`, `E_NOT_FOUND`, `E_QUOTA`, `E_BUSY`, `E_INTEGRITY`... see docs/errors.md).
 *
 * @example
 * ```ts
 * const files = new FilesClient(conn);
 * for (const entry of await files.list("")) console.log(entry.name, entry.size);
 * const done = await files.upload(input.files[0], "photos/cat.jpg", { onProgress: (p) => bar.value = p.sent / p.total });
 * location.href = (await files.link("photos/cat.jpg")).url;
 * ```
 */
export class FilesClient {
  readonly #conn: BrowserConnection;

  constructor(conn: BrowserConnection) {
    this.#conn = conn;
  }

  /** The entries of a folder (everything below it with `recursive`), or of one file; `hash` adds `"ALG:HEX"`. */
  async list(path = "", options: { recursive?: boolean; hash?: boolean } = {}): Promise<FileEntry[]> {
    const entries: FileEntry[] = [];
    await this.#conn.request(
      { type: "files.list", path, recursive: options.recursive === true, hash: options.hash === true },
      undefined,
      { onFrame: (_header, body) => void entries.push(...(JSON.parse(decoder.decode(body)) as FileEntry[])) },
    );
    return entries;
  }

  /** One entry; with `hash` its recorded content hash as `"ALG:HEX"`. */
  async stat(path: string, options: { hash?: boolean } = {}): Promise<FileEntry> {
    const { header } = await this.#conn.request({ type: "files.stat", path, hash: options.hash === true });
    return header.entry as FileEntry;
  }

  /** The user's quota in bytes, or null when there is none (what `files.stat` tells beside an entry). */
  async quota(): Promise<number | null> {
    const { header } = await this.#conn.request({ type: "files.stat", path: "" });
    return typeof header.quota === "number" ? header.quota : null;
  }

  /** Makes a folder; with `parents` its missing parents too, and an existing folder is fine. */
  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<{ path: string }> {
    const { header } = await this.#conn.request({ type: "files.mkdir", path, parents: options.parents === true });
    return { path: String(header.path) };
  }

  /** Removes a file, a symlink, an empty folder, or with `recursive` a folder and all in it. */
  async rm(path: string, options: { recursive?: boolean } = {}): Promise<{ path: string; files: number }> {
    const { header } = await this.#conn.request({ type: "files.rm", path, recursive: options.recursive === true });
    return { path: String(header.path), files: Number(header.files) };
  }

  /** Moves or renames; into `to` when it is a folder. A file at `to` is replaced. */
  async mv(from: string, to: string): Promise<{ from: string; to: string }> {
    const { header } = await this.#conn.request({ type: "files.mv", from, to });
    return { from: String(header.from), to: String(header.to) };
  }

  /**
   * A short-lived download URL for one file (`files.link`): `url` is a path such as `/dl/TOKEN` on the server's
   * HTTP port (resolve it against the server's origin), `expires` ms since the epoch. GET honours `Range`, so
   * the browser's own download manager resumes.
   */
  async link(path: string, options: { ttl?: number } = {}): Promise<{ url: string; expires: number }> {
    const fields: Record<string, unknown> = { path };
    if (options.ttl !== undefined) fields.ttl = options.ttl;
    const { header } = await this.#conn.request({ type: "files.link", ...fields });
    return { url: String(header.url), expires: Number(header.expires) };
  }

  /**
   * Uploads a Blob or File to `remotePath` with the protocol of `wharf put`: resumed from what the server kept
   * of an earlier attempt at the same file (same name, size and lastModified), hashed as it is sent, and verified
   * whole by the server before it appears. See {@link uploadBlob}.
   */
  upload(file: BlobLike, remotePath: string, options?: UploadOptions): Promise<UploadResult> {
    return uploadBlob(this.#conn, file, remotePath, options);
  }
}
