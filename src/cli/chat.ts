import { EventEmitter } from "node:events";
import { createInterface, clearLine, cursorTo, type Interface } from "node:readline";
import type { Command } from "commander";
import { connect } from "../client/index.js";
import { login } from "../services/accounts/index.js";
import {
  CHAT_HELP,
  ChatClient,
  UdpChatClient,
  parseChatLine,
  type GapEvent,
  type HistoryMessage,
  type PresenceEvent,
  type ReceivedMessage,
} from "../services/chat/index.js";
import { WharfError } from "../wire/index.js";
import { CliError, action } from "./fail.js";
import { clientPassword, withClientOptions, type ClientOptions } from "./session.js";

interface ChatCliOptions extends ClientOptions {
  udp: boolean;
  json: boolean;
  follow: boolean;
  since?: number;
}

/** What the terminal and the script modes need of a chat client, over TCP or UDP. */
interface Link extends EventEmitter {
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

/** Adds `wharf chat` to the program. */
export function registerChat(program: Command): void {
  withClientOptions(
    program
      .command("chat")
      .description("chat in rooms: interactive on a terminal; otherwise lines from stdin are sent and messages are printed as JSON lines")
      .argument("[room]", "room to join first"),
  )
    .option("--udp", "chat over UDP as a guest (--user is your nickname, shown as ~nick; no password)", false)
    .option("--json", "JSON lines on stdout even on a terminal", false)
    .option("--follow", "without a terminal: keep printing messages after stdin ends, until interrupted", false)
    .option("--since <msgId>", "on joining ROOM, first get the messages after this msgId (what you missed)", (v) => {
      if (!/^\d+$/.test(v)) throw new CliError("--since must be a msgId (a non-negative integer)", 2);
      return Number(v);
    })
    .action(action((room: string | undefined, options: ChatCliOptions) => chat(room, options)));
}

async function chat(room: string | undefined, options: ChatCliOptions): Promise<void> {
  if (options.user === "") throw new CliError("no user name: pass --user or set WHARF_USER");
  const link = options.udp ? await UdpLink.open(options) : await TcpLink.open(options);
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && !options.json;
  // Listeners go up before the first join: a join with --since replays missed messages at once.
  const joinFirst = async (): Promise<void> => {
    if (room !== undefined) await link.join(room, options.since);
  };
  try {
    await (interactive ? terminal(link, room, joinFirst) : script(link, room, options.follow, joinFirst));
  } finally {
    await link.close();
  }
}

// ---- the two faces -------------------------------------------------------------------------------------------

function clock(ts: number): string {
  return new Date(ts).toTimeString().slice(0, 8);
}

function describeMessage(m: ReceivedMessage): string {
  const where = m.room !== undefined ? `[${m.room}] <${m.from}>` : `[${m.from} -> ${m.to}]`;
  const note = m.replay ? " (missed)" : m.recovered ? " (recovered)" : m.late ? " (late)" : "";
  return `${clock(m.ts)} ${where} ${m.text}${note}`;
}

/** The interactive client: messages appear above the prompt as they arrive. */
async function terminal(link: Link, first: string | undefined, joinFirst: () => Promise<void>): Promise<void> {
  let current = first;
  const rl: Interface = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const setPrompt = (): void => rl.setPrompt(current === undefined ? "> " : `[${current}]> `);
  let closed = false;
  let printed = false;
  const print = (line: string): void => {
    clearLine(process.stdout, 0);
    cursorTo(process.stdout, 0);
    process.stdout.write(`${line}\n`);
    printed = true;
    if (!closed) rl.prompt(true);
  };
  link.on("message", (m: ReceivedMessage) => print(describeMessage(m)));
  link.on("presence", (p: PresenceEvent) => print(`${clock(Date.now())} * ${p.user} ${p.action === "join" ? "joined" : "left"} ${p.room}`));
  link.on("gap", (g: GapEvent) => print(`${clock(Date.now())} ! ${g.last - g.first + 1} message(s) lost in ${g.room ?? "your direct messages"} (#${g.first}..#${g.last})${g.room === undefined ? "" : "; fetching them from the history"}`));
  link.on("status", (text: string) => print(`${clock(Date.now())} ! ${text}`));
  try {
    await joinFirst();
  } catch (err) {
    rl.close();
    throw err;
  }
  print(`wharf chat as ${link.me}${first === undefined ? "" : `, in ${first}`}; /help for commands`);
  setPrompt();
  rl.prompt();
  await new Promise<void>((resolve) => {
    let quitting = false;
    const quit = (): void => {
      if (quitting) return;
      quitting = true;
      closed = true;
      rl.close();
      process.stdin.pause();
      resolve();
    };
    link.once("lost", (err: Error) => {
      print(`! ${describe(err)}`);
      process.exitCode = 1;
      quit();
    });
    rl.on("close", quit);
    rl.on("SIGINT", quit);
    rl.on("line", (line) => {
      printed = false;
      void run(link, line, current, {
        out: print,
        setRoom: (room) => {
          current = room;
          setPrompt();
        },
        quit,
      }).then(() => {
        // Whatever was printed meanwhile redrew the prompt already.
        if (!closed && !printed) rl.prompt();
      });
    });
  });
}

/** Without a terminal: stdin lines in, JSON lines out. */
async function script(link: Link, first: string | undefined, follow: boolean, joinFirst: () => Promise<void>): Promise<void> {
  let current = first;
  const out = (record: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(record)}\n`);
  // Our own messages come back as events, usually before the send's reply: both orders are handled.
  const echoes = new Set<string>();
  const seenOwn = new Set<string>();
  let echoed: (() => void) | null = null;
  link.on("message", (m: ReceivedMessage) => {
    out({ type: "message", ...m, time: new Date(m.ts).toISOString() });
    if (m.from !== link.me) return;
    const key = `${m.room ?? `@${m.to}`}:${m.msgId}`;
    if (!echoes.delete(key)) seenOwn.add(key);
    else if (echoes.size === 0) echoed?.();
  });
  link.on("presence", (p: PresenceEvent) => out({ type: "presence", ...p }));
  link.on("gap", (g: GapEvent) => out({ type: "gap", ...g }));
  let lost: Error | null = null;
  link.on("lost", (err: Error) => {
    lost = err;
  });
  await joinFirst();
  const sends: Promise<void>[] = [];
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (lost !== null) break;
    const command = parseChatLine(line);
    if (command.kind === "quit") break;
    const done = run(link, line, current, {
      out: (text) => process.stderr.write(`${text}\n`),
      json: out,
      setRoom: (room) => (current = room),
      quit: () => {},
      echo: (key) => {
        if (!seenOwn.delete(key)) echoes.add(key);
      },
    });
    // Sends are pipelined (their order is kept by the connection); commands that change state are awaited.
    if (command.kind === "say" || command.kind === "msg") sends.push(done);
    else await done;
  }
  await Promise.all(sends);
  if (lost !== null) throw lost;
  // Wait for our own messages to come back, so a script sees them in the room's order before we exit.
  if (echoes.size > 0) {
    await Promise.race([new Promise<void>((resolve) => (echoed = resolve)), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  }
  if (follow) {
    await new Promise<void>((resolve) => {
      link.once("lost", () => resolve());
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    if (lost !== null) throw lost;
  }
}

interface Output {
  /** A line for people (terminal) or for stderr (script). */
  out(text: string): void;
  /** Script mode: a JSON record for stdout. */
  json?(record: Record<string, unknown>): void;
  setRoom(room: string | undefined): void;
  quit(): void;
  /** Script mode: remembers a send whose echo to wait for. */
  echo?(key: string): void;
}

function describe(err: unknown): string {
  return err instanceof WharfError ? `${err.code}: ${err.message}` : (err as Error).message;
}

/** Runs one input line; failures are reported and do not end the session. */
async function run(link: Link, line: string, current: string | undefined, io: Output): Promise<void> {
  const command = parseChatLine(line);
  try {
    switch (command.kind) {
      case "empty":
        return;
      case "say": {
        if (current === undefined) throw new CliError("no room: /join ROOM first, or /msg USER TEXT");
        const { msgId } = await link.send(current, command.text);
        io.echo?.(`${current}:${msgId}`);
        return;
      }
      case "msg": {
        const { msgId } = await link.sendTo(command.to, command.text);
        io.echo?.(`@${command.to}:${msgId}`);
        return;
      }
      case "join":
        await link.join(command.room);
        io.setRoom(command.room);
        if (io.json === undefined) io.out(`joined ${command.room}`);
        return;
      case "leave": {
        const room = command.room ?? current;
        if (room === undefined) throw new CliError("usage: /leave ROOM");
        const left = await link.leave(room);
        if (room === current) io.setRoom(undefined);
        if (io.json === undefined) io.out(left ? `left ${room}` : `you were not in ${room}`);
        return;
      }
      case "who": {
        const room = command.room ?? current;
        if (room === undefined) throw new CliError("usage: /who ROOM");
        const users = await link.who(room);
        if (io.json !== undefined) io.json({ type: "who", room, users });
        else io.out(`in ${room}: ${users.join(", ") || "nobody"}`);
        return;
      }
      case "rooms": {
        const rooms = await link.rooms();
        if (io.json !== undefined) io.json({ type: "rooms", rooms });
        else io.out(rooms.length === 0 ? "no rooms yet" : rooms.map((r) => `${r.room} (${r.members})`).join("  "));
        return;
      }
      case "history": {
        if (current === undefined) throw new CliError("no room: /join ROOM first");
        const count = command.count ?? 20;
        const { messages } = await link.history(current, { since: 0 });
        for (const m of messages.slice(-count)) {
          if (io.json !== undefined) io.json({ type: "history", room: current, ...m });
          else io.out(`${clock(m.ts)} [${current}] <${m.from}> ${m.text} (history #${m.msgId})`);
        }
        return;
      }
      case "help":
        for (const text of CHAT_HELP) io.out(text);
        return;
      case "quit":
        io.quit();
        return;
      case "bad":
        throw new CliError(command.reason);
    }
  } catch (err) {
    io.out(io.json === undefined ? `! ${describe(err)}` : `wharf: ${describe(err)}`);
    if (io.json !== undefined) process.exitCode = 1;
  }
}

// ---- links ---------------------------------------------------------------------------------------------------

/** TCP: a logged-in connection that reconnects when lost and rejoins its rooms from the last msgId it saw. */
class TcpLink extends EventEmitter implements Link {
  readonly me: string;
  #options: ChatCliOptions;
  #password: string;
  #client!: ChatClient;
  #rooms = new Map<string, number>();
  #closing = false;

  private constructor(options: ChatCliOptions, password: string) {
    super();
    this.me = options.user;
    this.#options = options;
    this.#password = password;
  }

  static async open(options: ChatCliOptions): Promise<TcpLink> {
    const link = new TcpLink(options, await clientPassword(options.user));
    await link.#connect();
    return link;
  }

  async #connect(): Promise<void> {
    const conn = await connect(this.#options.server);
    try {
      await login(conn, this.#options.user, this.#password);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    const client = new ChatClient(conn);
    client.on("message", (m: ReceivedMessage) => {
      if (m.room !== undefined && this.#rooms.has(m.room)) this.#rooms.set(m.room, Math.max(this.#rooms.get(m.room) ?? 0, m.msgId));
      this.emit("message", m);
    });
    client.on("presence", (p: PresenceEvent) => this.emit("presence", p));
    client.on("close", (err?: Error) => void this.#onClose(err));
    this.#client = client;
  }

  async #onClose(err?: Error): Promise<void> {
    if (this.#closing) return;
    const reason = err === undefined ? "the connection closed" : describe(err);
    let delay = 500;
    for (let attempt = 1; attempt <= 5 && !this.#closing; attempt += 1) {
      this.emit("status", `${reason}; reconnecting (attempt ${attempt})`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
      try {
        await this.#connect();
        await this.#client.rejoin(this.#rooms);
        this.emit("status", "reconnected; missed messages follow");
        return;
      } catch {
        // try again
      }
    }
    if (!this.#closing) this.emit("lost", err ?? new WharfError("E_CONNECTION_CLOSED", "the connection closed"));
  }

  async join(room: string, since?: number): Promise<unknown> {
    const reply = await this.#client.join(room, since === undefined ? {} : { since });
    this.#rooms.set(room, Math.max(this.#rooms.get(room) ?? 0, since ?? reply.lastMsgId));
    return reply;
  }

  async leave(room: string): Promise<boolean> {
    this.#rooms.delete(room);
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

  async close(): Promise<void> {
    this.#closing = true;
    await this.#client.conn.close();
  }
}

/** UDP: a guest with a nickname; gaps are reported and filled from the history. */
class UdpLink extends EventEmitter implements Link {
  readonly me: string;
  #client: UdpChatClient;

  private constructor(client: UdpChatClient) {
    super();
    this.#client = client;
    this.me = client.name;
    for (const event of ["message", "presence", "gap"]) client.on(event, (value: unknown) => this.emit(event, value));
    client.on("error", (err: Error) => this.emit("status", describe(err)));
  }

  static async open(options: ChatCliOptions): Promise<UdpLink> {
    const url = options.server.replace(/^(tcp|tls):\/\//, "udp://");
    if (!url.startsWith("udp://")) throw new CliError(`--udp needs a udp:// (or tcp://) server URL, got ${options.server}`);
    return new UdpLink(await UdpChatClient.open(url, options.user));
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
