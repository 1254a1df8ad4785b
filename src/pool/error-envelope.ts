/**
 * Carrying a task's error across a thread or process boundary with its class, message, stack and properties.
 * Structured clone alone keeps message and stack of built-in errors but drops `code` and other own properties, and
 * turns custom error classes into plain Errors without their name; the envelope keeps all that is cloneable.
 */
import { TaskNotFoundError } from "./errors.js";

/** A serialized thrown value. */
export type ErrorEnvelope =
  | {
      readonly error: true;
      readonly name: string;
      readonly message: string;
      readonly stack: string | undefined;
      readonly props: Record<string, unknown>;
      readonly cause?: ErrorEnvelope | undefined;
    }
  | { readonly error: false; readonly value: unknown };

const BUILTIN: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function cloneable(value: unknown): boolean {
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) {
    return true;
  }
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Turns any thrown value into a cloneable envelope. */
export function encodeError(thrown: unknown, depth = 0): ErrorEnvelope {
  if (!(thrown instanceof Error)) {
    return { error: false, value: cloneable(thrown) ? thrown : String(thrown) };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === "cause" || key === "stack" || key === "message") continue;
    const value = (thrown as unknown as Record<string, unknown>)[key];
    if (cloneable(value)) props[key] = value;
  }
  const cause = (thrown as { cause?: unknown }).cause;
  return {
    error: true,
    name: thrown.name,
    message: thrown.message,
    stack: thrown.stack,
    props,
    cause: cause === undefined || depth > 8 ? undefined : encodeError(cause, depth + 1),
  };
}

/** Rebuilds the thrown value from its envelope. */
export function decodeError(envelope: ErrorEnvelope): unknown {
  if (!envelope.error) return envelope.value;
  const options = envelope.cause === undefined ? undefined : { cause: decodeError(envelope.cause) };
  let error: Error;
  if (envelope.name === "TaskNotFoundError") {
    error = new TaskNotFoundError(envelope.message, options);
  } else {
    const Ctor = BUILTIN[envelope.name] ?? Error;
    error = new Ctor(envelope.message, options);
    if (error.name !== envelope.name) {
      Object.defineProperty(error, "name", { value: envelope.name, configurable: true, writable: true });
    }
  }
  Object.defineProperty(error, "stack", { value: envelope.stack, configurable: true, writable: true });
  for (const [key, value] of Object.entries(envelope.props)) {
    if (key === "code" && error instanceof TaskNotFoundError) continue;
    (error as unknown as Record<string, unknown>)[key] = value;
  }
  return error;
}
