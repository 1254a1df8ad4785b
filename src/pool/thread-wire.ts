/**
 * What a thread worker sends back, kept small because the main thread deserializes one reply per task: a
 * successful task's value goes back as it is; only failures and skips are wrapped, in objects whose single key
 * no task result is expected to use.
 */
import type { ErrorEnvelope } from "./error-envelope.js";
import type { Outcome } from "./run-task.js";

export const ERROR_KEY = "__wharf.pool.error__";
export const SKIPPED_KEY = "__wharf.pool.skipped__";

/** The reply for a task cancelled after it was handed to the worker. */
export const SKIPPED_REPLY = { [SKIPPED_KEY]: true } as const;

/** Worker side: the reply for an outcome. */
export function toReply(outcome: Outcome): unknown {
  return outcome.ok ? outcome.value : { [ERROR_KEY]: outcome.error };
}

/** Main side: the outcome of a reply, or "skipped". */
export function fromReply(reply: unknown): Outcome | "skipped" {
  if (reply !== null && typeof reply === "object") {
    if (ERROR_KEY in reply) return { ok: false, error: (reply as Record<string, ErrorEnvelope>)[ERROR_KEY]! };
    if (SKIPPED_KEY in reply) return "skipped";
  }
  return { ok: true, value: reply };
}
