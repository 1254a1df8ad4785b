/**
 * The services' observability hooks on node:diagnostics_channel, beside the server's `wharf:request` and
 * `wharf:connection`. Each is published only while someone subscribes (metrics do), so they cost a boolean test
 * otherwise. Messages:
 *
 * - `wharf:chat`: `{ event: "delivered" }` per chat event queued to a member; `{ event: "slow-consumer" }` per
 *   member cut off for not reading.
 * - `wharf:files`: `{ event: "upload", bytes }` when a put's data request ends (bytes that arrived, ok or not);
 *   `{ event: "base-list", from: "file" | "memory" }` per list of a delta put's base, read from the file or not.
 * - `wharf:exec`: `{ event: "run" }` per command started.
 * - `wharf:redis`: `{ event: "command", command, ok: boolean, durationMs }` per Redis command (see instrumentRedis()).
 *
 * @module
 */
import { channel } from "node:diagnostics_channel";

export const chatChannel = channel("wharf:chat");
export const filesChannel = channel("wharf:files");
export const execChannel = channel("wharf:exec");
export const redisChannel = channel("wharf:redis");
