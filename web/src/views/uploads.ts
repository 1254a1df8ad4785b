/**
 * The uploads of the Files page, one line each: a progressbar, the rate, and the verified hash when done. Uploads
 * use the resumable, verified protocol of `wharf put` (the library hashes as it sends); picking the same file
 * again after a reload or a drop resumes from what the server already has.
 */
import { FilesClient } from "wharf/browser";
import { describeError, el, errorCode, formatBytes, formatRate } from "../dom.js";
import type { Session } from "../session.js";
import { joinPath } from "./file-list.js";

/** How long a new upload waits for the server to let go of the name an interrupted one held (E_BUSY). */
const BUSY_RETRY_MS = 15_000;

/** The list of uploads under way and done. */
export class UploadList {
  readonly element: HTMLElement;
  #session: Session;
  #folder: () => string;
  #done: () => void;
  #list: HTMLUListElement;
  #aborts = new Set<AbortController>();
  #quotaListeners = new Set<(text: string) => void>();
  #queue: Promise<void> = Promise.resolve();

  constructor(session: Session, folder: () => string, done: () => void) {
    this.#session = session;
    this.#folder = folder;
    this.#done = done;
    this.#list = el("ul", { class: "uploads", "aria-label": "Uploads" });
    this.element = this.#list;
  }

  /** Told the user's quota when an upload is refused for it. */
  onQuota(listener: (text: string) => void): void {
    this.#quotaListeners.add(listener);
  }

  /** Queues `files` for upload into the current folder (one after another on the page's one connection). */
  start(files: File[]): void {
    const folder = this.#folder();
    for (const file of files) {
      const line = this.#line(file);
      this.#queue = this.#queue.then(() => this.#upload(file, joinPath(folder, file.name), line));
    }
  }

  /** Stops every upload (their partials stay on the server for a resume). */
  dispose(): void {
    for (const abort of this.#aborts) abort.abort();
  }

  #line(file: File): { progress: HTMLProgressElement; rate: HTMLElement; result: HTMLElement; item: HTMLLIElement } {
    const progress = el("progress", { max: Math.max(file.size, 1), value: 0, "aria-label": `Upload ${file.name}` });
    const rate = el("span", { class: "rate" }, "waiting");
    const result = el("span", { class: "result", role: "status" });
    const item = el("li", { class: "upload", "data-name": file.name }, el("span", { class: "upload-name" }, file.name), progress, rate, result);
    this.#list.prepend(item);
    return { progress, rate, result, item };
  }

  async #upload(file: File, remote: string, line: { progress: HTMLProgressElement; rate: HTMLElement; result: HTMLElement; item: HTMLLIElement }): Promise<void> {
    const abort = new AbortController();
    this.#aborts.add(abort);
    const deadline = Date.now() + BUSY_RETRY_MS;
    try {
      for (;;) {
        const conn = this.#session.connection;
        if (conn === null) throw new Error("Not connected to the server; pick the file again once reconnected to resume.");
        try {
          line.rate.textContent = "starting";
          const started = performance.now();
          const reply = await new FilesClient(conn).upload(file, remote, {
            signal: abort.signal,
            onProgress: ({ sent, total, rate }) => {
              line.progress.max = Math.max(total, 1);
              line.progress.value = sent;
              line.rate.textContent = `${formatBytes(sent)} of ${formatBytes(total)}, ${formatRate(rate)}`;
            },
          });
          const seconds = (performance.now() - started) / 1000;
          line.progress.max = Math.max(reply.size, 1);
          line.progress.value = Math.max(reply.size, 1);
          line.rate.textContent = `${formatBytes(reply.size)} in ${seconds.toFixed(1)} s, ${formatRate(reply.sent / Math.max(seconds, 0.001))}`;
          const resumed = reply.resumedFrom > 0 ? `, resumed from ${reply.resumedFrom} bytes` : "";
          line.result.textContent = `Uploaded, verified ${reply.hash}${resumed}`;
          line.item.dataset.state = "done";
          line.item.dataset.hash = reply.hash;
          line.item.dataset.resumedFrom = String(reply.resumedFrom);
          this.#done();
          return;
        } catch (err) {
          // A reload cuts the previous upload's connection; the server lets go of its name a moment later.
          if (errorCode(err) === "E_BUSY" && Date.now() < deadline) {
            line.rate.textContent = "waiting for the server to release the name";
            await new Promise((resolve) => setTimeout(resolve, 500));
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      line.item.dataset.state = "failed";
      if (line.progress.value === 0) line.rate.textContent = "";
      line.result.textContent = `Failed: ${describeError(err)}`;
      if (errorCode(err) === "E_QUOTA") {
        const data = (err as { data?: { quota?: number; used?: number } }).data;
        if (typeof data?.quota === "number") {
          for (const listener of this.#quotaListeners) listener(`quota ${formatBytes(data.quota)} (${formatBytes(data.used ?? 0)} used)`);
        }
      }
    } finally {
      this.#aborts.delete(abort);
    }
  }
}
