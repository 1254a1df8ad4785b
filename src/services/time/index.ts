/**
 * Time: the `time` request type (NTP-style timestamps over every transport), a client that estimates a server's
 * clock offset, and an SNTP (RFC 4330) responder. Import from `wharf/time`. See docs/time.md.
 *
 * @module
 */
export { createClock, systemClock, type Clock, type ClockOptions } from "./clock.js";
export { bestSample, estimate, type TimeEstimate, type TimeSample } from "./formulas.js";
export { queryTime, type QueryTimeOptions, type TimeResult } from "./client.js";
export { registerTime, type TimeOptions } from "./service.js";
export { isSntpRequest, readNtpTimestamp, sntpReply, writeNtpTimestamp, NTP_UNIX_DELTA, SNTP_PACKET_SIZE, type SntpIdentity } from "./sntp.js";
export { listenSntp, type SntpListener, type SntpListenOptions } from "./sntp-listener.js";
