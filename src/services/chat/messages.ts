import { z } from "zod";
import { WharfError } from "../../wire/index.js";
import { USER_NAME } from "../accounts/index.js";
import { ChatErrorCode } from "./errors.js";

/** A room name: a letter or digit, then up to 63 letters, digits, `_`, `.` or `-` (it names a file). */
export const ROOM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Datagram clients are guests: their names are a nickname after `~`, so none can pass for an account. */
export const GUEST_PREFIX = "~";

/** One chat message as the server keeps it and delivers it. */
export interface ChatMessage {
  /** The room's sequence number (rooms), or the recipient's inbox number (direct messages). */
  msgId: number;
  /** Server time of acceptance, ms since the Unix epoch. */
  ts: number;
  from: string;
  /** Set on rooms' messages. */
  room?: string;
  /** Set on direct messages: the recipient. */
  to?: string;
  text: string;
  /** The sender's clientId (kept so that a retry after a restart is still recognised). */
  cid?: string;
  /** The UTF-8 text, encoded once for every delivery. */
  body: Buffer;
}

const room = z.string().regex(ROOM_NAME, "a room name is 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit");
const msgId = z.number().int().nonnegative();
const target = z.string().min(1).max(33);
const clientId = z.string().min(1).max(64);

export const joinFields = z.object({ room, since: msgId.optional() });
export const roomFields = z.object({ room });
export const sendFields = z
  .object({ room: room.optional(), to: target.optional(), clientId: clientId.optional(), seq: msgId.optional() })
  .refine((f) => (f.room === undefined) !== (f.to === undefined), "give exactly one of room or to");
export const historyFields = z.object({
  room,
  since: msgId.optional(),
  before: msgId.optional(),
  limit: z.number().int().min(1).max(100_000).optional(),
});
export const udpJoinFields = z.object({
  room,
  user: z.string().regex(USER_NAME, "a nickname is a letter or _, then up to 31 of A-Z a-z 0-9 _ . -"),
  cookie: z.string().max(64).optional(),
});

/** Parses request fields with a schema; failures are `E_INVALID_PARAMS` naming the field. */
export function parseFields<T>(schema: z.ZodType<T>, header: Record<string, unknown>): T {
  const parsed = schema.safeParse(header);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new WharfError(ChatErrorCode.INVALID_PARAMS, `${where}${issue.message}`);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Checks a message body: at most `maxBytes`, valid UTF-8, not empty. Returns the text. */
export function messageText(body: Buffer, maxBytes: number): string {
  if (body.length > maxBytes) {
    throw new WharfError(ChatErrorCode.MESSAGE_TOO_LARGE, `a message is at most ${maxBytes} bytes, this one has ${body.length}`, {
      data: { maxBytes, size: body.length },
    });
  }
  if (body.length === 0) throw new WharfError(ChatErrorCode.INVALID_PARAMS, "a message needs text in its body");
  try {
    return decoder.decode(body);
  } catch {
    throw new WharfError(ChatErrorCode.INVALID_PARAMS, "a message body must be UTF-8 text");
  }
}

/** The fields of a `chat.message` event for a message (its body is the text). */
export function eventFields(message: ChatMessage): Record<string, unknown> {
  return message.room !== undefined
    ? { room: message.room, from: message.from, msgId: message.msgId, ts: message.ts }
    : { to: message.to, from: message.from, msgId: message.msgId, ts: message.ts };
}
