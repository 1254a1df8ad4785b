/**
 * The Chat page: a "Room" field, the room's messages in a `log` (sender, time, text; history replayed on join;
 * who is present), a "Message" textbox that sends on Enter. After a dropped connection the page rejoins with the
 * last msgId it showed (`chat.join` with `since`), so the messages sent meanwhile arrive once, in order; sends
 * that were not answered are sent again with the same clientId, which the server delivers only once.
 */
import type { BrowserConnection } from "wharf/browser";
import { describeError, el, formatClock, labelled, replaceChildren } from "../dom.js";
import type { LoginInfo, Session } from "../session.js";
import type { View } from "./view.js";

interface PendingSend {
  clientId: string;
  text: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds the Chat page. */
export function chatView(session: Session, _info: LoginInfo): View {
  const roomInput = el("input", { name: "room", autocomplete: "off", value: "lobby", pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" });
  const joinButton = el("button", { type: "submit" }, "Join");
  const roomForm = el("form", { class: "inline-form" }, labelled("Room", roomInput), joinButton);
  const title = el("h3", { class: "room-title" }, "Not in a room");
  const log = el("ol", { role: "log", "aria-label": "Messages", "aria-live": "polite", class: "chat-log" });
  const members = el("ul", { class: "members", "aria-label": "Present" });
  const message = el("input", { name: "message", autocomplete: "off", maxlength: 4096, disabled: true });
  const messageForm = el("form", { class: "message-form" }, labelled("Message", message), el("button", { type: "submit" }, "Send"));
  const status = el("p", { class: "status", role: "status" });
  const element = el(
    "section",
    { class: "page chat-page", "aria-labelledby": "chat-title" },
    el("h2", { id: "chat-title" }, "Chat"),
    roomForm,
    title,
    el("div", { class: "chat-body" }, log, el("aside", { class: "presence" }, el("h4", {}, "Present"), members)),
    messageForm,
    status,
  );

  let room: string | null = null;
  let lastSeen = 0;
  let present = new Set<string>();
  const pending: PendingSend[] = [];
  let flushing = false;
  let conn: BrowserConnection | null = null;
  let stopEvents: (() => void) | null = null;
  const clientPrefix = `web-${Math.random().toString(36).slice(2, 10)}-${Date.now().toString(36)}`;
  let counter = 0;

  const scrollDown = (): void => {
    log.scrollTop = log.scrollHeight;
  };

  const renderMembers = (): void => {
    replaceChildren(members, ...[...present].sort().map((name) => el("li", {}, name)));
  };

  const showMessage = (from: string, ts: number, text: string, replay: boolean): void => {
    log.append(
      el(
        "li",
        { class: replay ? "msg replay" : "msg" },
        el("span", { class: "from" }, from),
        " ",
        el("time", { datetime: new Date(ts).toISOString() }, formatClock(ts)),
        " ",
        el("span", { class: "text" }, text),
      ),
    );
    scrollDown();
  };

  const showNote = (text: string): void => {
    log.append(el("li", { class: "note" }, text));
    scrollDown();
  };

  const onEvent = (header: Record<string, unknown>, body: Uint8Array): void => {
    if (header.room !== room) return;
    if (header.event === "chat.message") {
      const msgId = Number(header.msgId);
      // Replays after a reconnect may overlap what was shown: msgIds are consecutive per room, so skip old ones.
      if (!(msgId > lastSeen)) return;
      lastSeen = msgId;
      showMessage(String(header.from), Number(header.ts), decoder.decode(body), header.replay === true);
    } else if (header.event === "chat.presence") {
      const user = String(header.user);
      if (header.action === "join") {
        if (!present.has(user)) showNote(`${user} joined`);
        present.add(user);
      } else {
        present.delete(user);
        showNote(`${user} left`);
      }
      renderMembers();
    }
  };

  const refreshMembers = async (c: BrowserConnection, name: string): Promise<void> => {
    const { body } = await c.request({ type: "chat.who", room: name });
    if (room !== name) return;
    present = new Set(JSON.parse(decoder.decode(body)) as string[]);
    renderMembers();
  };

  const enter = async (c: BrowserConnection, name: string): Promise<void> => {
    await c.request({ type: "chat.join", room: name, since: lastSeen });
    await refreshMembers(c, name);
    message.disabled = false;
    void flush();
  };

  const flush = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    try {
      while (pending.length > 0 && conn !== null && room !== null) {
        const next = pending[0]!;
        const bytes = encoder.encode(next.text);
        await conn.request({ type: "chat.send", room, clientId: next.clientId }, bytes);
        pending.shift();
      }
      status.textContent = "";
    } catch (err) {
      // A cut connection leaves the send pending: the reconnect sends it again with the same clientId.
      status.textContent = session.connection === null ? "Reconnecting; your message will be sent then." : describeError(err);
      if (session.connection !== null && conn !== null && !conn.closed) pending.shift();
    } finally {
      flushing = false;
    }
  };

  const attach = (c: BrowserConnection): void => {
    stopEvents?.();
    conn = c;
    stopEvents = c.onEvent((header, body) => onEvent(header as Record<string, unknown>, body));
    // The Message box stays usable while reconnecting: what is typed waits in `pending`.
    c.onClose(() => {
      if (conn === c) conn = null;
    });
    if (room !== null) {
      const name = room;
      enter(c, name).catch((err: unknown) => (status.textContent = describeError(err)));
    }
  };

  roomForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = roomInput.value.trim();
    const c = conn;
    if (c === null || name === "" || name === room) return;
    const previous = room;
    room = name;
    lastSeen = 0;
    present = new Set();
    pending.length = 0;
    replaceChildren(log);
    renderMembers();
    title.textContent = `Room ${name}`;
    status.textContent = "";
    void (async () => {
      try {
        if (previous !== null) await c.request({ type: "chat.leave", room: previous }).catch(() => undefined);
        await enter(c, name);
        message.focus();
      } catch (err) {
        room = null;
        title.textContent = "Not in a room";
        status.textContent = describeError(err);
      }
    })();
  });

  messageForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = message.value;
    if (text.trim() === "" || room === null) return;
    counter += 1;
    pending.push({ clientId: `${clientPrefix}-${counter}`, text });
    message.value = "";
    void flush();
  });

  const unsubscribe = session.onConnect(attach);
  return {
    element,
    show: () => (room === null ? roomInput : message).focus(),
    dispose: () => {
      unsubscribe();
      stopEvents?.();
    },
  };
}
