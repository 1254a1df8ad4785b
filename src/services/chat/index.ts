/**
 * Chat: rooms and direct messages over stream connections (logged-in users) and UDP (guests), with ordered
 * delivery, history that survives restarts, retries without duplicates, slow-consumer cut-off and rate limits.
 * Import from `wharf/chat`. See docs/chat.md.
 *
 * @module
 */
export { ChatErrorCode } from "./errors.js";
/** Re-exported: a ChatClient needs a logged-in connection. */
export { login } from "../accounts/index.js";
export { registerChat } from "./handlers.js";
export { ChatService, type SendResult } from "./service.js";
export type { ChatDeps, ChatOptions } from "./options.js";
export { ChatClient, parseHistory, toReceived, type HistoryMessage, type PresenceEvent, type ReceivedMessage } from "./client.js";
export { UdpChatClient, type GapEvent, type UdpChatOptions } from "./udp-client.js";
export { RateLimiter, type RateLimitOptions } from "./rate-limit.js";
export { DedupWindow } from "./dedup.js";
export { ROOM_NAME, GUEST_PREFIX, type ChatMessage } from "./messages.js";
export { CHAT_HELP, parseChatLine, type ChatCommand } from "./commands.js";
export { DatagramChatSession, StreamChatSession, type ChatSession, type StreamChatOptions } from "./session.js";
export { RECONNECT_EVENT } from "./service.js";
export { ChatClusterHub } from "./cluster-hub.js";
export { ChatRelay, registerChatRelay, type ChatRelayOptions } from "./cluster-relay.js";
export { chatHubOf, drainChat, reconfigureChat, relayChatToPrimary } from "./placement.js";
export type { ChatOrigin } from "./origin.js";
export { SharedChatService, type SharedChatOptions } from "./redis-service.js";
export { registerChatService } from "./handlers.js";
export type { ChatRedisLink } from "./redis-link.js";
