import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("package.json", `file://${root}`), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>;
  bin: Record<string, string>;
};

test("every subpath of the exports map imports by name from the project folder (self-reference)", () => {
  const subpaths = Object.keys(pkg.exports).filter((key) => key !== "./package.json");
  assert.ok(subpaths.includes("./wire") && subpaths.includes("./server") && subpaths.includes("./client"));
  for (const subpath of subpaths) {
    const name = `wharf/${subpath.slice(2)}`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(name)}); console.log(Object.keys(m).length);`], { cwd: root }).toString();
    assert.ok(Number(out) > 0, `${name} exports something`);
    const entry = pkg.exports[subpath] as { types: string };
    assert.doesNotThrow(() => readFileSync(new URL(entry.types, `file://${root}`)), `${name} has type declarations`);
  }
});

/** What a program that hosts or uses a service needs, by subpath: each must be a named export. */
const NEEDED: Record<string, string[]> = {
  "wharf/server": ["Server", "Session", "SessionKey", "RequestContext"],
  "wharf/accounts": ["AccountStore", "registerAuth", "login", "currentUser", "writeAtomically", "AccountErrorCode"],
  "wharf/exec": ["execCommand", "registerExec", "login", "ExecErrorCode"],
  "wharf/files": ["FilesClient", "registerFiles", "login", "FileErrorCode"],
  "wharf/chat": ["ChatClient", "registerChat", "ChatService"],
  "wharf/rpc": ["registerRpc", "registerDemoMethods", "RpcService", "rpcClient"],
  "wharf/time": ["registerTime", "queryTime", "listenSntp"],
  "wharf/services": ["registerServices", "ServiceSet", "DEFAULT_SERVICE_CONFIG", "typesAdded"],
};

test("each service's subpath exports what a program needs to host it or to use it as a client", () => {
  for (const [name, wanted] of Object.entries(NEEDED)) {
    assert.ok(`./${name.slice("wharf/".length)}` in pkg.exports, `${name} is in the exports map`);
    const script = `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m)));`;
    const names = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root }).toString()) as string[];
    for (const symbol of wanted) assert.ok(names.includes(symbol), `${name} exports ${symbol}`);
  }
});

test("the wharf bin is the built CLI", () => {
  const out = execFileSync(process.execPath, [new URL(pkg.bin.wharf, `file://${root}`).pathname, "--version"]).toString().trim();
  assert.match(out, /^\d+\.\d+\.\d+$/);
});
