import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { execArgs, PW_ENV, runWharfFully as runWharf, serveWithUsers } from "./helpers.js";

describe("the stdio of a remote command", () => {
  test("stdin, stdout and stderr are pipes, not sockets, as under ssh", async (t) => {
    const { url } = await serveWithUsers(t);
    const run = await runWharf([...execArgs(url), "--", "stat", "-L", "-c", "%F", "/dev/stdin", "/dev/stdout", "/dev/stderr"], { env: PW_ENV });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "fifo\nfifo\nfifo\n");
  });

  test("tee /dev/stderr and cat > /dev/stdout work (they reopen their stdio through /proc)", async (t) => {
    const { url } = await serveWithUsers(t);
    const tee = await runWharf([...execArgs(url), "--", "tee", "/dev/stderr"], { env: PW_ENV, input: "both ways\n" });
    assert.equal(tee.code, 0, tee.stderr);
    assert.equal(tee.stdout, "both ways\n");
    assert.equal(tee.stderr, "both ways\n");
    const cat = await runWharf([...execArgs(url), "--", "sh", "-c", "cat > /dev/stdout"], { env: PW_ENV, input: "through /dev/stdout\n" });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, "through /dev/stdout\n");
  });

  test("a command that reads all of stdin sees its end, and large output arrives whole", async (t) => {
    const { url } = await serveWithUsers(t);
    const input = "x".repeat(300_000);
    const wc = await runWharf([...execArgs(url), "--", "wc", "-c"], { env: PW_ENV, input });
    assert.equal(wc.code, 0, wc.stderr);
    assert.equal(wc.stdout.trim(), "300000");
    const big = await runWharf([...execArgs(url), "--", "head", "-c", "5000000", "/dev/zero"], { env: PW_ENV });
    assert.equal(big.code, 0, big.stderr);
    assert.equal(big.stdout.length, 5_000_000);
  });
});
