/**
 * The Time page: the server's clock, this browser's offset from it and the round-trip delay (the `time` request,
 * NTP's formulas), refreshed every two seconds while shown, with a small plot of the offset over time.
 */
import { time } from "wharf/browser";
import { describeError, el, formatDateTime } from "../dom.js";
import type { LoginInfo, Session } from "../session.js";
import { LiveChart } from "./chart.js";
import type { View } from "./view.js";

const REFRESH_MS = 2_000;

/** Builds the Time page. */
export function timeView(session: Session, _info: LoginInfo): View {
  const serverTime = el("dd", { class: "server-time" }, "—");
  const offset = el("dd", { class: "offset" }, "—");
  const delay = el("dd", { class: "delay" }, "—");
  const refreshed = el("dd", { class: "refreshed" }, "—");
  const status = el("p", { class: "status", role: "status" });
  const chart = new LiveChart({ title: "Offset over time", series: ["offset"], unit: "ms", capacity: 90, windowSeconds: 180, height: 140 });
  const element = el(
    "section",
    { class: "page time-page", "aria-labelledby": "time-title" },
    el("h2", { id: "time-title" }, "Time"),
    el("dl", { class: "facts" }, el("dt", {}, "Server time"), serverTime, el("dt", {}, "Offset"), offset, el("dt", {}, "Delay"), delay, el("dt", {}, "Refreshed"), refreshed),
    chart.element,
    status,
  );

  let timer: ReturnType<typeof setInterval> | null = null;
  let lastOffset = 0;
  let lastAt = 0;

  const sample = async (): Promise<void> => {
    const conn = session.connection;
    if (conn === null) return;
    try {
      const reply = await time(conn);
      lastOffset = reply.offset;
      lastAt = performance.now();
      offset.textContent = `${reply.offset.toFixed(2)} ms`;
      delay.textContent = `${reply.delay.toFixed(2)} ms`;
      refreshed.textContent = formatDateTime(Date.now());
      chart.push(Date.now() / 1000, [reply.offset]);
      tick();
      status.textContent = "";
    } catch (err) {
      status.textContent = describeError(err);
    }
  };

  // The server's clock, ticking between samples: this browser's clock plus the last offset measured.
  const tick = (): void => {
    if (lastAt > 0) serverTime.textContent = formatDateTime(Date.now() + lastOffset);
  };

  return {
    element,
    show: () => {
      if (timer !== null) return;
      void sample();
      let ticks = 0;
      timer = setInterval(() => {
        tick();
        ticks += 1;
        if (ticks % (REFRESH_MS / 500) === 0) void sample();
      }, 500);
    },
    hide: () => {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
    dispose: () => {
      if (timer !== null) clearInterval(timer);
      timer = null;
      chart.destroy();
    },
  };
}
