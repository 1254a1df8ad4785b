/** Reading folders of the home over the wire (`files.list`), for the Files page. */
import type { BrowserConnection } from "wharf/browser";

/** An entry of a `files.list` reply (docs/protocol.md, Files). */
export interface FileEntry {
  path: string;
  name: string;
  type: "file" | "dir";
  size: number;
  mtime: number;
  hash?: string;
  sha256?: string;
}

/** Lists a folder with each file's recorded content hash, collecting the streamed pages of entries. */
export async function listFolder(conn: BrowserConnection, path: string, recursive = false): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  const decoder = new TextDecoder();
  const onFrame = (header: { [k: string]: unknown }, body: Uint8Array): void => {
    if (header.more === true && body.byteLength > 0) entries.push(...(JSON.parse(decoder.decode(body)) as FileEntry[]));
  };
  await conn.request({ type: "files.list", path, hash: true, recursive }, undefined, { onFrame });
  return entries;
}

/** Joins a folder path and a name (`""` is the home). */
export function joinPath(folder: string, name: string): string {
  return folder === "" ? name : `${folder}/${name}`;
}
