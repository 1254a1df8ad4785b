/**
 * Task functions for the pool examples; worker threads and child processes import this module.
 */

/** Deliberately slow Fibonacci: CPU-bound work worth a thread. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export function mustBePositive(n: number): number {
  if (n <= 0) throw new RangeError(`expected a positive number, got ${n}`);
  return n;
}
