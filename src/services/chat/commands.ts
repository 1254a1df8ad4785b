/** One line typed into a chat client, parsed. */
export type ChatCommand =
  | { kind: "say"; text: string }
  | { kind: "join"; room: string }
  | { kind: "leave"; room?: string }
  | { kind: "who"; room?: string }
  | { kind: "rooms" }
  | { kind: "msg"; to: string; text: string }
  | { kind: "history"; room?: string; count?: number }
  | { kind: "quit" }
  | { kind: "help" }
  | { kind: "empty" }
  | { kind: "bad"; reason: string };

/** The commands a chat client understands, one per line, for `/help`. */
export const CHAT_HELP = [
  "/join ROOM        join a room (it becomes the current room)",
  "/leave [ROOM]     leave a room (default: the current one)",
  "/who [ROOM]       who is in a room",
  "/rooms            rooms and how many are in each",
  "/msg USER TEXT    a direct message (guests on UDP are ~nick)",
  "/history [N]      the last N messages of the current room (default 20)",
  "/quit             leave (Ctrl-D too)",
  "anything else     is sent to the current room; start with // to send a line beginning with /",
];

/**
 * Parses a line of `wharf chat` input: `/join ROOM`, `/leave`, `/who`, `/rooms`, `/msg USER TEXT`, `/history N`,
 * `/quit`, `/help`; anything else is text for the current room (`//x` sends `/x`).
 *
 * @example
 * ```ts
 * parseChatLine("/msg bob see you"); // { kind: "msg", to: "bob", text: "see you" }
 * ```
 */
export function parseChatLine(line: string): ChatCommand {
  const trimmed = line.replace(/\r$/, "");
  if (trimmed.trim().length === 0) return { kind: "empty" };
  if (trimmed.startsWith("//")) return { kind: "say", text: trimmed.slice(1) };
  if (!trimmed.startsWith("/")) return { kind: "say", text: trimmed };
  const [word, ...rest] = trimmed.slice(1).split(/\s+/);
  const arg = rest[0];
  switch (word) {
    case "join":
      return arg === undefined ? { kind: "bad", reason: "usage: /join ROOM" } : { kind: "join", room: arg };
    case "leave":
    case "part":
      return { kind: "leave", room: arg };
    case "who":
      return { kind: "who", room: arg };
    case "rooms":
    case "list":
      return { kind: "rooms" };
    case "msg": {
      const match = /^\/msg\s+(\S+)\s+(.+)$/.exec(trimmed);
      return match === null ? { kind: "bad", reason: "usage: /msg USER TEXT" } : { kind: "msg", to: match[1], text: match[2] };
    }
    case "history": {
      const count = arg === undefined ? undefined : Number(arg);
      if (count !== undefined && (!Number.isSafeInteger(count) || count < 1)) return { kind: "bad", reason: "usage: /history [N]" };
      return { kind: "history", count };
    }
    case "quit":
    case "exit":
      return { kind: "quit" };
    case "help":
      return { kind: "help" };
    default:
      return { kind: "bad", reason: `unknown command /${word} (try /help)` };
  }
}
