/**
 * Stats: a live view of what a server does, for dashboards. `stats.subscribe` on a logged-in connection gets a
 * `stats` event every second: connections, requests per second per type, latency percentiles, bytes in and out.
 * See docs/protocol.md ("Stats") and docs/browser.md.
 *
 * @module
 */
export { registerStats, REQUEST_CHANNEL, type RequestMessage, type StatsOptions, type StatsService, type StatsSnapshot } from "./service.js";
export { StatsWindow, MAX_TYPES, OTHER_TYPE, RESERVOIR_SIZE, type LatencyPercentiles, type TypeStats } from "./window.js";
