import type { FilesClient } from "../services/files/client.js";
import type { CompareGroup } from "../services/files/requests.js";
import { WharfError } from "../wire/index.js";
import type { LocalTreeEntry } from "./local-tree.js";

/**
 * Entries per `files.compare` request. Small enough that the server's answer to the last one (looked up after the
 * walk ends) costs a few ms, large enough that a 10,000-entry tree is about twenty requests.
 */
const BATCH = 512;

/** What the server said of a walked tree: whether the target folder exists, and which entries it lacks. */
export interface ComparedTree {
  baseIsDir: boolean;
  /**
   * Positions in the walk's array, ascending, of the entries to act on: those the server lacks (files to send,
   * folders to make) and those that are neither a file nor a folder (to be reported as skipped).
   */
  work: number[];
  /** The files compared, and their bytes, the ones to send included. */
  files: number;
  bytes: number;
}

/**
 * `put -r`'s quick check done by the server (`files.compare`), fed by the local walk as it goes: each run of
 * entries the walk reports joins the request being filled, a request holds BATCH entries (the last one fewer),
 * and it leaves as soon as it is full and the connection is logged in, so the server looks its side up while
 * this side still walks. Symlinks and other entries that are neither files nor folders are not sent (the put
 * skips them). {@link result} resolves null when the server does not know the request type (a server from
 * before it): the caller then lists the server's tree.
 *
 * @example
 * ```ts
 * const comparison = new TreeComparison("backup");
 * const walked = walkLocalTree("photos", "backup", undefined, comparison.onRun);
 * comparison.attach(files);
 * const entries = await walked;
 * const compared = await comparison.result(); // null: an older server, compare with files.list instead
 * ```
 */
export class TreeComparison {
  readonly #remote: string;
  #files: FilesClient | undefined;
  /** The request being filled: its groups, and the walk's positions of its entries in body order. */
  #groups: CompareGroup[] = [];
  #positions: number[] = [];
  /** Requests filled and not sent yet (the connection is not logged in yet). */
  readonly #ready: { groups: CompareGroup[]; positions: number[] }[] = [];
  readonly #replies: Promise<void>[] = [];
  #unsupported = false;
  #failure: unknown;
  #baseIsDir = false;
  readonly #differ: number[] = [];
  /** Positions of the entries that are neither files nor folders, ascending. */
  readonly #others: number[] = [];
  #fileCount = 0;
  #byteCount = 0;

  /** `remote`: the server's folder the walked tree goes to. */
  constructor(remote: string) {
    this.#remote = remote;
  }

  /** The walk's hook (walkLocalTree's `onRun`). A run longer than what a request holds goes in several groups. */
  readonly onRun = (folder: string, entries: LocalTreeEntry[], start: number, end: number): void => {
    let group: CompareGroup | null = null;
    for (let i = start; i < end; i += 1) {
      const entry = entries[i];
      if (entry.kind === "other") {
        this.#others.push(i);
        continue;
      }
      if (group === null) {
        group = [folder];
        this.#groups.push(group);
      }
      if (entry.kind === "dir") group.push(entry.name);
      else {
        group.push([entry.name, entry.size, entry.mtimeMs]);
        this.#fileCount += 1;
        this.#byteCount += entry.size;
      }
      this.#positions.push(i);
      if (this.#positions.length >= BATCH) {
        this.#close();
        group = null;
      }
    }
    this.#send();
  };

  /** Starts sending, on a logged-in connection: the requests the walk filled so far leave now. */
  attach(files: FilesClient): void {
    this.#files = files;
    this.#send();
  }

  /**
   * After the walk: sends what is left and waits for every answer. Null when the server does not know
   * `files.compare`; rejects with the server's error otherwise.
   */
  async result(): Promise<ComparedTree | null> {
    if (this.#files === undefined) throw new Error("TreeComparison.result() before attach()");
    if (this.#positions.length > 0 || (this.#replies.length === 0 && this.#ready.length === 0)) this.#close(); // one request at least: it says whether the folder exists
    this.#send();
    await Promise.all(this.#replies);
    if (this.#unsupported) return null;
    if (this.#failure !== undefined) throw this.#failure;
    // Each answer's positions ascend, but answers may come in any order: one sort of what differs, usually nothing.
    const work = this.#differ.concat(this.#others).sort((a, b) => a - b);
    return { baseIsDir: this.#baseIsDir, work, files: this.#fileCount, bytes: this.#byteCount };
  }

  /** The request being filled is full (or the walk is over): it waits for the connection. */
  #close(): void {
    this.#ready.push({ groups: this.#groups, positions: this.#positions });
    this.#groups = [];
    this.#positions = [];
  }

  #send(): void {
    const files = this.#files;
    if (files === undefined) return;
    for (const { groups, positions } of this.#ready.splice(0)) {
      if (this.#unsupported) return;
      this.#replies.push(
        files.compare(this.#remote, groups).then(
          (answer) => {
            this.#baseIsDir = answer.baseIsDir;
            for (const at of answer.differ) {
              const position = positions[at];
              if (position === undefined) throw new Error(`files.compare answered position ${at} of ${positions.length}`);
              this.#differ.push(position);
            }
          },
          (err: unknown) => {
            if (err instanceof WharfError && err.code === "E_UNKNOWN_TYPE") this.#unsupported = true;
            else this.#failure ??= err;
          },
        ).catch((err: unknown) => {
          this.#failure ??= err;
        }),
      );
    }
  }
}
