import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { writeAtomically } from "./atomic-write.js";

/**
 * A JSON file holding one versioned list, `{ "version": 1, "<key>": [...] }`, as the accounts (`users.json`) and
 * the login tokens (`tokens.json`) keep theirs: read whole, validated, and changed by read-modify-write, one
 * change at a time within this process, written atomically (a crash leaves the old or the new list, never a torn
 * one). A change made by another process is seen on the next read; a missing file is an empty list.
 *
 * @example
 * ```ts
 * const file = new JsonListFile("./wharf-data/users.json", "users", accountRecord, "user list");
 * await file.update((users) => void users.push(record));
 * ```
 */
export class JsonListFile<T> {
  readonly path: string;
  #schema: z.ZodType<Record<string, unknown>>;
  #key: string;
  #what: string;
  #writing: Promise<void> = Promise.resolve();
  /**
   * The last list read, with the identity of the file it came from. Every logged-in request re-reads the list
   * (a removed user must lose access at once), and a stat is one system call where reading is four (open,
   * fstat, read, close) plus the parse and the validation. Every write replaces the file by rename,
   * so a change, from this process or another, always shows as another inode.
   */
  #cached: { ino: number; size: number; mtimeMs: number; items: T[] } | null = null;

  /** `what` names the list in the error a malformed file gets (`... is not a wharf <what>`). */
  constructor(path: string, key: string, item: z.ZodType<T>, what: string) {
    this.path = path;
    this.#key = key;
    this.#what = what;
    this.#schema = z.object({ version: z.literal(1), [key]: z.array(item) });
  }

  /** The list as it is on disk now. The caller may change what it gets: it is a copy. */
  async read(): Promise<T[]> {
    // A synchronous stat (microseconds on the local data folder): through libuv's thread pool it was a trip per
    // logged-in request, 6% of a one-request put's server CPU (issue 15).
    const info: { ino: number; size: number; mtimeMs: number } | undefined = statSync(this.path, { throwIfNoEntry: false });
    if (info === undefined) return [];
    const cached = this.#cached;
    if (cached !== null && cached.ino === info.ino && cached.size === info.size && cached.mtimeMs === info.mtimeMs) {
      return structuredClone(cached.items);
    }
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const parsed = this.#schema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.path} is not a wharf ${this.#what}: ${parsed.error.message}`);
    const items = parsed.data[this.#key] as T[];
    // Cached only when the file did not change between the stat and the read (same size; a rename in between
    // would be caught by the next stat's inode anyway).
    if (Buffer.byteLength(text) === info.size) this.#cached = { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, items: structuredClone(items) };
    return items;
  }

  /** Reads the list, lets `change` edit it in place, writes it back; resolves what `change` returned. */
  update<R>(change: (items: T[]) => R): Promise<R> {
    const run = this.#writing.then(async () => {
      const items = await this.read();
      const result = change(items);
      await writeAtomically(this.path, `${JSON.stringify({ version: 1, [this.#key]: items }, null, 2)}\n`);
      return result;
    });
    this.#writing = run.then(() => undefined, () => undefined);
    return run;
  }
}
