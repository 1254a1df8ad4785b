import type { Server } from "../../server/index.js";
import { typesAdded, type Service } from "../service.js";
import { systemClock, type Clock } from "./clock.js";

/** Options of {@link registerTime}. */
export interface TimeOptions {
  /** The clock answered with; default the process's {@link systemClock}. Tests inject a shifted one. */
  clock?: Clock;
}

/**
 * Adds the `time` request type, over every transport: the reply carries `t2` (when the request arrived) and `t3`
 * (when the reply left), in integer microseconds since the Unix epoch, and echoes the request's `t1` if it had
 * one. A client computes offset and delay with the NTP formulas ({@link estimate}). Returns the service (`name`
 * "time"); it holds nothing, so its `close()` resolves at once. (The SNTP responder, `listenSntp`, owns a socket
 * and has a `close()` of its own.)
 *
 * @example
 * ```ts
 * registerTime(server); // or registerTime(server, { clock: createClock({ offsetMs: 5_000 }) })
 * ```
 */
export function registerTime(server: Server, options: TimeOptions = {}): Service {
  const clock = options.clock ?? systemClock;
  if (typeof clock !== "function") throw new TypeError("options.clock must be a function returning µs since the epoch");
  const types = typesAdded(server, () =>
    server.handle("time", (header) => {
      const t2 = clock();
      const t1 = typeof header.t1 === "number" && Number.isFinite(header.t1) ? header.t1 : undefined;
      return { header: t1 === undefined ? { t2, t3: clock() } : { t1, t2, t3: clock() } };
    }),
  );
  return { name: "time", types, close: () => Promise.resolve() };
}
