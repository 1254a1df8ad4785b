/**
 * `wharf serve` on SIGTERM (issue 11): the server drains, then every service's close() is awaited, in a single
 * process and in each worker of --workers: running commands are killed, chat history is on disk, upload locks
 * are released. A real server process, real commands, real files.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { connect } from "../../src/client/index.js";
import { AccountStore, login } from "../../src/services/accounts/index.js";
import { ChatClient } from "../../src/services/chat/index.js";
import { execCommand } from "../../src/services/exec/index.js";
import { startServe, tempDir } from "../helpers/cli.js";
import { groupMembers } from "../services/exec/helpers.js";

/** True while `pid` is a live process: a zombie (exited, not yet reaped) counts as dead. */
function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("wharf serve shutdown", () => {
  for (const workers of [[], ["--workers", "2"]]) {
    const how = workers.length === 0 ? "one process" : "--workers 2";
    test(`SIGTERM (${how}): a running command is killed, chat history is on disk and upload locks are released before the exit`, async (t) => {
      const data = tempDir(t, "wharf-shutdown-");
      await new AccountStore(data).add("alice", "pw", { canExec: true });
      const serve = await startServe(t, ["--data", data, "--no-udp", "--shutdown-timeout", "1", ...workers]);
      const url = serve.url("tcp");
      const conns = await Promise.all([0, 1, 2].map(() => connect(url)));
      t.after(() => conns.forEach((conn) => conn.destroy()));
      await Promise.all(conns.map((conn) => login(conn, "alice", "pw")));
      const [execConn, chatConn, filesConn] = conns;

      let pid = 0;
      const running = execCommand(execConn, ["sleep", "1000"], { onStart: (p) => (pid = p) });
      running.catch(() => {});
      await eventually(() => pid !== 0 && alive(pid), "sleep to start");

      const chat = new ChatClient(chatConn);
      await chat.join("lobby");
      await chat.send("lobby", "said just before the stop");

      await filesConn.request("files.put.begin", { path: "half.bin", fileSize: 1_000_000 });
      const partials = join(data, "homes", "alice", ".wharf", "partials");
      const named = (suffix: string): string[] => readdirSync(partials).filter((name) => name.endsWith(suffix));
      assert.equal(named(".lock").length, 1, "the upload holds its lock");

      assert.equal(await serve.stop("SIGTERM"), 0, serve.stderr());
      assert.equal(alive(pid), false, `sleep (pid ${pid}) outlived the server`);
      assert.deepEqual(groupMembers(pid), [], "nothing of its process group is left");
      assert.deepEqual(named(".lock"), [], "the upload lock was released");
      assert.equal(named(".part").length, 1, "the partial is kept for a resume");
      const history = join(data, "chat", "lobby.jsonl");
      assert.ok(existsSync(history), "the room's history file exists");
      const texts = readFileSync(history, "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { text: string }).text);
      assert.deepEqual(texts, ["said just before the stop"]);
    });
  }
});
