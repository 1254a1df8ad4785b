import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** A cookie is valid in the period it was made in and the next one. */
const PERIOD_MS = 5 * 60_000;

/**
 * Stateless proof that a datagram sender receives what is sent to its address (like a DTLS HelloVerifyRequest):
 * the server answers a first join with a cookie, an HMAC of the sender's address and port, and accepts the join
 * only when it comes back. A forged source address never sees its cookie, so it cannot make the server send a
 * room's traffic to a victim.
 */
export class CookieJar {
  #secret = randomBytes(32);

  make(address: string, port: number, now = Date.now()): string {
    return this.#mac(address, port, Math.floor(now / PERIOD_MS));
  }

  check(cookie: string | undefined, address: string, port: number, now = Date.now()): boolean {
    if (cookie === undefined) return false;
    const period = Math.floor(now / PERIOD_MS);
    const given = Buffer.from(cookie);
    return [period, period - 1].some((p) => {
      const expected = Buffer.from(this.#mac(address, port, p));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  }

  #mac(address: string, port: number, period: number): string {
    return createHmac("sha256", this.#secret).update(`${address}|${port}|${period}`).digest("base64url").slice(0, 22);
  }
}
