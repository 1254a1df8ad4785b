import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { WHARF_BIN } from "../../helpers/cli.js";
import { execArgs, groupMembers, PW_ENV, runWharfFully as runWharf, serveWithUsers, waitGroupGone } from "./helpers.js";

describe("wharf exec", () => {
  test("exits with the command's exit code, and 128 + n when a signal ended it", async (t) => {
    const { url } = await serveWithUsers(t);
    const run = (...argv: string[]) => runWharf([...execArgs(url), "--", ...argv], { env: PW_ENV });
    assert.equal((await run("true")).code, 0);
    assert.equal((await run("sh", "-c", "exit 3")).code, 3);
    assert.equal((await run("sh", "-c", "kill -TERM $$")).code, 128 + 15);
    assert.equal((await run("sh", "-c", "kill -KILL $$")).code, 128 + 9);
    const missing = await run("no-such-command-here");
    assert.equal(missing.code, 127);
    assert.equal(missing.stderr, "wharf: E_EXEC_NOT_FOUND: no-such-command-here: command not found\n");
  });

  test("stdout and stderr go to the client's own stdout and stderr", async (t) => {
    const { url } = await serveWithUsers(t);
    const result = await runWharf([...execArgs(url), "--", "sh", "-c", "echo o1; echo e1 >&2; echo o2; echo e2 >&2; exit 5"], { env: PW_ENV });
    assert.equal(result.code, 5);
    assert.equal(result.stdout, "o1\no2\n");
    assert.equal(result.stderr, "e1\ne2\n");
  });

  test("forwards stdin, and the end of input closes the remote stdin", async (t) => {
    const { url } = await serveWithUsers(t);
    const input = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join("");
    const cat = await runWharf([...execArgs(url), "--", "cat"], { env: PW_ENV, input });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, input);
    const wc = await runWharf([...execArgs(url), "--", "wc", "-l"], { env: PW_ENV, input });
    assert.equal(wc.stdout.trim(), "20000");
    const noStdin = await runWharf([...execArgs(url), "-n", "--", "wc", "-c"], { env: PW_ENV, input: "ignored" });
    assert.equal(noStdin.stdout.trim(), "0");
  });

  test("arguments are an argument vector: shell metacharacters stay text", async (t) => {
    const { url, data } = await serveWithUsers(t);
    const home = join(data, "homes", "alice");
    const args = ["; rm -rf ~", "$(touch pwned)", "`touch pwned`", "| cat", "*", "a\nb", "'\""];
    const result = await runWharf([...execArgs(url), "--", "printf", "%s\\n", ...args], { env: PW_ENV });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, args.map((arg) => `${arg}\n`).join(""));
    assert.equal(existsSync(join(home, "pwned")), false);
    assert.equal(existsSync(home), true);
  });

  test("runs in the user's home with a clean, minimal environment", async (t) => {
    const { url, data } = await serveWithUsers(t);
    const home = join(data, "homes", "alice");
    const pwd = await runWharf([...execArgs(url), "--", "pwd"], { env: PW_ENV });
    assert.equal(pwd.stdout, `${home}\n`);
    const env = await runWharf([...execArgs(url), "--", "env"], { env: { ...PW_ENV, SECRET_OF_THE_CLIENT: "x" } });
    assert.deepEqual(env.stdout.trim().split("\n").sort(), [
      `HOME=${home}`,
      "LANG=C.UTF-8",
      "LOGNAME=alice",
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "USER=alice",
    ]);
  });

  test("only users allowed to run commands may: others get E_FORBIDDEN and exit 255", async (t) => {
    const { url } = await serveWithUsers(t);
    const bob = await runWharf([...execArgs(url, "bob"), "--", "true"], { env: PW_ENV });
    assert.equal(bob.code, 255);
    assert.match(bob.stderr, /^wharf: E_FORBIDDEN: user bob may not run commands/);
    const wrong = await runWharf([...execArgs(url), "--", "true"], { env: { WHARF_PASSWORD: "nope" } });
    assert.equal(wrong.code, 255);
    assert.match(wrong.stderr, /^wharf: E_AUTH: /);
  });

  test("the allow list admits only the listed commands, exactly as named, and no shell", async (t) => {
    const { url } = await serveWithUsers(t, ["--exec-allow", "echo,true", "--exec-shell"]);
    const ok = await runWharf([...execArgs(url), "--", "echo", "allowed"], { env: PW_ENV });
    assert.equal(ok.stdout, "allowed\n");
    for (const argv of [["ls"], ["/bin/echo", "x"], ["./echo"], ["--shell", "--", "echo x"]]) {
      const args = argv[0] === "--shell" ? argv : ["--", ...argv];
      const refused = await runWharf([...execArgs(url), ...args], { env: PW_ENV });
      assert.equal(refused.code, 255, argv.join(" "));
      assert.match(refused.stderr, /^wharf: E_EXEC_NOT_ALLOWED: /, argv.join(" "));
    }
  });

  test("a shell runs only where the server allows it", async (t) => {
    const plain = await serveWithUsers(t);
    const refused = await runWharf([...execArgs(plain.url), "--shell", "--", "echo $((1 + 2)) | cat"], { env: PW_ENV });
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /E_EXEC_NOT_ALLOWED: this server runs no shell commands/);
    const shell = await serveWithUsers(t, ["--exec-shell"]);
    const ran = await runWharf([...execArgs(shell.url), "--shell", "--", "echo $((1 + 2)) | cat"], { env: PW_ENV });
    assert.equal(ran.stdout, "3\n");
  });

  test("output arrives live, and Ctrl-C kills the remote command and everything it started", async (t) => {
    const { url } = await serveWithUsers(t);
    const child = spawn(process.execPath, [WHARF_BIN, ...execArgs(url), "--", "sh", "-c", "echo $$; sleep 300 & sleep 300; echo never"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...PW_ENV },
    });
    t.after(() => child.kill("SIGKILL"));
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, "exit");
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const pgid = Number(line);
    assert.ok(pgid > 0, line);
    // The first line came while the command still runs: the client is waiting, the sh and its sleeps live.
    assert.equal(child.exitCode, null);
    const deadline = Date.now() + 10_000;
    while (groupMembers(pgid).length < 2) {
      assert.ok(Date.now() < deadline, `members of ${pgid}: ${groupMembers(pgid).join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGINT");
    const [code] = await exited;
    assert.equal(code, 130);
    assert.match(stderr, /^wharf: E_CANCELLED: interrupted/);
    await waitGroupGone(pgid);
  });

  test("the run time limit kills the command and exits 124", async (t) => {
    const { url, data } = await serveWithUsers(t);
    const started = Date.now();
    const result = await runWharf([...execArgs(url), "--timeout", "0.5", "--", "sh", "-c", "echo $$ > pgid; sleep 300 & sleep 300"], { env: PW_ENV });
    assert.equal(result.code, 124);
    assert.match(result.stderr, /^wharf: E_EXEC_TIMEOUT: /);
    assert.ok(Date.now() - started < 60_000);
    const pgid = Number(readFileSync(join(data, "homes", "alice", "pgid"), "utf8"));
    await waitGroupGone(pgid);
  });

  test("the server's time limit caps the client's", async (t) => {
    const { url } = await serveWithUsers(t, ["--exec-timeout", "0.5"]);
    const result = await runWharf([...execArgs(url), "--timeout", "600", "--", "sleep", "300"], { env: PW_ENV });
    assert.equal(result.code, 124);
  });

  test("the output cap kills a command that writes too much, after delivering exactly the cap", async (t) => {
    const { url } = await serveWithUsers(t, ["--exec-max-output", "64K"]);
    const result = await runWharf([...execArgs(url), "--", "yes"], { env: PW_ENV });
    assert.equal(result.code, 255);
    assert.match(result.stderr, /^wharf: E_EXEC_OUTPUT_LIMIT: /);
    assert.equal(result.stdout.length, 64 * 1024);
    assert.match(result.stdout, /^(y\n)+y?$/);
  });

  test("stopping the server kills the commands it runs", async (t) => {
    const { serve, url, data } = await serveWithUsers(t, ["--shutdown-timeout", "0.5"]);
    const client = runWharf([...execArgs(url), "--", "sh", "-c", "echo $$ > pgid; sleep 300 & sleep 300"], { env: PW_ENV });
    const pidFile = join(data, "homes", "alice", "pgid");
    const deadline = Date.now() + 10_000;
    while (!existsSync(pidFile) || readFileSync(pidFile, "utf8") === "") {
      assert.ok(Date.now() < deadline, "the command did not start");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pgid = Number(readFileSync(pidFile, "utf8"));
    assert.ok(groupMembers(pgid).length > 0);
    await serve.stop("SIGTERM");
    await waitGroupGone(pgid);
    assert.equal((await client).code, 255);
  });

  test("a second file with the same name as an allowed command does not get around the allow list", async (t) => {
    const { url, data } = await serveWithUsers(t, ["--exec-allow", "cat"]);
    const home = join(data, "homes", "alice");
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, "cat"), "#!/bin/sh\necho evil\n", { mode: 0o755 });
    const result = await runWharf([...execArgs(url), "--", "cat", "cat"], { env: PW_ENV });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "#!/bin/sh\necho evil\n", "the system's cat ran, printing the file");
  });
});
