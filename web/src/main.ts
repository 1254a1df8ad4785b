/**
 * The wharf web application (issue 13): every service over the same wire protocol, through the server's
 * WebSocket gateway. Logs in (or resumes the tab's login), then shows the pages Files, Chat, Exec, RPC, Time and
 * Dashboard, switched by the links of the main navigation (the URL's #fragment, so Back works).
 */
import "@xterm/xterm/css/xterm.css";
import "uplot/dist/uPlot.min.css";
import "../styles.css";
import { el, replaceChildren } from "./dom.js";
import { Session, type LinkState, type LoginInfo } from "./session.js";
import { chatView } from "./views/chat.js";
import { dashboardView } from "./views/dashboard.js";
import { execView } from "./views/exec.js";
import { filesView } from "./views/files.js";
import { loginView } from "./views/login.js";
import { rpcView } from "./views/rpc.js";
import { timeView } from "./views/time.js";
import type { View } from "./views/view.js";

const PAGES: { id: string; title: string; make: (session: Session, info: LoginInfo) => View }[] = [
  { id: "files", title: "Files", make: filesView },
  { id: "chat", title: "Chat", make: chatView },
  { id: "exec", title: "Exec", make: execView },
  { id: "rpc", title: "RPC", make: rpcView },
  { id: "time", title: "Time", make: timeView },
  { id: "dashboard", title: "Dashboard", make: dashboardView },
];

const session = new Session();
const app = document.getElementById("app")!;
const who = document.getElementById("who")!;
const linkState = document.getElementById("link-state")!;

session.onState((state: LinkState) => {
  linkState.textContent = state === "reconnecting" ? "Reconnecting…" : "";
  linkState.dataset.state = state;
});
session.onEnd((reason) => showLogin(reason));

/** Stops the pages of the logged-in app (their timers, subscriptions and uploads); set by showApp. */
let teardown: (() => void) | null = null;

function showLogin(notice = ""): void {
  teardown?.();
  teardown = null;
  replaceChildren(who);
  replaceChildren(app, loginView(session, showApp, notice));
  document.title = "Log in · wharf";
}

function showApp(info: LoginInfo): void {
  const views = new Map<string, View>();
  const links = new Map<string, HTMLAnchorElement>();
  const content = el("div", { class: "pages" });
  const nav = el("nav", { class: "tabs", "aria-label": "Pages" });
  const list = el("ul");
  for (const page of PAGES) {
    const link = el("a", { href: `#${page.id}` }, page.title);
    links.set(page.id, link);
    list.append(el("li", {}, link));
  }
  nav.append(list);

  const logOut = el("button", { type: "button", class: "logout" }, "Log out");
  replaceChildren(who, el("span", {}, "Logged in as "), el("strong", {}, info.user), " ", logOut);

  let current: string | null = null;
  const route = (): void => {
    const wanted = location.hash.slice(1);
    const page = PAGES.find((p) => p.id === wanted) ?? PAGES[0]!;
    if (page.id === current) return;
    if (current !== null) {
      const previous = views.get(current)!;
      previous.element.hidden = true;
      previous.hide?.();
      links.get(current)!.removeAttribute("aria-current");
    }
    let view = views.get(page.id);
    if (view === undefined) {
      view = page.make(session, info);
      views.set(page.id, view);
      content.append(view.element);
    }
    view.element.hidden = false;
    view.show?.();
    links.get(page.id)!.setAttribute("aria-current", "page");
    document.title = `${page.title} · wharf`;
    current = page.id;
  };
  window.addEventListener("hashchange", route);

  teardown = () => {
    window.removeEventListener("hashchange", route);
    for (const view of views.values()) view.dispose();
  };
  logOut.addEventListener("click", () => {
    void session.logOut().finally(() => showLogin());
  });

  replaceChildren(app, nav, content);
  route();
}

void session.resume().then((info) => (info === null ? showLogin() : showApp(info)));
