import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

/** Runs a built example as its own process; resolves its exit code and output. */
function run(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = fileURLToPath(new URL(`../../examples/${name}.js`, import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("examples", () => {
  it("producer-consumer moves every order exactly once and exits 0", async () => {
    const { code, stdout, stderr } = await run("producer-consumer");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /all 24 orders consumed exactly once/);
    assert.match(stdout, /producer-C produced 8 orders/);
  });

  it("ticket-grabbing sells exactly one ticket under a Lock and exits 0", async () => {
    const { code, stdout, stderr } = await run("ticket-grabbing");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /with a Lock: 1 sold, 0 left/);
    assert.match(stdout, /without a lock: \d+ sold/);
  });

  it("rlock-deadlock shows the Lock deadlock and the RLock fix, and exits 0", async () => {
    const { code, stdout, stderr } = await run("rlock-deadlock");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Lock: deadlocked/);
    assert.match(stdout, /RLock: transfer completed, balances 70 \/ 130/);
  });

  it("pool-callbacks reports each future from its callback and exits 0", async () => {
    const { code, stdout, stderr } = await run("pool-callbacks");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /cancel fib\(26\) while queued: true/);
    assert.match(stdout, /fib\(27\) = 196418/);
    assert.match(stdout, /mustBePositive\(-1\) failed: RangeError: expected a positive number, got -1/);
    assert.match(stdout, /fib\(26\): cancelled before it ran/);
    assert.match(stdout, /all 6 futures done \(0 not done\), pool shut down/);
  });
});
