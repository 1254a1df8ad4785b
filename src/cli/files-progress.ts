import { createRequire } from "node:module";
import type { TransferProgress } from "../services/files/index.js";
import { formatBytes } from "./units.js";

export { formatBytes };

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A transfer's progress bar on the terminal: what to pass as `onProgress`, and `stop` when done. */
export interface ProgressBar {
  onProgress(progress: TransferProgress): void;
  stop(): void;
}

/**
 * A progress bar for one transfer (bytes, rate, ETA) drawn on stderr when stderr is a terminal; null otherwise,
 * so that logs and pipes never get bar output. The rate counts only bytes moved by this run, not resumed ones.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar | null {
  if (!stream.isTTY) return null;
  // Loaded here, on a terminal only: a put from a script or a pipe does not pay for it at start-up.
  const cliProgress = createRequire(import.meta.url)("cli-progress") as typeof import("cli-progress");
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% {doneText}/{totalText} {rateText} ETA {etaText}`,
    barsize: 24,
    hideCursor: true,
    fps: 8,
    barCompleteChar: "#",
    barIncompleteChar: "-",
  });
  let started = 0;
  let startedAt = 0;
  let running = false;
  return {
    onProgress({ done, total, resumedFrom }) {
      const now = performance.now();
      if (!running) {
        running = true;
        started = resumedFrom;
        startedAt = now;
        bar.start(Math.max(total, 1), total === 0 ? 1 : done, { doneText: formatBytes(done), totalText: formatBytes(total), rateText: "", etaText: "--:--" });
        return;
      }
      const seconds = (now - startedAt) / 1000;
      const rate = seconds > 0 ? (done - started) / seconds : 0;
      bar.update(total === 0 ? 1 : done, {
        doneText: formatBytes(done),
        totalText: formatBytes(total),
        rateText: `${formatBytes(rate)}/s`,
        etaText: rate > 0 ? formatSeconds((total - done) / rate) : "--:--",
      });
    },
    stop() {
      if (!running) return;
      running = false;
      bar.stop();
    },
  };
}
