/**
 * Downloads through the browser's own download manager: `files.link` gives a short-lived URL `/dl/...` that
 * answers plain HTTP with Range and ETag, so the browser can pause and resume it like any download.
 */
import { FilesClient } from "wharf/browser";
import type { Session } from "../session.js";

/** Starts downloads of home files. */
export class FileLinks {
  #session: Session;

  constructor(session: Session) {
    this.#session = session;
  }

  /** Asks the server for a link to `entry` and hands it to the browser as a download named after the file. */
  async download(entry: { path: string; name: string }): Promise<string> {
    const conn = this.#session.connection;
    if (conn === null) throw new Error("Not connected to the server; reconnecting…");
    const { url } = await new FilesClient(conn).link(entry.path);
    const href = new URL(url, location.href).href;
    const anchor = document.createElement("a");
    anchor.href = href;
    anchor.download = entry.name;
    anchor.rel = "noopener";
    anchor.hidden = true;
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    return href;
  }
}
