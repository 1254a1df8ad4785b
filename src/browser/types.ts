/**
 * The few platform types `wharf/browser` needs, written structurally so that the library compiles in the
 * project's Node build without the DOM lib, and accepts both a browser's `WebSocket` / `Blob` / `File` and the
 * `ws` package's WebSocket in Node.
 *
 * @module
 */

/** A message event as both the browser's WebSocket and the `ws` package deliver it. */
export interface MessageEventLike {
  readonly data: unknown;
}

/** A close event: its code and reason. */
export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/** The part of a WebSocket this library uses (the browser's, or the `ws` package's). */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly readyState: number;
  send(data: ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: (event: unknown) => void): void;
  addEventListener(type: "message", listener: (event: MessageEventLike) => void): void;
  addEventListener(type: "close", listener: (event: CloseEventLike) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` in a browser, `ws`'s `WebSocket` in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What an upload reads: a `Blob` or `File` (its `name` and `lastModified` identify the version when present). */
export interface BlobLike {
  readonly size: number;
  readonly name?: string;
  readonly lastModified?: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** The header of a frame: a JSON object; `size` is the body length. */
export interface FrameHeader {
  size?: number;
  [field: string]: unknown;
}

/** A request header: `type` names the request; `id` is added by the connection. */
export interface RequestFields {
  type: string;
  [field: string]: unknown;
}

/** The `error` member of a failed reply. */
export interface WireError {
  code: string;
  message: string;
  data?: unknown;
}

/** A reply header: the request's `id`, `ok`, and per request type more fields. */
export interface ReplyHeader extends FrameHeader {
  id: number | null;
  ok: boolean;
  error?: WireError;
  /** More frames follow for this id (a streamed reply). */
  more?: boolean;
}

/** An event header: a frame without `id`, named by `event` (`chat.message`, `stats`, ...). */
export interface EventHeader extends FrameHeader {
  event?: string;
}

/** A reply: its header and body. */
export interface Reply {
  header: ReplyHeader;
  body: Uint8Array;
}
