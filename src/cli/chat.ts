import { createInterface, clearLine, cursorTo, type Interface } from "node:readline";
import type { Command } from "commander";
import {
  CHAT_HELP,
  DatagramChatSession,
  StreamChatSession,
  parseChatLine,
  type ChatSession,
  type GapEvent,
  type PresenceEvent,
  type ReceivedMessage,
} from "../services/chat/index.js";
import { WharfError } from "../wire/index.js";
import { CliError, action, usageError } from "./fail.js";
import { integerOption } from "./parse.js";
import { clientCredentials, resolveUser, withClientOptions, type ClientOptions } from "./session.js";

interface ChatCliOptions extends ClientOptions {
  udp: boolean;
  json: boolean;
  follow: boolean;
  since?: number;
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
    .option("--since <msgId>", "on joining ROOM, first get the messages after this msgId (what you missed)", integerOption("--since"))
    .action(action((room: string | undefined, options: ChatCliOptions) => chat(room, options)));
}

async function chat(room: string | undefined, options: ChatCliOptions): Promise<void> {
  let link: ChatSession;
  if (options.udp) {
    link = await DatagramChatSession.open(udpUrl(options.server), await resolveUser(options));
  } else {
    // --server may list several addresses (a,b,c): a reconnection moves on to the next one.
    const urls = options.server.split(",").map((url) => url.trim()).filter(Boolean);
    const { user, credentials } = await clientCredentials({ ...options, server: urls[0] });
    link = await StreamChatSession.open(urls, user, credentials);
  }
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
async function terminal(link: ChatSession, first: string | undefined, joinFirst: () => Promise<void>): Promise<void> {
  let current = first;
  const rl: Interface = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const setPrompt = (): void => rl.setPrompt(current === undefined ? "> " : `[${current}]> `);
  setPrompt();
  let closed = false;
  let printed = false;
  const print = (line: string): void => {
    clearLine(process.stdout, 0);
    cursorTo(process.stdout, 0);
    process.stdout.write(`${line}\n`);
    printed = true;
    if (!closed) rl.prompt(true);
  };
  // What arrives while the first join is answered (a message sent the moment the room lists us, the replay of
  // --since) is shown after the banner, not above it.
  let early: string[] | null = [];
  const show = (line: string): void => {
    if (early !== null) early.push(line);
    else print(line);
  };
  const showEarly = (): void => {
    const lines = early ?? [];
    early = null;
    for (const line of lines) print(line);
  };
  link.on("message", (m: ReceivedMessage) => show(describeMessage(m)));
  link.on("presence", (p: PresenceEvent) => show(`${clock(Date.now())} * ${p.user} ${p.action === "join" ? "joined" : "left"} ${p.room}`));
  link.on("gap", (g: GapEvent) => show(`${clock(Date.now())} ! ${g.last - g.first + 1} message(s) lost in ${g.room ?? "your direct messages"} (#${g.first}..#${g.last})${g.room === undefined ? "" : "; fetching them from the history"}`));
  link.on("status", (text: string) => show(`${clock(Date.now())} ! ${text}`));
  try {
    await joinFirst();
  } catch (err) {
    showEarly();
    rl.close();
    throw err;
  }
  print(`wharf chat as ${link.me}${first === undefined ? "" : `, in ${first}`}; /help for commands`);
  showEarly();
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
async function script(link: ChatSession, first: string | undefined, follow: boolean, joinFirst: () => Promise<void>): Promise<void> {
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
  link.on("status", (text: string) => process.stderr.write(`wharf: ${text}\n`));
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
async function run(link: ChatSession, line: string, current: string | undefined, io: Output): Promise<void> {
  const command = parseChatLine(line);
  try {
    switch (command.kind) {
      case "empty":
        return;
      case "say": {
        if (current === undefined) throw usageError("no room: /join ROOM first, or /msg USER TEXT");
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
        if (room === undefined) throw usageError("/leave ROOM");
        const left = await link.leave(room);
        if (room === current) io.setRoom(undefined);
        if (io.json === undefined) io.out(left ? `left ${room}` : `you were not in ${room}`);
        return;
      }
      case "who": {
        const room = command.room ?? current;
        if (room === undefined) throw usageError("/who ROOM");
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
        if (current === undefined) throw usageError("no room: /join ROOM first");
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
        throw usageError(command.reason);
    }
  } catch (err) {
    io.out(io.json === undefined ? `! ${describe(err)}` : `wharf: ${describe(err)}`);
    if (io.json !== undefined) process.exitCode = 1;
  }
}

/** `--udp` takes a udp:// URL, or the tcp:// one of the same server (its UDP endpoint shares the port by default). */
function udpUrl(server: string): string {
  const url = server.replace(/^(tcp|tls):\/\//, "udp://");
  if (!url.startsWith("udp://")) throw usageError(`--udp needs a udp:// (or tcp://) server URL, got ${server}`);
  return url;
}
