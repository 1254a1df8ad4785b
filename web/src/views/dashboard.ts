/**
 * The Dashboard page: live charts "Connections", "Requests per second", "Latency" and "Transfer rate", fed over
 * the page's own WebSocket by the server's `stats` subscription (one snapshot a second) while the page is shown.
 */
import { subscribeStats, type BrowserConnection } from "wharf/browser";
import { describeError, el, formatRate, replaceChildren } from "../dom.js";
import type { LoginInfo, Session } from "../session.js";
import { LiveChart } from "./chart.js";
import type { View } from "./view.js";

/** A `stats` event (docs/protocol.md, stats). Fields the page does not know are ignored. */
export interface StatsSnapshot {
  at?: number;
  connections?: number;
  requestsPerSecond?: number;
  byType?: Record<string, { count?: number; errors?: number; perSecond?: number }>;
  latencyMs?: { p50?: number; p90?: number; p99?: number };
  bytesInPerSecond?: number;
  bytesOutPerSecond?: number;
}

/** Builds the Dashboard page. */
export function dashboardView(session: Session, _info: LoginInfo): View {
  const connections = new LiveChart({ title: "Connections", series: ["open"] });
  const requests = new LiveChart({ title: "Requests per second", series: ["requests/s"] });
  const latency = new LiveChart({ title: "Latency", series: ["p50", "p90", "p99"], unit: "ms" });
  const transfer = new LiveChart({ title: "Transfer rate", series: ["in", "out"], unit: "B/s" });
  const busiest = el("tbody");
  const status = el("p", { class: "status", role: "status" });
  const element = el(
    "section",
    { class: "page dashboard-page", "aria-labelledby": "dashboard-title" },
    el("h2", { id: "dashboard-title" }, "Dashboard"),
    el("div", { class: "charts" }, connections.element, requests.element, latency.element, transfer.element),
    el(
      "table",
      { class: "by-type" },
      el("caption", {}, "Requests by type"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Type"), el("th", { scope: "col" }, "Count"), el("th", { scope: "col" }, "Errors"), el("th", { scope: "col" }, "Per second"))),
      busiest,
    ),
    status,
  );

  let visible = false;
  let stop: (() => Promise<void>) | null = null;
  let subscribedOn: BrowserConnection | null = null;

  const onStats = (snapshot: StatsSnapshot): void => {
    const x = (snapshot.at ?? Date.now()) / 1000;
    connections.push(x, [snapshot.connections ?? 0]);
    requests.push(x, [snapshot.requestsPerSecond ?? 0]);
    latency.push(x, [snapshot.latencyMs?.p50 ?? 0, snapshot.latencyMs?.p90 ?? 0, snapshot.latencyMs?.p99 ?? 0]);
    transfer.push(x, [snapshot.bytesInPerSecond ?? 0, snapshot.bytesOutPerSecond ?? 0]);
    element.dataset.snapshots = String(connections.updates);
    const rows = Object.entries(snapshot.byType ?? {})
      .sort((a, b) => (b[1].count ?? 0) - (a[1].count ?? 0))
      .slice(0, 12)
      .map(([type, t]) => el("tr", {}, el("td", {}, type), el("td", {}, String(t.count ?? 0)), el("td", {}, String(t.errors ?? 0)), el("td", {}, String(t.perSecond ?? 0))));
    replaceChildren(busiest, ...rows);
    status.textContent = `Transfer: in ${formatRate(snapshot.bytesInPerSecond ?? 0)}, out ${formatRate(snapshot.bytesOutPerSecond ?? 0)}`;
  };

  const subscribe = (conn: BrowserConnection): void => {
    if (!visible || subscribedOn === conn) return;
    subscribedOn = conn;
    subscribeStats(conn, (snapshot: unknown) => onStats(snapshot as StatsSnapshot))
      .then((unsubscribe) => {
        if (subscribedOn === conn && visible) stop = unsubscribe;
        else void unsubscribe().catch(() => undefined);
      })
      .catch((err: unknown) => {
        subscribedOn = null;
        status.textContent = describeError(err);
      });
  };

  const unsubscribe = (): void => {
    const s = stop;
    stop = null;
    subscribedOn = null;
    if (s !== null) void s().catch(() => undefined);
  };

  const stopConnect = session.onConnect((conn) => {
    subscribedOn = null;
    stop = null;
    subscribe(conn);
  });

  return {
    element,
    show: () => {
      visible = true;
      const conn = session.connection;
      if (conn !== null) subscribe(conn);
    },
    hide: () => {
      visible = false;
      unsubscribe();
    },
    dispose: () => {
      visible = false;
      unsubscribe();
      stopConnect();
      for (const chart of [connections, requests, latency, transfer]) chart.destroy();
    },
  };
}
