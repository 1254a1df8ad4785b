import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { z } from "zod";
import type { Handler } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { DEFAULT_LINK_TTL, DownloadLinks, MAX_LINK_TTL } from "../../gateway/download-links.js";
import { FileErrorCode, fsFailure } from "./errors.js";
import { formatHash } from "./hash.js";
import { userHome, type FilesDeps } from "./home.js";
import { parseFields } from "./messages.js";
import { normalizeRemotePath, resolveInHome } from "./remote-path.js";

/** `files.link {path, ttl?}`: `ttl` in ms, at least 1; more than {@link MAX_LINK_TTL} is cut to it. */
const linkRequest = z.object({
  path: z.string().max(4096),
  ttl: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * The handler of `files.link {path, ttl?}` → `{ url: "/dl/<token>", expires, path, fileSize, hash }`: a download
 * link for one file of the logged-in user, resolved in their home exactly as `files.get` resolves it (symlinks
 * inside the home followed, anything leaving it refused with `E_PATH`). The link carries the file's recorded content
 * hash, so it stops working when the file changes; it expires after `ttl` ms (default 10 minutes, at most 24
 * hours). Served over HTTP by the gateway's download route (src/gateway/download-route.ts).
 *
 * @example
 * ```ts
 * server.handle(FileRequest.LINK, linkHandler(files));
 * // client: { type: "files.link", id: 7, path: "docs/report.pdf" } → { url: "/dl/eyJ1Ijo…", expires: 1764550000000, … }
 * ```
 */
export function linkHandler(deps: FilesDeps): Handler {
  const links = new DownloadLinks(deps.layout.dataDir);
  return async (header, _body, ctx) => {
    const { account, realHome, meta } = await userHome(deps, ctx);
    const fields = parseFields(linkRequest, header);
    const rel = normalizeRemotePath(fields.path);
    const ttl = Math.min(fields.ttl ?? DEFAULT_LINK_TTL, MAX_LINK_TTL);
    let file: FileHandle | undefined;
    try {
      const target = await resolveInHome(realHome, rel, { followFinal: true });
      if (target.stat === null) throw new WharfError(FileErrorCode.NOT_FOUND, `${rel}: no such file`);
      if (!target.stat.isFile()) throw new WharfError(FileErrorCode.IS_DIR, `${rel}: is a directory: a link is for one file`);
      file = await open(target.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      const info = await file.stat({ bigint: true });
      if (!info.isFile()) throw new WharfError(FileErrorCode.IS_DIR, `${rel}: is not a regular file`);
      const { algorithm, hex } = await meta.hashOf(file, info, undefined, ctx.signal);
      const hash = formatHash(algorithm, hex);
      const { token, expires } = await links.sign({ user: account.name, path: rel, hash, expires: Date.now() + ttl });
      return { header: { url: `/dl/${token}`, expires, path: rel, fileSize: Number(info.size), hash } };
    } catch (err) {
      throw fsFailure(err, rel);
    } finally {
      await file?.close();
    }
  };
}
