import type { Server } from "../../server/index.js";
import type { ServiceDeps } from "../index.js";
import { sendDownload } from "./download-handler.js";
import type { FilesDeps } from "./home.js";
import { FileLayout } from "./layout.js";
import { FileRequest } from "./requests.js";
import { sweepPartials } from "./partials.js";
import { listPath, makeDirectory, movePath, removePath, statPath } from "./tree-handlers.js";
import { abortUpload, beginUpload, commitUpload, receiveUpload } from "./upload-handlers.js";

/** The running files service: its data layout, and its partial-upload sweeper. */
export interface FilesService {
  readonly layout: FileLayout;
  /** Deletes expired partial uploads now; resolves how many. */
  sweep(): Promise<number>;
  /** Stops the periodic sweep. */
  close(): void;
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
 * `files.mv`, `files.put.begin|data|commit|abort` and `files.get`, all acting inside the logged-in user's home.
 * Expired partial uploads (`config.partialTtl`) are swept at once and then periodically.
 *
 * @example
 * ```ts
 * const server = new Server();
 * const accounts = new AccountStore(dataDir);
 * registerAuth(server, accounts);
 * const files = registerFiles(server, { dataDir, accounts, logger, config: DEFAULT_SERVICE_CONFIG });
 * // ... later
 * files.close();
 * ```
 */
export function registerFiles(server: Server, deps: ServiceDeps, options: FilesOptions = {}): FilesService {
  const stallTimeout = options.stallTimeout ?? 60_000;
  if (!Number.isSafeInteger(stallTimeout) || stallTimeout <= 0) throw new RangeError("options.stallTimeout must be a positive integer (ms)");
  const layout = new FileLayout(deps.dataDir);
  const logger = deps.logger.child({ service: "files" });
  const files: FilesDeps = { layout, accounts: deps.accounts, logger, partialTtl: deps.config.partialTtl, stallTimeout };
  server.handle(FileRequest.STAT, (header, _body, ctx) => statPath(files, header, ctx));
  server.handle(FileRequest.LIST, (header, _body, ctx) => listPath(files, header, ctx));
  server.handle(FileRequest.MKDIR, (header, _body, ctx) => makeDirectory(files, header, ctx));
  server.handle(FileRequest.RM, (header, _body, ctx) => removePath(files, header, ctx));
  server.handle(FileRequest.MV, (header, _body, ctx) => movePath(files, header, ctx));
  server.handle(FileRequest.PUT_BEGIN, (header, _body, ctx) => beginUpload(files, header, ctx));
  server.handle(FileRequest.PUT_DATA, (header, body, ctx) => receiveUpload(files, header, body, ctx), { body: "stream" });
  server.handle(FileRequest.PUT_COMMIT, (header, _body, ctx) => commitUpload(files, header, ctx));
  server.handle(FileRequest.PUT_ABORT, (header, _body, ctx) => abortUpload(files, header, ctx));
  server.handle(FileRequest.GET, (header, _body, ctx) => sendDownload(files, header, ctx));

  const sweep = (): Promise<number> => sweepPartials(layout, deps.config.partialTtl, logger);
  const sweepQuietly = (): void => {
    sweep().catch((err: unknown) => logger.error({ err }, "sweeping partial uploads failed"));
  };
  sweepQuietly();
  const interval = Math.min(10 * 60_000, Math.max(1_000, deps.config.partialTtl / 4));
  const timer = setInterval(sweepQuietly, interval);
  timer.unref();
  return { layout, sweep, close: () => clearInterval(timer) };
}
