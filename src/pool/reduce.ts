/**
 * Reduction of task arguments, Python's `__reduce__` for wharf: an object that cannot cross a process boundary
 * as it is (a process-shared Lock, Queue or Manager proxy) says how to rebuild it on the other side. The pool
 * stays ignorant of what such objects are: it sends the description, and the child imports the module it names
 * and calls its reviver. This keeps `wharf/pool` below `wharf/multiprocessing` (no import runs upward).
 */

/**
 * The method an object defines to be passed to a child process: it returns a {@link Reduction}. `Symbol.for`, so
 * that every copy of wharf agrees on it.
 */
export const kReduce: unique symbol = Symbol.for("wharf.reduce") as never;

/** How to rebuild an object in another process: call export `name` of module `url` with `state`. */
export interface Reduction {
  readonly url: string;
  readonly name: string;
  readonly state: unknown;
}

/** The key a reduced object travels under; a string, since symbols do not survive the structured clone. */
const MARK = "__wharf_reduced__";

/** How deep into plain arrays and objects among the arguments reducible objects are looked for. */
const MAX_DEPTH = 3;

function reduceValue(value: unknown, depth: number, found: { any: boolean }): unknown {
  if (typeof value !== "object" || value === null) return value;
  const reduce = (value as { [kReduce]?: unknown })[kReduce];
  if (typeof reduce === "function") {
    found.any = true;
    return { [MARK]: (reduce as () => Reduction).call(value) };
  }
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item !== "object" || item === null) continue;
      const reduced = reduceValue(item, depth + 1, found);
      if (reduced !== item) (copy ??= value.slice())[i] = reduced;
    }
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== "object" || item === null) continue;
      const reduced = reduceValue(item, depth + 1, found);
      if (reduced !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = reduced;
    }
    return copy ?? value;
  }
  return value;
}

/**
 * Replaces every reducible object among `args` (and inside plain arrays and objects among them, up to three
 * levels deep) by its reduction. `reduced` says whether the child must revive anything, so that arguments
 * without any cost the child no walk.
 */
export function reduceArgs(args: readonly unknown[]): { args: unknown[]; reduced: boolean } {
  const found = { any: false };
  const out = reduceValue(args, -1, found) as unknown[];
  return { args: out, reduced: found.any };
}

async function reviveValue(value: unknown, depth: number): Promise<unknown> {
  if (typeof value !== "object" || value === null) return value;
  const reduction = (value as Record<string, unknown>)[MARK] as Reduction | undefined;
  if (reduction !== undefined) {
    const module = (await import(reduction.url)) as Record<string, unknown>;
    const revive = module[reduction.name];
    if (typeof revive !== "function") throw new TypeError(`${reduction.url} has no reviver "${reduction.name}"`);
    return (revive as (state: unknown) => unknown)(reduction.state);
  }
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = await reviveValue(value[i], depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) (value as Record<string, unknown>)[key] = await reviveValue(item, depth + 1);
  }
  return value;
}

/** In the child: rebuilds the objects {@link reduceArgs} reduced (in place; the arguments are a fresh copy). */
export async function reviveArgs(args: unknown[]): Promise<unknown[]> {
  return (await reviveValue(args, -1)) as unknown[];
}
