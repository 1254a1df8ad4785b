import { pino, type Logger } from "pino";
import type { Server } from "../../server/index.js";
import { AccountStore } from "../accounts/index.js";
import type { ServiceDeps } from "../index.js";
import { once, typesAdded, type Service } from "../service.js";
import { compareTree } from "./compare-handler.js";
import { receiveDelta, sendBaseChunks } from "./delta-upload.js";
import { sendDownload } from "./download-handler.js";
import type { FilesDeps as HandlerDeps } from "./home.js";
import { setChunkerFallbackReporter } from "./chunker-wasm.js";
import { defaultAlgorithm, setHashFallbackReporter, type HashAlgorithm } from "./hash.js";
import { FileLayout } from "./layout.js";
import { linkHandler } from "./link-handler.js";
import { FileRequest } from "./requests.js";
import { sweepPartials } from "./partials.js";
import { fileNameLocks, type NameLocks } from "./lock-file.js";
import { putWholeFile } from "./put-file-handler.js";
import { listPath, makeDirectory, movePath, removePath, statPath } from "./tree-handlers.js";
import { commitUpload } from "./upload-commit.js";
import { abortUpload, beginUpload, endOpenUploads, receiveUpload, type OpenUploads } from "./upload-handlers.js";

/** How long an untouched partial upload is kept by default: the same as `wharf serve --partial-ttl`. */
const DEFAULT_PARTIAL_TTL = 24 * 3600_000;

/** The running files service: its data layout, and its partial-upload sweeper. */
export interface FilesService extends Service {
  readonly name: "files";
  readonly layout: FileLayout;
  /** Deletes expired partial uploads now; resolves how many. */
  sweep(): Promise<number>;
  /**
   * Stops the periodic sweep (and awaits one that runs), then ends every upload still open: their locks are
   * released and their partials kept, so the clients can resume against the next server. Idempotent.
   */
  close(): Promise<void>;
}

/** What {@link registerFiles} needs; `wharf serve`'s {@link ServiceDeps} has all of it. */
export interface FilesDeps {
  /** The data folder: homes are `<dataDir>/homes/<user>`. */
  dataDir: string;
  /** The users, who log in with `registerAuth` on the same server. */
  accounts: AccountStore;
  /** Default: silent. */
  logger?: Logger;
  /**
   * `partialTtl`: partial uploads untouched this long (ms) are deleted; default 24 hours. `hash`: the algorithm
   * used when a client leaves the choice open and for files without a record (default BLAKE3, sha256 where
   * BLAKE3 cannot load).
   */
  config?: { partialTtl?: number; hash?: HashAlgorithm };
  /** Upload name locks; default lock files beside the partials (`wharf serve --redis`: Redis leases). */
  nameLocks?: NameLocks;
}

/** Options of {@link registerFiles}. */
export interface FilesOptions {
  /**
   * An upload that gets no request and no byte for this long (ms) is ended, keeping its bytes, so that a client
   * cut off by the network (whose connection never closes) does not keep the name busy. Default 60,000.
   */
  stallTimeout?: number;
}

/**
 * Adds the files service (docs/files.md) to a server: `files.stat`, `files.list`, `files.mkdir`, `files.rm`,
 * `files.mv`, `files.put.begin|data|commit|abort`, `files.put.file`, `files.compare` and `files.get`, all acting inside the logged-in user's home.
 * Expired partial uploads (`config.partialTtl`) are swept at once and then periodically. Users log in with the
 * `auth` request type: register it with {@link registerAuth} on the same server and the same accounts.
 *
 * @example
 * ```ts
 * const server = new Server();
 * const accounts = new AccountStore(dataDir);
 * const auth = registerAuth(server, accounts);
 * const files = registerFiles(server, { dataDir, accounts });
 * // ... on shutdown
 * await server.close();
 * await files.close();
 * ```
 */
export function registerFiles(server: Server, deps: FilesDeps, options: FilesOptions = {}): FilesService {
  const stallTimeout = options.stallTimeout ?? 60_000;
  if (!Number.isSafeInteger(stallTimeout) || stallTimeout <= 0) throw new RangeError("options.stallTimeout must be a positive integer (ms)");
  if (typeof deps?.dataDir !== "string") throw new TypeError("deps.dataDir must be the data folder's path");
  if (!(deps.accounts instanceof AccountStore)) throw new TypeError("deps.accounts must be an AccountStore");
  const partialTtl = deps.config?.partialTtl ?? DEFAULT_PARTIAL_TTL;
  const layout = new FileLayout(deps.dataDir);
  const logger = (deps.logger ?? pino({ level: "silent" })).child({ service: "files" });
  const openUploads: OpenUploads = new Set();
  setHashFallbackReporter((reason) => logger.warn({ reason }, "BLAKE3 is not available; hashing with sha256"));
  setChunkerFallbackReporter((reason) => logger.warn({ reason }, "the WebAssembly chunker is not available; chunking in JavaScript"));
  const wanted = deps.config?.hash ?? defaultAlgorithm();
  if (wanted !== "blake3" && wanted !== "sha256") throw new RangeError("deps.config.hash must be blake3 or sha256");
  const defaultHash = wanted === "blake3" ? defaultAlgorithm() : "sha256";
  const locks = deps.nameLocks ?? fileNameLocks;
  const files: HandlerDeps = { layout, accounts: deps.accounts, logger, partialTtl, stallTimeout, openUploads, defaultHash, locks };
  const types = typesAdded(server, () => {
    server.handle(FileRequest.STAT, (header, _body, ctx) => statPath(files, header, ctx));
    server.handle(FileRequest.LIST, (header, _body, ctx) => listPath(files, header, ctx));
    server.handle(FileRequest.MKDIR, (header, _body, ctx) => makeDirectory(files, header, ctx));
    server.handle(FileRequest.RM, (header, _body, ctx) => removePath(files, header, ctx));
    server.handle(FileRequest.MV, (header, _body, ctx) => movePath(files, header, ctx));
    server.handle(FileRequest.PUT_BEGIN, (header, _body, ctx) => beginUpload(files, header, ctx));
    server.handle(FileRequest.PUT_DATA, (header, body, ctx) => receiveUpload(files, header, body, ctx), { body: "stream" });
    server.handle(FileRequest.PUT_COMMIT, (header, _body, ctx) => commitUpload(files, header, ctx));
    server.handle(FileRequest.PUT_ABORT, (header, _body, ctx) => abortUpload(files, header, ctx));
    server.handle(FileRequest.PUT_FILE, (header, body, ctx) => putWholeFile(files, header, body as Uint8Array | undefined, ctx));
    server.handle(FileRequest.GET, (header, body, ctx) => sendDownload(files, header, body, ctx));
    server.handle(FileRequest.PUT_CHUNKS, (header, _body, ctx) => sendBaseChunks(files, header, ctx));
    server.handle(FileRequest.PUT_DELTA, (header, body, ctx) => receiveDelta(files, header, body, ctx), { body: "stream" });
    server.handle(FileRequest.LINK, linkHandler(files));
    server.handle(FileRequest.COMPARE, (header, body, ctx) => compareTree(files, header, body as Uint8Array | undefined, ctx));
  });

  // The sweep that runs, if any: close() waits for it, since it holds partial locks while it deletes.
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = (): Promise<number> => {
    const run = sweepPartials(layout, partialTtl, logger, locks);
    sweeping = run.catch(() => {});
    return run;
  };
  const sweepQuietly = (): void => {
    sweep().catch((err: unknown) => logger.error({ err }, "sweeping partial uploads failed"));
  };
  sweepQuietly();
  const interval = Math.min(10 * 60_000, Math.max(1_000, partialTtl / 4));
  const timer = setInterval(sweepQuietly, interval);
  timer.unref();
  const close = once(async () => {
    clearInterval(timer);
    await sweeping;
    await endOpenUploads(openUploads);
  });
  return { name: "files", types, layout, sweep, close };
}
