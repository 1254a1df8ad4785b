/**
 * A small live line chart (uPlot on a canvas) in a `figure` whose caption is its accessible name, keeping the
 * last `capacity` points and fitting the width of its container (narrow windows included).
 */
import uPlot from "uplot";
import { el } from "../dom.js";

/** Options of {@link LiveChart}. */
export interface LiveChartOptions {
  /** The caption, which is also the figure's accessible name, e.g. "Latency". */
  title: string;
  /** One label per line, e.g. ["p50", "p90", "p99"]. */
  series: string[];
  /** Shown after values on the axis, e.g. "ms". */
  unit?: string;
  /** Points kept (default 120). */
  capacity?: number;
  /** Seconds of time the x axis spans, ending at the newest point (default 120). */
  windowSeconds?: number;
  height?: number;
}

const COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700"];

/**
 * A live chart.
 *
 * @example
 * ```ts
 * const chart = new LiveChart({ title: "Connections", series: ["open"] });
 * document.body.append(chart.element);
 * chart.push(Date.now() / 1000, [3]);
 * ```
 */
export class LiveChart {
  readonly element: HTMLElement;
  #plot: uPlot | null = null;
  #box: HTMLElement;
  #data: number[][];
  #options: LiveChartOptions;
  #capacity: number;
  #value: HTMLElement;
  #observer: ResizeObserver;
  #updates = 0;

  constructor(options: LiveChartOptions) {
    this.#options = options;
    this.#capacity = options.capacity ?? 120;
    this.#data = [[], ...options.series.map(() => [])];
    const id = `chart-${options.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    this.#box = el("div", { class: "chart-canvas" });
    this.#value = el("span", { class: "chart-value" });
    this.element = el("figure", { class: "chart", "aria-labelledby": id }, el("figcaption", { id }, options.title), this.#value, this.#box);
    this.#observer = new ResizeObserver(() => this.#fit());
    this.#observer.observe(this.element);
  }

  /** How many times the chart was given new points. */
  get updates(): number {
    return this.#updates;
  }

  /** Adds a point (x in seconds since the epoch, one y per series) and redraws. */
  push(x: number, ys: number[]): void {
    this.#data[0]!.push(x);
    ys.forEach((y, i) => this.#data[i + 1]!.push(y));
    if (this.#data[0]!.length > this.#capacity) for (const column of this.#data) column.shift();
    this.#updates += 1;
    this.element.dataset.points = String(this.#data[0]!.length);
    const unit = this.#options.unit === undefined ? "" : ` ${this.#options.unit}`;
    this.#value.textContent = this.#options.series.map((name, i) => `${this.#options.series.length > 1 ? `${name} ` : ""}${format(ys[i] ?? 0)}${unit}`).join(", ");
    if (this.#plot === null) this.#fit();
    else this.#plot.setData(this.#data as uPlot.AlignedData);
  }

  /** Removes the chart's canvas and stops watching its size. */
  destroy(): void {
    this.#observer.disconnect();
    this.#plot?.destroy();
    this.#plot = null;
  }

  #window(): [number, number] {
    const xs = this.#data[0]!;
    const newest = xs.length > 0 ? xs[xs.length - 1]! : Date.now() / 1000;
    return [newest - (this.#options.windowSeconds ?? 120), newest];
  }

  #fit(): void {
    const width = Math.max(200, Math.floor(this.element.clientWidth));
    if (this.element.clientWidth === 0) return;
    if (this.#plot === null) {
      if (this.#data[0]!.length === 0) return;
      const unit = this.#options.unit ?? "";
      this.#plot = new uPlot(
        {
          width,
          height: this.#options.height ?? 160,
          legend: { show: false },
          cursor: { show: false },
          // A fixed window ending now: one point must not stretch the axis over years.
          // (From the data itself: with one point uPlot's own max is padded out of all proportion.)
          scales: { x: { time: true, range: () => this.#window() } },
          series: [{}, ...this.#options.series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
          // The y axis is as wide as its longest label ("0.50 ms", "12.5 MiB/s"), so no label is cut at the left.
          // The x axis: plain clock times, spaced so that they never run into each other on a narrow chart.
          axes: [{ space: 70, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })) }, { size: (_u: uPlot, values: string[] | null) => (values === null || values.length === 0 ? 50 : Math.max(...values.map((v) => v.length)) * 7 + 20), values: (_u: uPlot, ticks: number[]) => ticks.map((t) => `${format(t)}${unit === "" ? "" : ` ${unit}`}`) }],
        },
        this.#data as uPlot.AlignedData,
        this.#box,
      );
    } else if (Math.abs(this.#plot.width - width) > 2) {
      this.#plot.setSize({ width, height: this.#options.height ?? 160 });
    }
  }
}

function format(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100 || Number.isInteger(value)) return value.toFixed(0);
  return value.toFixed(abs >= 1 ? 1 : 2);
}
