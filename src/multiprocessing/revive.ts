/**
 * The reviver the pool calls in a child for a reduced argument: loads every handle class, then rebuilds the
 * handle of the reference. (Kept apart from handle.ts so that the class modules load before any revive.)
 */
import { handleFor, type Ref, type SharedObject } from "./handle.js";
import "./event.js";
import "./lock.js";
import "./pipe.js";
import "./proxies.js";
import "./queue.js";
import "./semaphore.js";

/** Rebuilds a handle from the reference another process sent. */
export function revive(ref: Ref): SharedObject {
  return handleFor(ref);
}
