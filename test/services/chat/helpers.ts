import type { TestContext } from "node:test";
import { connect, WharfError } from "../../../src/client/index.js";
import { AccountStore, login, registerAuth } from "../../../src/services/accounts/index.js";
import { ChatClient, registerChat, type ChatOptions, type ChatService, type ReceivedMessage } from "../../../src/services/chat/index.js";
import { tempDir } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";

export const PASSWORD = "pw";

/** An in-process server with auth and chat, and users that all have the password "pw". */
export async function chatServer(
  t: TestContext,
  users: string[],
  options: ChatOptions = {},
): Promise<{ url: string; udpUrl: string; chat: ChatService; dataDir: string }> {
  let chat: ChatService | undefined;
  // Registered before the data folder's removal: after-hooks run in order, and close() writes the history.
  t.after(() => chat?.close());
  const dataDir = tempDir(t);
  const accounts = new AccountStore(dataDir);
  for (const user of users) await accounts.add(user, PASSWORD);
  const { url, udpUrl } = await startServer(t, {}, (server) => {
    registerAuth(server, accounts);
    chat = registerChat(server, { dataDir }, { rate: { rate: 10_000, burst: 10_000 }, ...options });
  });
  return { url, udpUrl, chat: chat as ChatService, dataDir };
}

/** A logged-in chat client that records what it receives. */
export interface Recorder {
  client: ChatClient;
  messages: ReceivedMessage[];
  /** Resolves once `n` messages (in total) arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
}

export async function chatClient(t: TestContext, url: string, user: string): Promise<Recorder> {
  const conn = await connect(url);
  t.after(() => conn.destroy());
  await login(conn, user, PASSWORD);
  const client = new ChatClient(conn);
  const messages: ReceivedMessage[] = [];
  const waiters: (() => void)[] = [];
  client.on("message", (message: ReceivedMessage) => {
    messages.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    client,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`${user}: ${messages.length} of ${n} messages arrived`);
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), new Promise((r) => setTimeout(r, 100))]);
      }
      return messages;
    },
  };
}

/** The code a promise rejects with ("none" if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WharfError) return err.code;
    throw err;
  }
  return "none";
}

/** Polls until `check` holds (for state that changes asynchronously on the server). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
