import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { VerifiedReads } from "../../../src/services/files/verified-reads.js";
import { tempDir } from "../../helpers/cli.js";

describe("the server's memory of files it sent and found matching their record (issue 15)", () => {
  test("a file is known by its identity, algorithm and digest; a write forgets it; the least recently used goes first", async (t) => {
    const dir = tempDir(t);
    const stat = (name: string) => statSync(join(dir, name), { bigint: true });
    for (const name of ["a", "b", "c"]) writeFileSync(join(dir, name), name);
    const reads = new VerifiedReads(2);
    reads.add(stat("a"), "blake3", "aa");
    reads.add(stat("b"), "blake3", "bb");
    assert.ok(reads.has(stat("a"), "blake3", "aa"));
    assert.ok(!reads.has(stat("a"), "blake3", "ab"), "another digest (a record rewritten) is not known");
    assert.ok(!reads.has(stat("a"), "sha256", "aa"), "nor another algorithm");
    reads.add(stat("c"), "blake3", "cc"); // over capacity: b, the least recently used, goes
    assert.ok(!reads.has(stat("b"), "blake3", "bb"));
    assert.ok(reads.has(stat("a"), "blake3", "aa") && reads.has(stat("c"), "blake3", "cc"));
    await new Promise((resolve) => setTimeout(resolve, 20)); // file times tick at the kernel's coarse clock (1-4 ms)
    writeFileSync(join(dir, "a"), "a"); // the same bytes written again: its ctime moves on
    assert.ok(!reads.has(stat("a"), "blake3", "aa"), "a file written since is checked again");
    const none = new VerifiedReads(0);
    none.add(stat("c"), "blake3", "cc");
    assert.ok(!none.has(stat("c"), "blake3", "cc"));
    assert.throws(() => new VerifiedReads(-1), RangeError);
  });
});
