/**
 * The module piscina loads in each worker thread of a {@link ThreadPoolExecutor}: it runs one task request and
 * returns the outcome, asking piscina to move whatever a `transfer()` result listed.
 */
import { workerData } from "node:worker_threads";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { encodeError } from "./error-envelope.js";
import { runTaskFast, type Outcome, type TaskRequest } from "./run-task.js";
import { QUEUED, STARTED } from "./start-flags.js";
import { SKIPPED_REPLY, toReply } from "./thread-wire.js";

const flags = new Int32Array((workerData as { flags: SharedArrayBuffer }).flags);

export default function run(request: TaskRequest & { slot: number }): unknown {
  // Claim the task; if the main thread cancelled it while it waited in piscina's queue, skip it.
  if (Atomics.compareExchange(flags, request.slot, QUEUED, STARTED) !== QUEUED) return SKIPPED_REPLY;
  const transferList: Transferable[] = [];
  const outcome = runTaskFast(request, transferList);
  return outcome instanceof Promise ? outcome.then((o) => finish(o, transferList)) : finish(outcome, transferList);
}

function finish(outcome: Outcome, transferList: Transferable[]): unknown {
  if (transferList.length === 0) {
    // piscina posts the result after we return; a value that cannot be cloned would then kill the worker and lose
    // the reason. Checking here turns it into an ordinary task error (primitives need no check).
    if (outcome.ok && (typeof outcome.value === "object" || typeof outcome.value === "function") && outcome.value !== null) {
      try {
        structuredClone(outcome.value);
      } catch (error) {
        outcome = { ok: false, error: encodeError(error) };
      }
    }
    return toReply(outcome);
  }
  return move({
    get [transferableSymbol]() {
      return transferList;
    },
    get [valueSymbol]() {
      return toReply(outcome);
    },
  } as never);
}

type Transferable = import("./task.js").Transferable;
