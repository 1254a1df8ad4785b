import type { IncomingMessage } from "node:http";

/**
 * Whether a WebSocket upgrade may proceed, as far as its `Origin` goes: the page's own origin (the scheme and
 * `Host` this request came to), one of `allowed`, or no `Origin` at all (a program, not a browser: browsers
 * always send one, so a page elsewhere cannot open a socket that would carry its visitor's authority). This is
 * what stops cross-site WebSocket hijacking; no cookie carries authority here either.
 */
export function allowedOrigin(req: IncomingMessage, tls: boolean, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const normalized = origin.trim().replace(/\/+$/, "").toLowerCase();
  const host = req.headers.host?.trim().toLowerCase();
  if (host !== undefined && normalized === `${tls ? "https" : "http"}://${host}`) return true;
  return allowed.has(normalized);
}
