import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { writeAtomically as fromAccounts } from "../../../src/services/accounts/index.js";
import { homeOf, homesDir, syncDir, writeAtomically } from "../../../src/services/shared/index.js";
import { syncDirShared } from "../../../src/services/shared/dir-sync.js";
import { tempDir } from "../../helpers/cli.js";

describe("services/shared", () => {
  test("writeAtomically() survives many concurrent writes of one path: one whole content wins, no temp file is left", async (t) => {
    const dir = tempDir(t);
    const path = join(dir, "sub", "state.json");
    const contents = Array.from({ length: 40 }, (_, i) => JSON.stringify({ writer: i, pad: "x".repeat(1000 + i) }));
    await Promise.all(contents.map((content) => writeAtomically(path, content)));
    assert.ok(contents.includes(readFileSync(path, "utf8")), "the file holds one writer's whole content");
    assert.deepEqual(readdirSync(join(dir, "sub")), ["state.json"]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test("wharf/accounts still exports the same writeAtomically", () => {
    assert.equal(fromAccounts, writeAtomically);
  });

  test("syncDir() flushes a folder and rejects for a file", async (t) => {
    const dir = tempDir(t);
    await syncDir(dir);
    await writeAtomically(join(dir, "f"), "x");
    await assert.rejects(syncDir(join(dir, "f")), { code: "ENOTDIR" });
  });

  test("syncDirShared(): calls at once all resolve, sharing flushes; a failure rejects its callers and the next call flushes anew", async (t) => {
    const dir = tempDir(t);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 50 }, (_, i) => syncDirShared(dir).then(() => order.push(i))));
    assert.equal(order.length, 50);
    const missing = join(dir, "not-yet");
    const failed = await Promise.allSettled([syncDirShared(missing), syncDirShared(missing), syncDirShared(missing)]);
    for (const result of failed) assert.equal(result.status === "rejected" && (result.reason as NodeJS.ErrnoException).code, "ENOENT");
    mkdirSync(missing);
    await syncDirShared(missing); // not stuck on the failed flush
    await assert.rejects(syncDirShared(join(dir, "nope")), { code: "ENOENT" });
  });

  test("homeOf() puts homes under <data>/homes and refuses names that are not user names", () => {
    assert.equal(homesDir("/srv/data"), "/srv/data/homes");
    assert.equal(homeOf("/srv/data", "alice"), "/srv/data/homes/alice");
    for (const bad of ["../etc", "a/b", "", ".hidden"]) assert.throws(() => homeOf("/srv/data", bad), TypeError, bad);
  });
});
