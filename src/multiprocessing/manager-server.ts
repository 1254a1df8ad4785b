/**
 * The entry point of a Manager's server process: one broker holding the Manager's objects. It reports its
 * address to the parent over IPC, exits when asked, and exits when the parent's channel closes (the parent died),
 * so that no manager outlives its owner.
 */
import { Broker } from "./broker.js";
import "./objects/containers.js";
import "./objects/lock-state.js";
import "./objects/pipe-state.js";
import "./objects/semaphore-state.js";
import "./objects/sync-states.js";

interface StartMessage {
  host?: string;
  port?: number;
  authkey: string;
}

if (typeof process.send !== "function") {
  console.error("wharf manager server: must be started by Manager.start()");
  process.exit(2);
}

process.once("message", (message: StartMessage) => {
  const broker = new Broker();
  const address = message.host !== undefined ? { host: message.host, port: message.port ?? 0 } : undefined;
  broker.listen({ address, authkey: Buffer.from(message.authkey, "hex") }).then(
    (bound) => {
      process.send!({ address: bound });
      process.on("message", (m: { shutdown?: boolean }) => {
        if (m.shutdown) {
          broker.close();
          process.exit(0);
        }
      });
    },
    (error: Error) => {
      process.send!({ error: { message: error.message, code: (error as { code?: string }).code } });
      process.exit(1);
    },
  );
});
process.on("disconnect", () => process.exit(0));
