/**
 * Tiny tasks for the pool benchmark. `add` is what wharf's executors call; the default export is the same work in
 * the shape piscina calls directly (one argument).
 */
export function add(a: number, b: number): number {
  return a + b;
}

export default function addTask({ a, b }: { a: number; b: number }): number {
  return a + b;
}
