import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { runWharf, WHARF_BIN } from "../../helpers/cli.js";
import { chatClient, chatServer, eventually, PASSWORD } from "./helpers.js";

const driver = new URL("../../../../test/services/chat/pty_chat.py", import.meta.url).pathname;

/** Runs `wharf ARGS` under a pseudo-terminal through the step driver, without blocking this process. */
async function underPty(steps: [string, string][], args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; transcript: string }> {
  const child = spawn("python3", [driver, JSON.stringify(steps), process.execPath, WHARF_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let transcript = "";
  child.stdout.on("data", (chunk: Buffer) => (transcript += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (transcript += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, transcript };
}

describe("wharf chat", () => {
  test("on a terminal: shows messages as they arrive with sender and time, and takes /msg, /who, /leave, /quit", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob"]);
    const bob = await chatClient(t, url, "bob");
    await bob.client.join("lobby");
    const session = underPty(
      [
        ["expect", "wharf chat as alice, in lobby"],
        ["expect", "\\[lobby\\]> "],
        ["expect", "\\d\\d:\\d\\d:\\d\\d \\[lobby\\] <bob> hello alice"],
        ["send", "hi bob"],
        ["expect", "<alice> hi bob"],
        ["send", "/msg bob a secret"],
        ["expect", "\\[alice -> bob\\] a secret"],
        ["send", "/who"],
        ["expect", "in lobby: alice, bob"],
        ["send", "/frobnicate"],
        ["expect", "unknown command /frobnicate"],
        ["send", "/leave"],
        ["expect", "left lobby"],
        ["send", "/quit"],
      ],
      ["chat", "lobby", "--server", url, "--user", "alice"],
      { WHARF_PASSWORD: PASSWORD },
    );
    await eventually(async () => (await bob.client.who("lobby")).includes("alice"), "alice to join");
    await bob.client.send("lobby", "hello alice");
    const { code, transcript } = await session;
    assert.equal(code, 0, transcript);
    await bob.waitFor(3);
    assert.deepEqual(bob.messages.map((m) => [m.from, m.text, m.room ?? `to ${m.to}`]), [
      ["bob", "hello alice", "lobby"],
      ["alice", "hi bob", "lobby"],
      ["alice", "a secret", "to bob"],
    ]);
    assert.deepEqual(await bob.client.who("lobby"), ["bob"], "alice left");
  });

  test("without a terminal: sends stdin lines and prints received messages as JSON lines, its own included", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob"]);
    const bob = await chatClient(t, url, "bob");
    await bob.client.join("lobby");
    await bob.client.send("lobby", "before alice came");
    const run = await runWharf(["chat", "lobby", "--server", url, "--user", "alice", "--since", "0"], {
      input: "first line\nsecond line\n/msg bob direct\n/who\n",
      env: { WHARF_PASSWORD: PASSWORD },
    });
    assert.equal(run.code, 0, run.stderr);
    const records = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      records.map((r) => [r.type, r.from, r.text ?? r.users, r.msgId, r.replay]),
      [
        ["message", "bob", "before alice came", 1, true],
        ["message", "alice", "first line", 2, undefined],
        ["message", "alice", "second line", 3, undefined],
        ["message", "alice", "direct", 1, undefined],
        ["who", undefined, ["alice", "bob"], undefined, undefined],
      ].sort((a, b) => (a[0] === "who" ? 1 : 0) - (b[0] === "who" ? 1 : 0)),
    );
    const message = records[1];
    assert.equal(message.room, "lobby");
    assert.match(String(message.time), /^\d{4}-\d\d-\d\dT/);
    await bob.waitFor(4);
    assert.deepEqual(bob.messages.slice(1).map((m) => m.text), ["first line", "second line", "direct"]);
  });

  test("--udp: a guest sends and receives as ~nick, no password needed", async (t) => {
    const { url, udpUrl } = await chatServer(t, ["bob"]);
    const bob = await chatClient(t, url, "bob");
    await bob.client.join("lobby");
    const run = await runWharf(["chat", "lobby", "--udp", "--server", udpUrl, "--user", "dave"], { input: "over udp\n" });
    assert.equal(run.code, 0, run.stderr);
    const [echo] = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual([echo.from, echo.text, echo.seq], ["~dave", "over udp", 1]);
    const [m] = await bob.waitFor(1);
    assert.deepEqual([m.from, m.text], ["~dave", "over udp"]);
  });

  test("failures are one line: wrong password, bad room", async (t) => {
    const { url } = await chatServer(t, ["alice"]);
    const wrong = await runWharf(["chat", "lobby", "--server", url, "--user", "alice"], { env: { WHARF_PASSWORD: "nope" } });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, "wharf: E_AUTH: wrong user name or password\n");
    const bad = await runWharf(["chat", "no/slashes", "--server", url, "--user", "alice"], { env: { WHARF_PASSWORD: PASSWORD } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^wharf: E_INVALID_PARAMS: room: /);
    const since = await runWharf(["chat", "lobby", "--server", url, "--since", "soon"]);
    assert.equal(since.code, 2);
    assert.match(since.stderr, /^wharf: E_USAGE: option '--since <msgId>' argument 'soon' is invalid\. --since must be an integer/);
    assert.doesNotMatch(since.stderr, /\n\s+at /, "no stack trace");
  });
});
