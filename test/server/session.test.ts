import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect, udpRequest } from "../../src/client/index.js";
import { Session, SessionKey } from "../../src/server/index.js";
import { startServer } from "../helpers/server.js";

describe("Session", () => {
  test("keys compare by identity: two keys with one name hold two values", () => {
    const session = new Session();
    const a = new SessionKey<number>("same");
    const b = new SessionKey<string>("same");
    session.set(a, 1).set(b, "one");
    assert.equal(session.get(a), 1);
    assert.equal(session.get(b), "one");
    assert.equal(session.size, 2);
    assert.equal(session.delete(a), true);
    assert.equal(session.has(a), false);
    assert.equal(session.get(a), undefined);
    assert.equal(session.delete(a), false);
  });

  test("getOrCreate() makes the value once and then returns the stored one, even a stored undefined", () => {
    const session = new Session();
    const key = new SessionKey<number[]>("list");
    let made = 0;
    const first = session.getOrCreate(key, () => (made += 1, []));
    first.push(1);
    assert.deepEqual(session.getOrCreate(key, () => (made += 1, [])), [1]);
    assert.equal(made, 1);
    const maybe = new SessionKey<string | undefined>("maybe");
    session.set(maybe, undefined);
    assert.equal(session.getOrCreate(maybe, () => "made"), undefined);
  });

  test("SessionKey refuses an empty name with a TypeError", () => {
    assert.throws(() => new SessionKey<number>(""), TypeError);
  });

  test("a stream connection keeps its session across requests; each datagram gets a fresh one", async (t) => {
    const VISITS = new SessionKey<number>("test.visits");
    const { url, udpUrl } = await startServer(t, {}, (server) => {
      server.handle("visit", (_header, _body, ctx) => {
        const visits = (ctx.session.get(VISITS) ?? 0) + 1;
        ctx.session.set(VISITS, visits);
        return { header: { visits } };
      });
    });
    const one = await connect(url);
    const two = await connect(url);
    t.after(() => {
      one.destroy();
      two.destroy();
    });
    assert.equal((await one.request("visit", {})).header.visits, 1);
    assert.equal((await one.request("visit", {})).header.visits, 2);
    assert.equal((await two.request("visit", {})).header.visits, 1, "another connection has its own session");
    assert.equal((await udpRequest(udpUrl, "visit", {})).header.visits, 1);
    assert.equal((await udpRequest(udpUrl, "visit", {})).header.visits, 1, "no state carries from one datagram to the next");
  });
});
