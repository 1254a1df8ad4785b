import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AccountStore } from "../../src/services/accounts/index.js";
import { runWharf, startServe, tempDir } from "../helpers/cli.js";

describe("wharf user set, list and --data", () => {
  test("user set changes the quota (a size or none) and the exec right, like usermod", async (t) => {
    const data = tempDir(t);
    assert.equal((await runWharf(["user", "add", "ann", "--data", data, "--password-stdin"], { input: "pw\n" })).code, 0);
    const set = await runWharf(["user", "set", "ann", "--data", data, "--quota", "2M", "--can-exec"]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, "ann: quota 2.00 MiB, exec yes\n");
    const store = new AccountStore(data);
    assert.deepEqual({ ...(await store.get("ann")), created: "" }, { name: "ann", quota: 2 * 1024 * 1024, canExec: true, created: "" });
    assert.equal((await runWharf(["user", "set", "ann", "--data", data, "--quota", "none", "--no-exec"])).stdout, "ann: quota none, exec no\n");
    assert.deepEqual({ ...(await store.get("ann")), created: "" }, { name: "ann", quota: null, canExec: false, created: "" });
    const nothing = await runWharf(["user", "set", "ann", "--data", data]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /^wharf: E_USAGE: nothing to change/);
    const both = await runWharf(["user", "set", "ann", "--data", data, "--can-exec", "--no-exec"]);
    assert.equal(both.code, 2);
    const nobody = await runWharf(["user", "set", "zed", "--data", data, "--quota", "1K"]);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /^wharf: E_NOT_FOUND: no such user: zed/);
  });

  test("user list shows quota, use and exec right; --json gives exact bytes", async (t) => {
    const data = tempDir(t);
    await runWharf(["user", "add", "ann", "--data", data, "--quota", "1G", "--can-exec", "--password-stdin"], { input: "pw\n" });
    await runWharf(["user", "add", "bo", "--data", data, "--password-stdin"], { input: "pw\n" });
    mkdirSync(join(data, "homes", "ann", "sub"), { recursive: true });
    writeFileSync(join(data, "homes", "ann", "a.bin"), Buffer.alloc(1500));
    writeFileSync(join(data, "homes", "ann", "sub", "b.bin"), Buffer.alloc(548));
    const text = await runWharf(["user", "list", "--data", data]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split("\n").map((line) => line.split(/\s{2,}/));
    assert.deepEqual(lines[0], ["NAME", "QUOTA", "USED", "EXEC", "CREATED"]);
    assert.deepEqual(lines[1].slice(0, 4), ["ann", "1.00 GiB", "2.00 KiB", "yes"]);
    assert.deepEqual(lines[2].slice(0, 4), ["bo", "none", "0 B", "no"]);
    const json = (await runWharf(["user", "list", "--data", data, "--json"])).stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(json.map(({ name, quota, used, canExec }) => ({ name, quota, used, canExec })), [
      { name: "ann", quota: 1024 ** 3, used: 2048, canExec: true },
      { name: "bo", quota: null, used: 0, canExec: false },
    ]);
  });

  test("a --data folder that does not exist is an error for list, passwd, remove, set, sessions and revoke", async (t) => {
    const missing = join(tempDir(t), "typo");
    for (const args of [["list"], ["passwd", "ann", "--password-stdin"], ["remove", "ann"], ["set", "ann", "--quota", "1K"], ["sessions", "ann"], ["revoke", "ann"]]) {
      const run = await runWharf(["user", ...args, "--data", missing], { input: "pw\n" });
      assert.equal(run.code, 1, args.join(" "));
      assert.equal(run.stderr, `wharf: E_NOT_FOUND: --data ${missing}: no such folder (run wharf user add there first, or check the path)\n`, args.join(" "));
    }
    assert.equal(existsSync(missing), false, "nothing was created");
  });

  test("user add says where it wrote, and creates a missing data folder only for the default or with --create", async (t) => {
    const dir = tempDir(t);
    const missing = join(dir, "new-data");
    const refused = await runWharf(["user", "add", "ann", "--data", missing, "--password-stdin"], { input: "pw\n" });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `wharf: E_NOT_FOUND: --data ${missing}: no such folder (add --create to make it)\n`);
    assert.equal(existsSync(missing), false);
    const created = await runWharf(["user", "add", "ann", "--data", missing, "--create", "--password-stdin"], { input: "pw\n" });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, `added user ann to ${missing}\n`);
    // The default ./wharf-data is made where the command runs.
    const { spawnSync } = await import("node:child_process");
    const { WHARF_BIN } = await import("../helpers/cli.js");
    const run = spawnSync(process.execPath, [WHARF_BIN, "user", "add", "bo", "--password-stdin"], { cwd: dir, input: "pw\n", encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `added user bo to ${join(dir, "wharf-data")}\n`);
    assert.ok(existsSync(join(dir, "wharf-data", "users.json")));
  });

  test("E_FORBIDDEN from exec names wharf user set as the way to allow it", async (t) => {
    const data = tempDir(t);
    await runWharf(["user", "add", "ann", "--data", data, "--password-stdin"], { input: "pw\n" });
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const run = await runWharf(["exec", "--server", url, "--user", "ann", "--", "true"], { env: { WHARF_PASSWORD: "pw" } });
    assert.equal(run.code, 255);
    assert.match(run.stderr, /^wharf: E_FORBIDDEN: user ann may not run commands \(an operator can allow it: wharf user set ann --can-exec\)\n$/);
    assert.equal((await runWharf(["user", "set", "ann", "--data", data, "--can-exec"])).code, 0);
    const allowed = await runWharf(["exec", "--server", url, "--user", "ann", "--", "true"], { env: { WHARF_PASSWORD: "pw" } });
    assert.equal(allowed.code, 0, allowed.stderr);
  });
});
