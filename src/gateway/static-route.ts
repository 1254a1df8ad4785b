import { createReadStream, type Stats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { pino, type Logger } from "pino";
import { sendText } from "./download-route.js";
import type { RouteHandler } from "./http-gateway.js";

/**
 * The Content-Security-Policy of the web app. `default-src 'self'`: scripts, styles, fonts, images and the
 * WebSocket come from this origin only, and no inline script runs. `script-src 'wasm-unsafe-eval'`: lets the page
 * compile WebAssembly (the BLAKE3 hasher of uploads), which gives no way to run JavaScript from a string.
 * `style-src 'unsafe-inline'`: xterm.js and uPlot set element styles and xterm adds a `<style>` of its own; style
 * cannot run script. The rest shuts what the app does not use: plugins, `<base>`, framing, foreign form targets.
 */
export const WEB_APP_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * A file name with a content hash before its extension, as the web app's bundler writes them (`app-3F2A9C.js`,
 * `chunk-AB12CD34.css`): six or more upper-case letters and digits after the last dash. Such a name never changes
 * content, so it may be cached for a year.
 */
const HASHED_NAME = /-[A-Z0-9]{6,}\.[A-Za-z0-9]+$/;

/** Options of {@link staticRoute}. */
export interface StaticRouteOptions {
  /** Default: silent. */
  logger?: Logger;
  /** Whether a file name carries its content hash (cached as immutable); default: {@link HASHED_NAME}'s rule. */
  isHashed?: (name: string) => boolean;
}

/**
 * The handler of the fallback route "/": serves the built web app from `rootDir` (dist/web). Headers on every
 * answer: {@link WEB_APP_CSP}, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`; a Content-Type
 * by extension; `Cache-Control: public, max-age=31536000, immutable` for hashed names and `no-cache` for the rest
 * (index.html first), with an `ETag` to revalidate. GET and HEAD only (405 else). Never a directory listing: `/`
 * is index.html and every other directory is 404. A path with `..`, an encoded separator or dot segment, a NUL,
 * a dot-file, or a symlink leading out of the root is 404, as is any file not in the app. A path whose last
 * segment has no extension and names no file (`/files/docs`) is a client-side route: it gets index.html.
 *
 * @example
 * ```ts
 * gateway.route("/", staticRoute(fileURLToPath(new URL("../web", import.meta.url))));
 * ```
 */
export function staticRoute(rootDir: string, options: StaticRouteOptions = {}): RouteHandler {
  if (typeof rootDir !== "string" || rootDir.length === 0) throw new TypeError("rootDir must be the web app's folder");
  const logger = (options.logger ?? pino({ level: "silent" })).child({ route: "/" });
  const isHashed = options.isHashed ?? ((name: string) => HASHED_NAME.test(name));
  let realRoot: Promise<string> | null = null;
  return (req, res) => {
    setSecurityHeaders(res);
    serveStatic(req, res, (realRoot ??= realpath(rootDir)), isHashed).catch((err: unknown) => {
      realRoot = null; // the root may appear later (the app built after the server started)
      if (res.headersSent) {
        logger.debug({ err }, "static file ended early");
        res.destroy();
        return;
      }
      logger.error({ err }, "static file failed");
      sendText(res, 500, "internal error");
    });
  };
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader("Content-Security-Policy", WEB_APP_CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
}

async function serveStatic(req: IncomingMessage, res: ServerResponse, rootPromise: Promise<string>, isHashed: (name: string) => boolean): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return sendText(res, 405, "method not allowed: use GET or HEAD");
  }
  let root: string;
  try {
    root = await rootPromise;
  } catch {
    return sendText(res, 404, "not found (the web app is not built)");
  }
  const segments = appPath(req.url ?? "/");
  if (segments === null) return sendText(res, 404, "not found");
  const found = segments.length === 0 ? null : await fileInRoot(root, segments);
  if (found !== null) return sendFile(req, res, found, isHashed);
  const last = segments.at(-1) ?? "";
  if (segments.length === 0 || extname(last) === "") {
    // "/" and client-side routes: the app's page.
    const index = await fileInRoot(root, ["index.html"]);
    if (index !== null) return sendFile(req, res, index, isHashed);
  }
  return sendText(res, 404, "not found");
}

/**
 * The segments of a request path, decoded, or null when the path is one the app never has: not absolute, a
 * segment that decodes to or holds `/`, `\`, NUL, `.`, `..` or starts with a dot, or bad percent-encoding.
 */
function appPath(url: string): string[] | null {
  const path = url.split(/[?#]/)[0];
  if (!path.startsWith("/")) return null;
  const segments: string[] = [];
  for (const raw of path.slice(1).split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment.startsWith(".") || /[/\\\0]/.test(segment)) return null;
    segments.push(segment);
  }
  return segments;
}

/** The regular file at those segments, if its real path is inside the root; null for anything else. */
async function fileInRoot(root: string, segments: string[]): Promise<{ path: string; info: Stats } | null> {
  let real: string;
  try {
    real = await realpath(join(root, ...segments));
  } catch {
    return null;
  }
  if (!real.startsWith(root + sep)) return null;
  const info = await stat(real).catch(() => null);
  return info !== null && info.isFile() ? { path: real, info } : null;
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: { path: string; info: Stats }, isHashed: (name: string) => boolean): Promise<void> {
  const name = file.path.slice(file.path.lastIndexOf(sep) + 1);
  const etag = `W/"${file.info.size.toString(16)}-${Math.floor(file.info.mtimeMs).toString(16)}"`;
  res.setHeader("Content-Type", CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream");
  res.setHeader("Cache-Control", isHashed(name) ? "public, max-age=31536000, immutable" : "no-cache");
  res.setHeader("ETag", etag);
  res.setHeader("Last-Modified", file.info.mtime.toUTCString());
  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((tag) => tag.trim() === etag || tag.trim() === etag.slice(2) || tag.trim() === "*")) {
    res.writeHead(304).end();
    return;
  }
  res.setHeader("Content-Length", String(file.info.size));
  if (req.method === "HEAD" || file.info.size === 0) {
    res.end();
    return;
  }
  await pipeline(createReadStream(file.path), res);
}
