/**
 * `wharf/browser`: every wharf service from a web page, over a WebSocket to `wharf serve`'s gateway (`GET /ws`,
 * subprotocol `wharf`), in the very frames of docs/protocol.md, one per message. No Node built-ins: a bundler or
 * a `<script type="module">` can use it; in Node pass the `ws` package's WebSocket to {@link connect}. The
 * names mirror the Node clients (`wharf/client`, `wharf/files`, `wharf/chat`...). Guide: docs/browser-library.md.
 *
 * @example
 * ```ts
 * import { connect, login, FilesClient } from "wharf/browser";
 * const conn = await connect(location.origin);
 * await login(conn, { user: "alice", password });
 * console.log(await new FilesClient(conn).list(""));
 * ```
 *
 * @module
 */
export { login, logout, type LoginCredentials, type LoginResult } from "./auth.js";
export { ChatClient, type ChatMessage, type ChatState, type HistoryMessage, type PresenceEvent, type ReconnectOptions } from "./chat.js";
export { FrameError, decodeFrame, encodeFrame, type CodecLimits, type DecodedFrame } from "./codec.js";
export { WHARF_SUBPROTOCOL, connect, toWebSocketUrl, type BrowserConnectOptions } from "./connect.js";
export { BrowserConnection, type BrowserConnectionOptions, type BrowserRequestOptions } from "./connection.js";
export { ErrorCode, WharfError } from "./errors.js";
export { ExecClient, type ExecOutcome, type ExecRun, type ExecRunOptions } from "./exec.js";
export { FilesClient, type FileEntry } from "./files.js";
export { createStreamingHash, type HashAlgorithm, type StreamingHash } from "./hasher.js";
export { RpcClient, type MethodInfo, type RpcCallOptions } from "./rpc.js";
export { subscribeStats, type StatsSnapshot } from "./stats.js";
export { time, type TimeReading } from "./time.js";
export type {
  BlobLike,
  EventHeader,
  FrameHeader,
  ReplyHeader,
  Reply,
  RequestFields,
  WebSocketConstructor,
  WebSocketLike,
  WireError,
} from "./types.js";
export { DEFAULT_SLICE_SIZE, uploadBlob, type UploadOptions, type UploadProgress, type UploadResult } from "./upload.js";
