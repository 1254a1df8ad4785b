import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { writeAtomically } from "../shared/atomic-write.js";
import type { ChatMessage } from "./messages.js";

/** A message as one line of a room's history file. */
interface StoredLine {
  msgId: number;
  ts: number;
  from: string;
  text: string;
  cid?: string;
}

function toLine(message: ChatMessage): string {
  const line: StoredLine = { msgId: message.msgId, ts: message.ts, from: message.from, text: message.text };
  if (message.cid !== undefined) line.cid = message.cid;
  return `${JSON.stringify(line)}\n`;
}

/**
 * The history file of one room: JSON lines, appended in msgId order. Appends never block the caller: lines queue
 * and one write at a time takes everything queued. When the file passes 2 × `keep` lines it is rewritten with the
 * last `keep` (atomically: temp file and rename). Nothing is fsynced per message (see docs/chat.md for what a
 * crash may lose); a clean stop awaits {@link flush} through the chat service's close().
 */
export class HistoryLog {
  readonly path: string;
  readonly keep: number;
  #logger: Logger;
  #queued: ChatMessage[] = [];
  #inFlight: ChatMessage[] = [];
  #writing: Promise<void> | null = null;
  #linesInFile = 0;
  /** Gives the newest messages (up to `keep`) when the file is compacted. */
  #latest: () => ChatMessage[];

  constructor(path: string, keep: number, logger: Logger, latest: () => ChatMessage[]) {
    this.path = path;
    this.keep = keep;
    this.#logger = logger;
    this.#latest = latest;
  }

  /**
   * Reads the file: the last `keep` messages, in order. Torn or repeated lines (a crash mid-write, or a file
   * written by an older wharf whose exit flush raced a write) are skipped. Compacts the file when it holds more than `keep` lines.
   */
  async load(room: string): Promise<ChatMessage[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const messages: ChatMessage[] = [];
    let lines = 0;
    let last = 0;
    for (const line of text.split("\n")) {
      if (line.length === 0) continue;
      lines += 1;
      let stored: StoredLine;
      try {
        stored = JSON.parse(line) as StoredLine;
      } catch {
        continue;
      }
      if (!Number.isSafeInteger(stored.msgId) || stored.msgId <= last || typeof stored.text !== "string" || typeof stored.from !== "string") continue;
      last = stored.msgId;
      messages.push({ ...stored, room, body: Buffer.from(stored.text) });
    }
    const kept = messages.slice(-this.keep);
    this.#linesInFile = lines;
    if (lines > kept.length) await this.#rewrite(kept);
    return kept;
  }

  /** Queues a message for the file; written soon, in order. */
  append(message: ChatMessage): void {
    this.#queued.push(message);
    this.#writing ??= this.#drain();
  }

  /** Resolves when everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queued.length > 0) {
        this.#inFlight = this.#queued;
        this.#queued = [];
        try {
          await mkdir(dirname(this.path), { recursive: true });
          if (this.#linesInFile + this.#inFlight.length > 2 * this.keep) {
            const upTo = this.#inFlight[this.#inFlight.length - 1].msgId;
            await this.#rewrite(this.#latest().filter((m) => m.msgId <= upTo));
          } else {
            await appendFile(this.path, this.#inFlight.map(toLine).join(""));
            this.#linesInFile += this.#inFlight.length;
          }
        } catch (err) {
          this.#logger.error({ err, path: this.path }, "chat history write failed; these messages stay only in memory");
        }
        this.#inFlight = [];
      }
    } finally {
      this.#writing = null;
    }
  }

  async #rewrite(messages: ChatMessage[]): Promise<void> {
    await writeAtomically(this.path, messages.map(toLine).join(""));
    this.#linesInFile = messages.length;
  }
}
