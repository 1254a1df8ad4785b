import { EventEmitter } from "node:events";
import { WharfError } from "../../wire/index.js";
import type { HistoryMessage } from "./client.js";
import { UdpChatClient } from "./udp-client.js";

/**
 * A chat session as an interactive or scripted client needs it, over either transport. Emits `"message"`,
 * `"presence"`, `"gap"` (UDP), `"status"` (a line for people: reconnecting...), and `"lost"` (error) when the
 * session cannot go on.
 */
export interface ChatSession extends EventEmitter {
  /** The name others see: the user name, or `~nick` for a UDP guest. */
  readonly me: string;
  join(room: string, since?: number): Promise<unknown>;
  leave(room: string): Promise<boolean>;
  send(room: string, text: string): Promise<{ msgId: number }>;
  sendTo(user: string, text: string): Promise<{ msgId: number }>;
  who(room: string): Promise<string[]>;
  rooms(): Promise<{ room: string; members: number }[]>;
  history(room: string, options: { since?: number; limit?: number }): Promise<{ messages: HistoryMessage[] }>;
  close(): Promise<void>;
}

function describe(err: unknown): string {
  return err instanceof WharfError ? `${err.code}: ${err.message}` : (err as Error).message;
}

/** A UDP guest session (`~nick`): gaps are reported and filled from the history by {@link UdpChatClient}. */
export class DatagramChatSession extends EventEmitter implements ChatSession {
  readonly me: string;
  #client: UdpChatClient;

  private constructor(client: UdpChatClient) {
    super();
    this.#client = client;
    this.me = client.name;
    for (const event of ["message", "presence", "gap"]) client.on(event, (value: unknown) => this.emit(event, value));
    client.on("error", (err: Error) => this.emit("status", describe(err)));
  }

  static async open(url: string, nick: string): Promise<DatagramChatSession> {
    return new DatagramChatSession(await UdpChatClient.open(url, nick));
  }

  join(room: string): Promise<unknown> {
    return this.#client.join(room);
  }

  leave(room: string): Promise<boolean> {
    return this.#client.leave(room);
  }

  send(room: string, text: string): Promise<{ msgId: number }> {
    return this.#client.send(room, text);
  }

  sendTo(user: string, text: string): Promise<{ msgId: number }> {
    return this.#client.sendTo(user, text);
  }

  who(room: string): Promise<string[]> {
    return this.#client.who(room);
  }

  rooms(): Promise<{ room: string; members: number }[]> {
    return this.#client.rooms();
  }

  history(room: string, options: { since?: number; limit?: number }): Promise<{ messages: HistoryMessage[] }> {
    return this.#client.history(room, options);
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

export { StreamChatSession, type StreamChatOptions } from "./stream-session.js";
