/** How many characters of a client's value an error message quotes before cutting it with an ellipsis. */
export const MAX_QUOTED = 64;

/**
 * A client's value as an error message quotes it: JSON-quoted and cut to a few dozen characters, so that an
 * error about a hostile value stays small (a 30,000-quote string would double under JSON escaping).
 *
 * @example
 * ```ts
 * import { quote } from "wharf/wire";
 * quote("x".repeat(1000)); // "\"xxxxxxxx…\"" (64 x's and an ellipsis, quoted)
 * ```
 */
export function quote(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}
