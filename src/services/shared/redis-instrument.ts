import type { Redis } from "ioredis";
import { redisChannel } from "./channels.js";

/**
 * Counts the round trips of an ioredis client on `wharf:redis` (`{ event: "command", command, ok, durationMs }`),
 * for metrics: wraps its `sendCommand`, through which every command passes (pipelines and pub/sub included), and
 * reports those sent once the client is ready. Costs a boolean test per command while nobody subscribes.
 * Idempotent per client.
 *
 * @example
 * ```ts
 * const link = openRedis(url, logger);
 * instrumentRedis(link.client);
 * ```
 */
export function instrumentRedis(client: Redis): Redis {
  const marked = client as Redis & { [INSTRUMENTED]?: true };
  if (marked[INSTRUMENTED] === true) return client;
  marked[INSTRUMENTED] = true;
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: Parameters<Redis["sendCommand"]>[0], stream?: Parameters<Redis["sendCommand"]>[1]) => {
    const result = send(command, stream);
    // Only wharf's own commands: not the handshake ioredis sends while connecting (INFO, CLIENT SETINFO, which an
    // older Redis refuses every time and would count as errors).
    if (redisChannel.hasSubscribers && client.status === "ready") {
      const started = performance.now();
      const report = (ok: boolean): void => redisChannel.publish({ event: "command", command: command.name, ok, durationMs: performance.now() - started });
      command.promise.then(
        () => report(true),
        () => report(false),
      );
    }
    return result;
  }) as Redis["sendCommand"];
  return client;
}

const INSTRUMENTED = Symbol("wharf.redisInstrumented");
