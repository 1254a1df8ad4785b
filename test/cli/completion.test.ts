import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runWharf, tempDir } from "../helpers/cli.js";

/** What bash completes for the words typed so far, with the script sourced for real. */
function complete(script: string, words: string[]): string[] {
  const run = spawnSync("bash", ["-c", `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _wharf; printf '%s\\n' "\${COMPREPLY[@]}"`, script], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.split("\n").filter(Boolean);
}

describe("wharf completion", () => {
  test("completion bash completes verbs, subcommands and the flags of each, from the same definitions as --help", async (t) => {
    const out = await runWharf(["completion", "bash"]);
    assert.equal(out.code, 0, out.stderr);
    const script = join(tempDir(t), "wharf.bash");
    writeFileSync(script, out.stdout);
    assert.deepEqual(complete(script, ["wharf", "lo"]), ["login", "logout"]);
    assert.deepEqual(complete(script, ["wharf", "get", "--se"]), ["--server"]);
    assert.deepEqual(complete(script, ["wharf", "user", "re"]), ["remove", "revoke"]);
    assert.deepEqual(complete(script, ["wharf", "user", "set", "ann", "--no"]), ["--no-exec"]);
    assert.deepEqual(complete(script, ["wharf", "serve", "--token"]), ["--token-ttl"]);
    assert.ok(complete(script, ["wharf", "put", "-"]).includes("--recursive"));
  });

  test("completion zsh prints a script for zsh's bash layer; another shell is a usage error", async () => {
    const zsh = await runWharf(["completion", "zsh"]);
    assert.equal(zsh.code, 0);
    assert.match(zsh.stdout, /^#compdef wharf\n/);
    assert.match(zsh.stdout, /bashcompinit/);
    assert.match(zsh.stdout, /complete .*-F _wharf wharf/);
    const fish = await runWharf(["completion", "fish"]);
    assert.equal(fish.code, 2);
    assert.match(fish.stderr, /^wharf: E_USAGE: .*fish/);
  });
});
