import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DownloadLinks, LINK_KEY_FILE } from "../../src/gateway/download-links.js";
import { tempDir } from "../helpers/cli.js";

const MODULE = new URL("../../src/gateway/download-links.js", import.meta.url).href;

/** Signs a link in a child process on `dataDir` (as a worker of --workers would) and resolves its token. */
async function signInChild(dataDir: string, user: string): Promise<string> {
  const script = `const { DownloadLinks } = await import(${JSON.stringify(MODULE)});
const { token } = await new DownloadLinks(${JSON.stringify(dataDir)}).sign({ user: ${JSON.stringify(user)}, path: "a.txt", hash: "blake3:00", expires: Date.now() + 60000 });
process.stdout.write(token);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const [code] = await once(child, "close");
  assert.equal(code, 0, err);
  return out;
}

describe("DownloadLinks: one key per data folder", () => {
  test("processes starting at once on a fresh folder end up with one key, and each accepts the others' links", async (t) => {
    const dataDir = join(tempDir(t, "wharf-links-"), "data");
    const tokens = await Promise.all(["u0", "u1", "u2", "u3", "u4", "u5"].map((user) => signInChild(dataDir, user)));
    const links = new DownloadLinks(dataDir);
    for (const [i, token] of tokens.entries()) {
      const check = await links.verify(token);
      assert.equal(check.ok && check.grant.user, `u${i}`, `token of process ${i}`);
    }
    assert.deepEqual(readdirSync(dataDir), [LINK_KEY_FILE], "no temporary key file is left behind");
    assert.equal(statSync(join(dataDir, LINK_KEY_FILE)).mode & 0o777, 0o600);
  });

  test("verify() refuses an expired token as expired and anything malformed as forged, without throwing", async (t) => {
    const links = new DownloadLinks(tempDir(t));
    const { token } = await links.sign({ user: "alice", path: "a", hash: "blake3:00", expires: 1_000 });
    assert.deepEqual(await links.verify(token, 999), { ok: true, grant: { user: "alice", path: "a", hash: "blake3:00", expires: 1_000 } });
    assert.deepEqual(await links.verify(token, 1_000), { ok: false, reason: "expired" });
    for (const bad of ["", ".", "a.b", `${token}x`, `x${token}`, token.replace(".", ".."), null, 42, "é.é"]) {
      assert.deepEqual(await links.verify(bad as string), { ok: false, reason: "forged" }, String(bad));
    }
  });
});
