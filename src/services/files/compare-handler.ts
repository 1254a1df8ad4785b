import { realpathSync, statSync } from "node:fs";
import type { RequestContext } from "../../server/index.js";
import { WharfError, type RequestHeader } from "../../wire/index.js";
import { briefLstat, briefOf, type BriefStat } from "./brief-lstat.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { userHome, type FilesDeps } from "./home.js";
import { compareRequest, parseFields } from "./messages.js";
import { isInsideHome, normalizeRemotePath, RESERVED_NAME, resolveInHomeSync } from "./remote-path.js";
import { COMPARE_MAX_ENTRIES, type CompareFile, type CompareGroup } from "./requests.js";

/*
 * `files.compare` (issue 15): rsync's quick check on the receiving side. A `put -r` sends what its walk found,
 * folder by folder, while it walks; the server looks up each entry where it would land and answers only the
 * positions of those it does not hold as sent. The client then decodes no listing and builds no map of the
 * server's tree (a second put of an unchanged 10,000-file tree: 0.28 to 0.26 CPU s of the client, 0.30 to 0.27 s).
 */

/** Entries looked up synchronously between two turns of the event loop (as the listing's walk does). */
const STAT_SLICE = 128;

function invalid(message: string): WharfError {
  return new WharfError(FileErrorCode.INVALID_PARAMS, `bad files.compare body: ${message}`);
}

/** A name as readdir gives it: not empty, no `/` or NUL, not `.` or `..`. */
function isName(value: unknown): value is string {
  return typeof value === "string" && value !== "" && value !== "." && value !== ".." && !value.includes("/") && !value.includes("\0");
}

function isFolder(value: unknown): value is string {
  return typeof value === "string" && value.length <= 4096 && (value === "" || value.split("/").every(isName));
}

function isFile(value: unknown): value is CompareFile {
  if (!Array.isArray(value) || value.length !== 3 || !isName(value[0])) return false;
  const [, size, mtime] = value as unknown[];
  return Number.isSafeInteger(size) && (size as number) >= 0 && typeof mtime === "number" && Number.isFinite(mtime);
}

/**
 * The body as groups, checked entry by entry: a body that is not JSON, not an array of groups, or names an entry
 * badly (a name with `/`, `..`, a negative size...) is refused whole with E_INVALID_PARAMS naming the first problem.
 */
export function parseCompareBody(body: Uint8Array | undefined): CompareGroup[] {
  if (body === undefined || body.byteLength === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw invalid("not JSON");
  }
  if (!Array.isArray(parsed)) throw invalid("must be an array of groups");
  let entries = 0;
  for (let g = 0; g < parsed.length; g += 1) {
    const group = parsed[g] as unknown;
    if (!Array.isArray(group) || group.length === 0) throw invalid(`group ${g} must be an array: [folder, ...entries]`);
    if (!isFolder(group[0])) throw invalid(`group ${g}: the folder must be a relative path of names ("" for the compared path)`);
    for (let i = 1; i < group.length; i += 1) {
      const entry = group[i] as unknown;
      if (!isName(entry) && !isFile(entry)) throw invalid(`group ${g}, entry ${i - 1}: must be a folder's name or [name, size, mtime]`);
    }
    entries += group.length; // a group's folder counts too: each one is resolved
    if (entries > COMPARE_MAX_ENTRIES) throw invalid(`more than ${COMPARE_MAX_ENTRIES} entries and groups in one request`);
  }
  return parsed as CompareGroup[];
}

/** What the server holds at `abs`, as a listing shows it: a symlink inside the home as what it points to. */
function heldAt(realHome: string, abs: string): BriefStat | undefined {
  try {
    const info = briefLstat(abs);
    if (info?.kind !== "symlink") return info;
    const real = realpathSync(abs);
    return isInsideHome(realHome, real) ? briefOf(statSync(real)) : undefined;
  } catch {
    return undefined; // a dangling link, a file where a folder was (ENOTDIR), no permission: not held as sent
  }
}

/** The real path of a folder under the compared path, or null when the server has no folder there. */
function folderAt(realHome: string, rel: string): string | null {
  try {
    const resolved = resolveInHomeSync(realHome, normalizeRemotePath(rel), { followFinal: true });
    return resolved.stat?.isDirectory() === true ? resolved.abs : null;
  } catch {
    return null; // a reserved name, a file on the way, a link out of the home: nothing there is held as sent
  }
}

/** A folder below the compared path (not `""`), as a path from the home. */
function joined(base: string, folder: string): string {
  return base === "" ? folder : `${base}/${folder}`;
}

/**
 * `files.compare {path}` + a JSON body of groups (see {@link CompareGroup}) → `{baseIsDir, count, differ}` + a JSON
 * body: the ascending positions of the entries the server does not hold as sent. `count` is the number of entries
 * compared and `differ` the length of the body's array. Read-only; the entries are looked up synchronously, at most
 * STAT_SLICE between turns of the event loop.
 */
export async function compareTree(deps: FilesDeps, header: RequestHeader, body: Uint8Array | undefined, ctx: RequestContext) {
  const { realHome } = await userHome(deps, ctx);
  const fields = parseFields(compareRequest, header);
  const base = normalizeRemotePath(fields.path);
  const groups = parseCompareBody(body);
  try {
    const baseDir = folderAt(realHome, base);
    const baseIsDir = baseDir !== null;
    const differ: number[] = [];
    let index = 0;
    let inSlice = 0;
    for (const group of groups) {
      // The compared folder itself ("") is resolved once, above; a folder below it once per group.
      const dir = !baseIsDir || group[0] === "" ? baseDir : folderAt(realHome, joined(base, group[0]));
      const prefix = dir === null ? "" : `${dir}/`;
      const atHomeRoot = dir === realHome;
      for (let i = 1; i < group.length; i += 1, index += 1) {
        if (++inSlice >= STAT_SLICE) {
          inSlice = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          ctx.signal.throwIfAborted();
        }
        const entry = group[i];
        const name = typeof entry === "string" ? entry : entry[0];
        const held = dir === null || (atHomeRoot && name === RESERVED_NAME) ? undefined : heldAt(realHome, prefix + name);
        const same =
          typeof entry === "string"
            ? held?.kind === "dir"
            : held?.kind === "file" && held.size === entry[1] && Math.abs(Math.round(held.mtimeMs) - entry[2]) < 1; // as a listing's whole ms meets the client's check
        if (!same) differ.push(index);
      }
    }
    return { header: { baseIsDir, count: index, differ: differ.length }, body: Buffer.from(JSON.stringify(differ)) };
  } catch (err) {
    throw fsFailure(err, base);
  }
}
