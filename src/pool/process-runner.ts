/**
 * The entry point of every child process wharf forks: `pool` mode serves one task at a time for a
 * {@link ProcessPoolExecutor}; `process` mode runs a single task for a {@link Process} and exits.
 *
 * Children die with their parent: when the IPC channel closes (the parent exited, was killed, or shut the pool
 * down), a pool child or a daemon process exits at once.
 */
import { encodeError } from "./error-envelope.js";
import { runTask, type Outcome, type TaskRequest } from "./run-task.js";
import { runTaskEndFlushes } from "./task-end.js";

/** Runs the task, then lets what it sent on process-shared objects reach its broker (see task-end.ts). */
async function runAndFlush(message: TaskRequest): Promise<Outcome> {
  const outcome = await runTask(message);
  await runTaskEndFlushes();
  return outcome;
}

const [mode, lifetime] = process.argv.slice(2);

if (typeof process.send !== "function") {
  console.error("wharf process runner: must be started by wharf with an IPC channel");
  process.exit(2);
}

if (mode === "pool" || lifetime === "daemon") {
  process.on("disconnect", () => process.exit(0));
}

if (mode === "pool") {
  process.on("message", (message: { id: number } & TaskRequest) => {
    void runAndFlush(message).then((outcome) => {
      try {
        process.send!({ id: message.id, outcome });
      } catch (error) {
        // The result could not be serialized: fail the task, not the child.
        process.send!({ id: message.id, outcome: { ok: false, error: encodeError(error) } });
      }
    });
  });
} else {
  process.once("message", (message: TaskRequest) => {
    void runAndFlush(message).then((outcome) => {
      if (!outcome.ok) {
        const { error } = outcome;
        console.error(error.error ? (error.stack ?? `${error.name}: ${error.message}`) : error.value);
      }
      process.exit(outcome.ok ? 0 : 1);
    });
  });
}
