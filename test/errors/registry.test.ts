import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { ERROR_CODES, ErrorCode, MultiprocessingErrorCode, PoolErrorCode, SyncErrorCode, describeErrorCode, type ErrorLayer } from "../../src/errors/index.js";
import { CliErrorCode } from "../../src/cli/fail.js";
import { AccountErrorCode } from "../../src/services/accounts/errors.js";
import { ChatErrorCode } from "../../src/services/chat/errors.js";
import { ExecErrorCode } from "../../src/services/exec/errors.js";
import { FileErrorCode } from "../../src/services/files/errors.js";
import { RpcErrorCode } from "../../src/services/rpc/errors.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** The code objects of every layer and service, with the layers their codes must name in the registry. */
const LAYER_CODES: [ErrorLayer[], Record<string, string>][] = [
  [["wire", "server", "client"], ErrorCode],
  [["sync"], SyncErrorCode],
  [["pool"], PoolErrorCode],
  [["multiprocessing"], MultiprocessingErrorCode],
  [["accounts"], AccountErrorCode],
  [["files"], FileErrorCode],
  [["chat"], ChatErrorCode],
  [["exec"], ExecErrorCode],
  [["rpc"], RpcErrorCode],
  [["cli"], CliErrorCode],
];

/** What a page of error docs gets wrong against a list of codes: codes without a row, rows and mentions without a code. */
function compareDocs(codes: Set<string>, markdown: string): { undocumented: string[]; unknownRows: string[]; unknownMentions: string[] } {
  const rows = new Set([...markdown.matchAll(/^\| `(E_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
  const mentions = new Set([...markdown.matchAll(/\bE_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]));
  return {
    undocumented: [...codes].filter((code) => !rows.has(code)).sort(),
    unknownRows: [...rows].filter((code) => !codes.has(code)).sort(),
    unknownMentions: [...mentions].filter((code) => !codes.has(code)).sort(),
  };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const registered = new Set(ERROR_CODES.map((info) => info.code));

describe("the registry of error codes", () => {
  test("lists each code once, with its layers and a one-line meaning", () => {
    assert.equal(registered.size, ERROR_CODES.length, "no code is listed twice");
    for (const info of ERROR_CODES) {
      assert.match(info.code, /^E_[A-Z0-9_]+$/);
      assert.ok(info.layers.length > 0, `${info.code} names its layers`);
      assert.ok(info.meaning.length > 10 && !info.meaning.includes("\n"), `${info.code} has a one-line meaning`);
      assert.equal(describeErrorCode(info.code), info);
    }
    assert.equal(describeErrorCode("E_NO_SUCH_CODE"), undefined);
  });

  test("holds exactly the codes of every layer's and service's code object, under that layer", () => {
    const declared = new Set<string>();
    for (const [layers, codes] of LAYER_CODES) {
      for (const code of Object.values(codes)) {
        declared.add(code);
        const info = describeErrorCode(code);
        assert.ok(info !== undefined, `${code} (${layers.join("/")}) is in the registry`);
        assert.ok(layers.some((layer) => info.layers.includes(layer)), `${code} names ${layers.join(" or ")} among its layers`);
      }
    }
    assert.deepEqual([...registered].filter((code) => !declared.has(code)), [], "every registered code is declared by some layer");
  });

  test("E_TIMEOUT and E_CANCELLED are one code for every layer", () => {
    assert.equal(SyncErrorCode.TIMEOUT, ErrorCode.TIMEOUT);
    assert.equal(PoolErrorCode.TIMEOUT, ErrorCode.TIMEOUT);
    assert.equal(PoolErrorCode.CANCELLED, ErrorCode.CANCELLED);
    assert.equal(RpcErrorCode.CANCELLED, ErrorCode.CANCELLED);
    assert.deepEqual(describeErrorCode(ErrorCode.TIMEOUT)?.layers, ["client", "sync", "pool"]);
  });

  test("docs/errors.md has a row for every registered code, and names no code the registry lacks", () => {
    const markdown = readFileSync(join(root, "docs/errors.md"), "utf8");
    assert.deepEqual(compareDocs(registered, markdown), { undocumented: [], unknownRows: [], unknownMentions: [] });
  });

  test("the docs check catches a missing row and an unknown code", () => {
    const page = "| `E_TIMEOUT` | late |\n| `E_MADE_UP` | no |\nsee also E_OTHER_THING.\n";
    assert.deepEqual(compareDocs(new Set(["E_TIMEOUT", "E_CANCELLED"]), page), {
      undocumented: ["E_CANCELLED"],
      unknownRows: ["E_MADE_UP"],
      unknownMentions: ["E_MADE_UP", "E_OTHER_THING"],
    });
  });

  test("every code spelled as a string in src/ is registered", () => {
    const unknown = new Map<string, string>();
    for (const file of sourceFiles(join(root, "src"))) {
      for (const match of readFileSync(file, "utf8").matchAll(/["'`](E_[A-Z0-9_]+)["'`]/g)) {
        if (!registered.has(match[1])) unknown.set(match[1], file.slice(root.length));
      }
    }
    assert.deepEqual(Object.fromEntries(unknown), {});
  });
});
