/**
 * A few methods that `wharf serve` offers out of the box: to try `wharf call`, and for the RPC benchmark.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { RpcRegistry } from "./registry.js";

/**
 * Registers `math.add(a, b)`, `echo(value)` (returns its parameter; binary stays binary) and
 * `demo.count(n, intervalMs?)` (streams 0..n-1). Returns the registry.
 *
 * @example
 * ```ts
 * registerDemoMethods(registerRpc(server));
 * ```
 */
export function registerDemoMethods(registry: RpcRegistry): RpcRegistry {
  registry.method("math.add", ([a, b]: [number, number]) => a + b, {
    params: z.tuple([z.number(), z.number()]),
    description: "the sum of two numbers",
  });
  registry.method("echo", ([value]: [unknown]) => value, {
    params: z.tuple([z.unknown()]),
    description: "returns its one parameter (Buffers come back as Buffers)",
  });
  registry.method(
    "demo.count",
    async function* count([n, interval = 0]: [number, number?], ctx) {
      for (let i = 0; i < n; i += 1) {
        if (interval > 0) await sleep(interval, undefined, { signal: ctx.signal });
        yield i;
      }
    },
    {
      params: z.tuple([z.number().int().min(0).max(1_000_000), z.number().int().min(0).max(60_000).optional()]),
      description: "streams the numbers 0 .. n-1, one every intervalMs",
    },
  );
  return registry;
}
