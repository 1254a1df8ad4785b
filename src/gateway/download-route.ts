import { constants } from "node:fs";
import { open, realpath, type FileHandle } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { pino, type Logger } from "pino";
import { AccountStore } from "../services/accounts/index.js";
import { FileLayout } from "../services/files/layout.js";
import { parseHash } from "../services/files/hash.js";
import { MetaStore } from "../services/files/meta.js";
import { normalizeRemotePath, resolveInHome } from "../services/files/remote-path.js";
import { DownloadLinks, type LinkGrant } from "./download-links.js";
import type { RouteHandler } from "./http-gateway.js";
import { attachment, noneMatch, parseRange, rangeStillValid } from "./http-range.js";

/** Options of {@link downloadRoute}. */
export interface DownloadRouteOptions {
  /** The data folder of the files service: homes and the link key live there. */
  dataDir: string;
  /** The users; default: the store of `dataDir`. A link of a user removed since is refused. */
  accounts?: AccountStore;
  /** Default: silent. */
  logger?: Logger;
  /** The prefix the route is registered under; default "/dl/". */
  prefix?: string;
}


/** A refusal with its status: the body is this short text, never a stack. */
class Refusal {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {}
}

const READ_CHUNK = 256 * 1024;

/**
 * The handler of `GET|HEAD /dl/<token>`: serves the one file a `files.link` token grants, as browsers expect of
 * a download: `ETag` (the content hash, quoted: `"blake3:HEX"`), `Content-Length`, `Accept-Ranges: bytes`,
 * `Content-Disposition: attachment` with the file's name, a single `Range` answered 206 (416 when unsatisfiable;
 * several ranges get the whole file), `If-Range`, and `If-None-Match` answered 304. The file is streamed from
 * disk with backpressure. A forged or malformed token gets 404, an expired one 410, and a link whose file was
 * changed, moved or removed since it was made 410 or 404, each with a one-line text body. Other methods get 405.
 *
 * @example
 * ```ts
 * gateway.route("/dl/", downloadRoute({ dataDir, accounts, logger }));
 * ```
 */
export function downloadRoute(options: DownloadRouteOptions): RouteHandler {
  if (typeof options?.dataDir !== "string") throw new TypeError("options.dataDir must be the data folder's path");
  const prefix = options.prefix ?? "/dl/";
  const links = new DownloadLinks(options.dataDir);
  const layout = new FileLayout(options.dataDir);
  const accounts = options.accounts ?? new AccountStore(options.dataDir);
  const logger = (options.logger ?? pino({ level: "silent" })).child({ route: prefix });
  return (req, res) => {
    serveDownload(req, res, { prefix, links, layout, accounts }).catch((err: unknown) => {
      if (err instanceof Refusal) return sendText(res, err.status, err.text);
      if (res.headersSent) {
        // Mostly a client that went away mid-file (a paused or cancelled browser download): nothing to answer.
        logger.debug({ err }, "download ended early");
        res.destroy();
        return;
      }
      logger.error({ err }, "download failed");
      sendText(res, 500, "internal error");
    });
  };
}

interface DownloadDeps {
  prefix: string;
  links: DownloadLinks;
  layout: FileLayout;
  accounts: AccountStore;
}

async function serveDownload(req: IncomingMessage, res: ServerResponse, deps: DownloadDeps): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    throw new Refusal(405, "method not allowed: use GET or HEAD");
  }
  const path = (req.url ?? "").split("?")[0];
  const token = path.startsWith(deps.prefix) ? path.slice(deps.prefix.length) : "";
  const check = await deps.links.verify(token);
  if (!check.ok) throw check.reason === "expired" ? new Refusal(410, "this download link has expired") : new Refusal(404, "no such download link");
  const file = await openGranted(check.grant, deps);
  try {
    await sendFile(req, res, file, check.grant);
  } finally {
    await file.handle.close().catch(() => {});
  }
}

/** The granted file, opened, if it still is what the link was made for. */
async function openGranted(grant: LinkGrant, deps: DownloadDeps): Promise<{ handle: FileHandle; size: number; etag: string }> {
  const gone = new Refusal(410, "the file of this link was changed, moved or removed since the link was made");
  const expected = parseHash(grant.hash);
  if (expected === null) throw gone;
  if ((await deps.accounts.get(grant.user)) === undefined) throw new Refusal(404, "no such download link");
  let handle: FileHandle | undefined;
  try {
    const realHome = await realpath(deps.layout.homeOf(grant.user));
    const target = await resolveInHome(realHome, normalizeRemotePath(grant.path), { followFinal: true });
    if (target.stat === null || !target.stat.isFile()) throw gone;
    handle = await open(target.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    const info = await handle.stat({ bigint: true });
    if (!info.isFile()) throw gone;
    // The record's hash when the file is unchanged since it was recorded; else it is hashed again here.
    const meta = new MetaStore(deps.layout.metaDir(realHome), expected.algorithm);
    const { hex } = await meta.hashOf(handle, info, expected.algorithm);
    if (hex !== expected.hex) throw gone;
    return { handle, size: Number(info.size), etag: `"${grant.hash}"` };
  } catch (err) {
    await handle?.close().catch(() => {});
    if (err instanceof Refusal) throw err;
    // A path that no longer resolves inside the home (removed, or a symlink now pointing out) is gone.
    throw gone;
  }
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: { handle: FileHandle; size: number; etag: string }, grant: LinkGrant): Promise<void> {
  res.setHeader("ETag", file.etag);
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Cache-Control", "private, no-store");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Content-Disposition", attachment(posix.basename(grant.path)));
  if (noneMatch(req.headers["if-none-match"], file.etag)) {
    res.writeHead(304).end();
    return;
  }
  res.setHeader("Content-Type", "application/octet-stream");
  const range = rangeStillValid(headerText(req.headers["if-range"]), file.etag) ? parseRange(headerText(req.headers.range), file.size) : { kind: "full" as const };
  if (range.kind === "unsatisfiable") {
    res.setHeader("Content-Range", `bytes */${file.size}`);
    throw new Refusal(416, "range not satisfiable");
  }
  const { start, end } = range.kind === "partial" ? range.range : { start: 0, end: file.size - 1 };
  if (range.kind === "partial") {
    res.statusCode = 206;
    res.setHeader("Content-Range", `bytes ${start}-${end}/${file.size}`);
  }
  res.setHeader("Content-Length", String(end - start + 1));
  if (req.method === "HEAD" || end < start) {
    res.end();
    return;
  }
  // pipeline() waits while the socket's buffer is full and destroys the read stream if the client goes away.
  const stream = file.handle.createReadStream({ start, end, highWaterMark: READ_CHUNK, autoClose: false });
  await pipeline(stream, res);
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

/** A short plain-text answer: what every refusal of the route sends. */
export function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of ["ETag", "Content-Disposition", "Accept-Ranges", "Content-Length"]) res.removeHeader(name);
  const body = `${text}\n`;
  res.statusCode = status;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.end(res.req?.method === "HEAD" ? undefined : body);
}
