/**
 * Small DOM helpers for the web app. Text always goes in as text nodes (never innerHTML), so whatever a server or
 * another user sends is shown as the characters it is and never runs.
 */

/** Attributes of {@link el}: `false`/`undefined` leave the attribute out, `true` sets it empty. */
export type Attributes = Record<string, string | number | boolean | undefined>;

/** A child of {@link el}: strings become text nodes. */
export type Child = Node | string | null | undefined | false;

/**
 * Creates an element with attributes and children.
 *
 * @example
 * ```ts
 * const button = el("button", { type: "button", "aria-label": "Delete notes.txt" }, "Delete");
 * ```
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends children, strings as text. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A label wrapping its control, so the control's accessible name is the label's text. */
export function labelled(text: string, control: HTMLElement, attributes: Attributes = {}): HTMLLabelElement {
  return el("label", attributes, el("span", { class: "label-text" }, text), control);
}

/** `1536` -> `"1.5 KiB"`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** A rate in bytes per second, e.g. `"12.5 MiB/s"`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Milliseconds since the epoch as local `YYYY-MM-DD HH:MM:SS`. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Milliseconds since the epoch as local `HH:MM:SS`. */
export function formatClock(ms: number): string {
  return formatDateTime(ms).slice(11);
}

/** `E_CODE: message` for a WharfError-like value, else the error's message. */
export function describeError(err: unknown): string {
  if (err !== null && typeof err === "object") {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === "string" && typeof message === "string") return message.startsWith(code) ? message : `${code}: ${message}`;
    if (typeof message === "string") return message;
  }
  return String(err);
}

/** The `code` of a WharfError-like value, or undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = err !== null && typeof err === "object" ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
