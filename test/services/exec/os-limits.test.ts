import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import fc from "fast-check";
import { connect, WharfError } from "../../../src/client/index.js";
import { AccountStore, registerAuth } from "../../../src/services/accounts/index.js";
import {
  EXEC_PATH,
  ExecRun,
  MAX_ARG_BYTES,
  MAX_EXEC_BYTES,
  NAME_MAX,
  PATH_MAX,
  checkArgv,
  checkSpawn,
  execCommand,
  registerExec,
  type ExecPolicy,
} from "../../../src/services/exec/index.js";
import { tempDir } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";

const POLICY: ExecPolicy = { execShell: true, execAllow: null, execTimeout: 60_000, execMaxOutput: 1 << 20, execMaxConcurrent: 1 };
const BIG_HEADERS = 8 * 1024 * 1024; // so that argument vectors past the OS's limits fit in a frame header

async function failureOf(promise: PromiseLike<unknown>): Promise<WharfError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WharfError, `not a WharfError: ${String(err)}`);
    return err;
  }
  assert.fail("the request succeeded");
}

/** What a synchronous call throws, as a WharfError. */
function thrown(fn: () => unknown): WharfError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WharfError, `not a WharfError: ${String(err)}`);
    return err;
  }
  assert.fail("nothing was thrown");
}

describe("exec.run with an argument vector the OS rejects (issue 11, case 7)", () => {
  test("NUL bytes, over-long names and over-long arguments get E_INVALID_PARAMS naming the problem", async (t) => {
    const dataDir = tempDir(t, "wharf-exec-");
    const accounts = new AccountStore(dataDir);
    await accounts.add("alice", "pw", { canExec: true });
    const { url } = await startServer(t, { maxHeaderSize: BIG_HEADERS }, (s) => {
      registerAuth(s, accounts);
      registerExec(s, { dataDir, accounts, config: POLICY });
    });
    const conn = await connect(url, { maxHeaderSize: BIG_HEADERS });
    t.after(() => conn.destroy());
    await conn.request("auth", { user: "alice", password: "pw" });
    const cases: [unknown[], boolean, RegExp][] = [
      [["echo", "a\u0000b"], false, /argv\[1\] holds a NUL byte/],
      [["ech\u0000o"], false, /argv\[0\] holds a NUL byte/],
      [["echo a\u0000b"], true, /argv\[0\] holds a NUL byte/],
      [["x".repeat(300)], false, /argv\[0\] has a name of 300 bytes; a file name may have at most 255/],
      [[`/tmp/${"x".repeat(256)}/true`], false, /a name of 256 bytes/],
      [["/" + "ab/".repeat(1400) + "true"], false, /argv\[0\] is 4205 bytes long; a program path may have at most 4095/],
      [["echo", "é".repeat(70_000)], false, /argv\[1\] is 140000 bytes long; the OS takes at most 131071/],
      [["echo", ...Array.from({ length: 12 }, () => "y".repeat(100_000))], false, /the arguments and environment take \d+ bytes; at most 1048576/],
      [["echo", ...Array.from({ length: 2 }, () => "z".repeat(70_000))], true, /the command line \(the shell's one argument\) is 140\d\d\d bytes long/],
    ];
    for (const [argv, shell, message] of cases) {
      const err = await failureOf(conn.request("exec.run", { argv, shell }));
      assert.equal(err.code, "E_INVALID_PARAMS", `${String(argv[0]).slice(0, 20)}: ${err.code} ${err.message}`);
      assert.match(err.message, message);
    }
    // Nothing was left counted as running (the most at once is 1), and the connection is fine.
    const output: Buffer[] = [];
    const result = await execCommand(conn, ["echo", "é".repeat(60_000)], { onOutput: (_s, chunk) => void output.push(chunk) });
    assert.deepEqual(result, { exitCode: 0, signal: null });
    assert.equal(Buffer.concat(output).toString(), `${"é".repeat(60_000)}\n`, "an argument just within the limits runs");
  });

  test("a spawn the OS refuses anyway maps to E_INVALID_PARAMS, not E_INTERNAL", (t) => {
    const cwd = tempDir(t, "wharf-exec-");
    const spec = { cwd, env: { PATH: EXEC_PATH }, timeout: 10_000, maxOutput: 1024, stdin: false, signal: new AbortController().signal, send: async () => {} };
    for (const [file, args, errno] of [
      ["echo", ["a\u0000b"], "ERR_INVALID_ARG_VALUE"],
      ["x".repeat(300), [], "ENAMETOOLONG"],
      ["echo", ["x".repeat(200_000)], "E2BIG"],
    ] as const) {
      const err = thrown(() => new ExecRun({ ...spec, file, args: [...args] }));
      assert.equal(err.code, "E_INVALID_PARAMS", err.message);
      assert.deepEqual(err.data, { errno });
      assert.ok(err.message.length < 200, "the message quotes at most the start of the name");
    }
  });

  test("the limits sit exactly at the OS's: 255-byte names and 131071-byte arguments pass, one more does not", () => {
    checkArgv(["x".repeat(NAME_MAX)], false);
    assert.equal(thrown(() => checkArgv(["x".repeat(NAME_MAX + 1)], false)).code, "E_INVALID_PARAMS");
    checkArgv(["x".repeat(NAME_MAX + 1)], true); // with a shell argv[0] is no program name
    checkArgv([`/${"a".repeat(200)}`.repeat(21).slice(0, PATH_MAX)], false);
    assert.equal(thrown(() => checkArgv([`/${"a".repeat(200)}`.repeat(21).slice(0, PATH_MAX + 1)], false)).code, "E_INVALID_PARAMS");
    checkArgv(["echo", "a".repeat(MAX_ARG_BYTES)], false);
    assert.equal(thrown(() => checkArgv(["echo", "a".repeat(MAX_ARG_BYTES + 1)], false)).code, "E_INVALID_PARAMS");
    const env = { PATH: EXEC_PATH };
    assert.match(thrown(() => checkSpawn({ file: "echo", args: [], env: { A: "b\u0000c" }, cwd: "/" })).message, /environment variable "A"/);
    assert.match(thrown(() => checkSpawn({ file: "echo", args: [], env, cwd: "/t\u0000mp" })).message, /working folder/);
    const many = Array.from({ length: Math.ceil(MAX_EXEC_BYTES / 100_000) }, () => "b".repeat(100_000));
    assert.match(thrown(() => checkSpawn({ file: "echo", args: many, env, cwd: "/" })).message, /at most 1048576/);
  });

  test("whatever argv passes the checks, the OS accepts: spawn never throws for it", async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.nat({ max: 140_000 }).map((n) => "a".repeat(n)),
      fc.nat({ max: 400 }).map((n) => "p".repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(text, { maxLength: 12 }), async (args) => {
        const argv = ["/bin/true", ...args];
        let accepted = true;
        try {
          checkArgv(argv, false);
          checkSpawn({ file: argv[0], args, env: { PATH: EXEC_PATH }, cwd: "/" });
        } catch (err) {
          assert.ok(err instanceof WharfError && err.code === "E_INVALID_PARAMS", String(err));
          accepted = false;
        }
        if (!accepted) return;
        const child = spawn(argv[0], args, { cwd: "/", env: { PATH: EXEC_PATH }, stdio: "ignore" }); // throws if the OS refuses
        const [code] = await once(child, "exit");
        assert.equal(code, 0);
      }),
      { numRuns: 60 },
    );
  });
});
