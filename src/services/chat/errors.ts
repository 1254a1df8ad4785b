/** Error codes of the chat service (see docs/errors.md). */
export const ChatErrorCode = {
  /** The member did not read its messages: its outgoing queue passed the bound, so it was disconnected. */
  SLOW_CONSUMER: "E_SLOW_CONSUMER",
  /** Too many messages (or joins) too fast: wait `data.retryAfterMs`. */
  RATE_LIMITED: "E_RATE_LIMITED",
  /** A message body over the size limit (`data.maxBytes`). */
  MESSAGE_TOO_LARGE: "E_MESSAGE_TOO_LARGE",
  /** Sending to, or asking about, a room this client has not joined. */
  NOT_IN_ROOM: "E_NOT_IN_ROOM",
  /** A direct message to a user who has no chat client connected. */
  USER_OFFLINE: "E_USER_OFFLINE",
  /** One client is in as many rooms as allowed. */
  ROOM_LIMIT: "E_ROOM_LIMIT",
  /** Missing or malformed request fields (room name, clientId, seq, nickname, text that is not UTF-8). */
  INVALID_PARAMS: "E_INVALID_PARAMS",
} as const;
