/**
 * Fuzzing a live `wharf serve` (issue 11): for every request type the server registers (read from the same server
 * built in-process, so new types are covered without editing this file), random, truncated, oversized and
 * wrongly-typed headers and bodies, lying length prefixes and garbage, over TCP (before and after a login, cut
 * with FIN or RST at random points) and over UDP. After each batch the server must be alive (a zombie counts as
 * dead), answer a fresh TCP and UDP ping within 1 s, stay under an RSS bound, and give its fds back.
 *
 * The seed is printed; `WHARF_FUZZ_SEED=<seed>` replays a run (batch i uses seed + i), `WHARF_FUZZ_MS` sets the
 * time budget (default 30 s), `WHARF_FUZZ_TYPES=a,b` restricts the run to those request types.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { connect } from "../../src/client/index.js";
import { buildServer } from "../../src/cli/serve-lifecycle.js";
import { login } from "../../src/services/accounts/index.js";
import { FilesClient } from "../../src/services/files/index.js";
import { addUsers, fdsSettle, serveOptionsFor, startWharfServe, type UserSpec, type WharfServe } from "../helpers/serve-process.js";
import { RawTcp, frameOf, rawLogin, tcpPing, udpFire, udpPing } from "../helpers/wire-peer.js";

const MiB = 1024 * 1024;
const RSS_LIMIT = 400 * MiB;
const FD_SLACK = 6;
const BUDGET_MS = Number(process.env.WHARF_FUZZ_MS ?? 30_000);
const SEED = process.env.WHARF_FUZZ_SEED !== undefined ? Number(process.env.WHARF_FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
const USER: UserSpec = { name: "fuzzer", password: "fuzz-secret", canExec: true };
/** Commands the server may run for the fuzzer: random argv must never start anything else. */
const EXEC_ALLOW = "echo,true";

/** Header fields that the protocol and the services' docs name. */
const FIELDS = [
  "id", "type", "size", "ref", "upload", "offset", "path", "method", "params", "parts", "timeout", "argv", "shell",
  "stdin", "eof", "tty", "room", "text", "to", "since", "before", "limit", "clientId", "seq", "cookie", "user",
  "password", "fileSize", "stamp", "mtime", "sha256", "recursive", "parents", "from", "t1", "jsonrpc", "more",
  "blocks", "end", "delta", "hash", "hashes",
];

// ---------------------------------------------------------------------------------------------------- values

const nested = fc.tuple(fc.integer({ min: 1, max: 3_000 }), fc.boolean()).map(([depth, arrays]) => {
  let value: unknown = 0;
  for (let i = 0; i < depth; i += 1) value = arrays ? [value] : { a: value };
  return value;
});

/** Strings that JSON escaping blows up (x2 for quotes and backslashes, x6 for control characters). */
const escapeBomb = fc
  .tuple(fc.constantFrom('"', "\\", "\u0001", "\n", "\u001f"), fc.integer({ min: 8_000, max: 32_000 }))
  .map(([char, n]) => char.repeat(char === '"' || char === "\\" ? n : Math.ceil(n / 3)));

/** Long strings: what error messages must not quote whole. */
const bigString = fc.oneof(
  escapeBomb,
  fc.integer({ min: 0, max: 30_000 }).map((n) => '"'.repeat(n)),
  fc.constantFrom("p".repeat(300), "é".repeat(10_000), "💥".repeat(5_000), "x".repeat(60_000)),
);

const hostileString = fc.oneof(
  { weight: 1, arbitrary: bigString },
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("", "\u0000", "a\u0000b", "../../../etc/passwd", "/etc/passwd", ".wharf", "a/.wharf/b", "\ud800", "lobby", "a.txt", "dir/b.txt", "x"),
  },
);

/** Mostly sane, sometimes hostile: for fields that should let a request get past its first checks. */
const fieldString = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: hostileString });

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: true }),
  fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64, -(2 ** 53), 1e308, -1e308, 0.5, 1e-300),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 4, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 5 }) },
);

const goodId = fc.integer({ min: 0, max: 1_000_000 });

// ---------------------------------------------------------------------------------------------------- frames

/** Fields that make a request of `type` get past its first checks, so the fuzz reaches deeper code. */
function plausible(type: string): fc.Arbitrary<Record<string, unknown>> {
  const path = fc.oneof(fieldString, fc.constantFrom("a.txt", "d", "d/e.txt", ""));
  const room = fc.oneof(fc.constantFrom("lobby", "fuzz", "r-1"), fieldString);
  const method = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("math.add", "echo", "demo.count", "rpc.list", "health.check", "nope") },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: bigString },
  );
  const params = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 50 })).map((t) => [...t]),
    fc.array(hostileValue, { maxLength: 4 }),
    hostileValue,
  );
  if (type === "files.get") {
    // Mostly valid, so that most gets reach the stored files (storeFuzzFiles) and a delta get's search, in blocks
    // or in content-defined chunks (issue 15), with a hostile value here and there.
    const mostly = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: hostileValue });
    return fc.record(
      {
        path: fc.oneof({ weight: 6, arbitrary: fc.constantFrom("a.txt", "d/e.txt") }, { weight: 1, arbitrary: path }),
        offset: mostly(fc.oneof(fc.constant(0), fc.nat(400_000))),
        hashes: mostly(fc.constantFrom(["blake3"], ["sha256"], ["blake3", "sha256"])),
        deltaBlocks: mostly(fc.constantFrom("xxh128", "blake3", "sha256")),
        block: mostly(fc.oneof(fc.constantFrom(32, 64, 4_096, 65_536), fc.nat(1 << 20))),
        baseSize: mostly(fc.nat(1 << 20)),
        delta: mostly(fc.constantFrom("blake3", "sha256")),
      },
      { requiredKeys: ["path"] },
    );
  }
  if (type.startsWith("files.")) {
    return fc.record(
      { path, from: path, to: path, upload: fc.oneof(fieldString, fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 32, maxLength: 32 })), offset: hostileNumber, end: fc.oneof(fc.nat(5_000), hostileNumber), blocks: fc.oneof(fc.boolean(), hostileValue), fileSize: fc.oneof(fc.nat(5_000), hostileNumber), sha256: fieldString, recursive: fc.boolean(), parents: fc.boolean() },
      { requiredKeys: [] },
    );
  }
  if (type.startsWith("chat.")) {
    return fc.record({ room, to: fieldString, clientId: fieldString, seq: hostileNumber, since: hostileNumber, limit: hostileNumber, user: fieldString, cookie: fieldString }, { requiredKeys: [] });
  }
  if (type === "rpc.call") return fc.record({ method, params, timeout: fc.oneof(fc.integer({ min: 1, max: 2_000 }), hostileNumber) }, { requiredKeys: ["method"] });
  if (type === "exec.run") {
    const argv = fc.tuple(fc.constantFrom("echo", "true", "sh", "cat"), fc.array(fieldString, { maxLength: 4 })).map(([cmd, args]) => [cmd, ...args]);
    return fc.record({ argv: fc.oneof(argv, hostileValue), stdin: fc.boolean(), timeout: fc.oneof(fc.integer({ min: 1, max: 2_000 }), hostileNumber), shell: fc.boolean() }, { requiredKeys: ["argv"] });
  }
  if (type === "exec.stdin" || type === "cancel") return fc.record({ ref: fc.oneof(goodId, hostileValue), eof: fc.boolean() }, { requiredKeys: [] });
  // Never the fuzzer's own name: its failed logins would throttle the fuzzer's logins (per-user throttle).
  if (type === "auth") return fc.record({ user: fc.oneof(fc.constant("alice"), fieldString), password: fieldString }, { requiredKeys: [] });
  return fc.constant({});
}

/** A JSON-RPC body: one call or a small batch (a large batch is regression case 4, not the fuzz's job). */
const jsonRpcBody = (() => {
  const call = fc.record(
    {
      jsonrpc: fc.oneof({ weight: 5, arbitrary: fc.constant("2.0") }, { weight: 1, arbitrary: hostileValue }),
      method: fc.oneof(fc.constantFrom("math.add", "echo", "demo.count", "rpc.list", "health.check"), hostileString),
      params: fc.oneof(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 20 })).map((t) => [...t]), fc.array(hostileValue, { maxLength: 3 }), hostileValue),
      id: fc.oneof(goodId, hostileValue),
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    call.map((c) => JSON.stringify(c)),
    fc.array(call, { minLength: 0, maxLength: 20 }).map((calls) => JSON.stringify(calls)),
    hostileString,
  ).map((text) => Buffer.from(text));
})();

/** A `files.compare` body: groups of a folder and entries, mostly well formed, some hostile (issue 15). */
const compareBody = (() => {
  const name = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("a", "d", "a.txt", "e.txt") }, { weight: 1, arbitrary: hostileString });
  const file = fc.tuple(name, fc.oneof(fc.nat(100), hostileNumber), fc.oneof(fc.constant(1_700_000_000_000), hostileNumber));
  const entry = fc.oneof(name, file, hostileValue);
  const group = fc.tuple(fc.oneof(fc.constantFrom("", "d", "d/e"), hostileString), fc.array(entry, { maxLength: 6 })).map(([folder, entries]) => [folder, ...entries]);
  return fc.oneof({ weight: 4, arbitrary: fc.array(group, { maxLength: 5 }) }, { weight: 1, arbitrary: hostileValue }).map((body) => Buffer.from(JSON.stringify(body) ?? ""));
})();

/** A `files.get` body: entries of 20 bytes (a block list of XXH3-128) or 36 (of blake3, or a chunk list), random. */
const blockListBody = fc
  .tuple(fc.constantFrom(20, 36), fc.nat(60))
  .chain(([entry, count]) => fc.uint8Array({ minLength: entry * count, maxLength: entry * count }))
  .map((bytes) => Buffer.from(bytes));

/** How a frame is put on the wire. */
type Mode = "exact" | "padded" | "lie" | "truncate" | "garbage";
/** How the `size` field relates to the body sent. */
type SizeMode = "match" | "absent" | "over" | "under" | "bad" | "random";

interface FrameSpec {
  header: Record<string, unknown>;
  body: Buffer;
  mode: Mode;
  sizeMode: SizeMode;
  /** The `size` of sizeMode "bad": negative, fractional, huge, a string, null, an object... */
  badSize: unknown;
  /** over/under by this many bytes; the lie of the length prefix; the spaces of padding. */
  delta: number;
  lie: number;
  /** Where a truncated frame is cut, as a fraction of its bytes. */
  cut: number;
}

function frameSpec(type: string): fc.Arbitrary<FrameSpec> {
  const header = fc
    .tuple(
      fc.oneof({ weight: 16, arbitrary: fc.constant<unknown>(type) }, { weight: 1, arbitrary: hostileValue }, { weight: 1, arbitrary: bigString }),
      fc.oneof({ weight: 8, arbitrary: goodId as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostileValue }),
      plausible(type),
      fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 3 }),
      fc.boolean(),
    )
    .map(([t, id, fields, random, randomFirst]) => {
      // Either the plausible fields or the random ones win a clash; type and id come first (or not at all).
      const merged: Record<string, unknown> = randomFirst ? { ...fields, ...random } : { ...random, ...fields };
      const out: Record<string, unknown> = {};
      if (t !== undefined) out.type = t;
      if (id !== undefined) out.id = id;
      for (const [key, value] of Object.entries(merged)) if (key !== "type" && key !== "id") out[key] = value;
      if ("type" in random && randomFirst) out.type = random.type;
      if ("id" in random && randomFirst) out.id = random.id;
      return out;
    });
  const body = type === "jsonrpc"
    ? fc.oneof({ weight: 4, arbitrary: jsonRpcBody }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_048 }).map((b) => Buffer.from(b)) })
    : type === "files.compare"
    ? fc.oneof({ weight: 4, arbitrary: compareBody }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_048 }).map((b) => Buffer.from(b)) })
    : type === "files.get"
    ? fc.oneof({ weight: 2, arbitrary: blockListBody }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_048 }).map((b) => Buffer.from(b)) })
    : fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 2_048 }).map((b) => Buffer.from(b)), fc.constant(Buffer.alloc(20_000, 0x62)));
  return fc.record({
    header,
    body,
    mode: fc.constantFrom<Mode>("exact", "exact", "exact", "exact", "padded", "lie", "truncate", "garbage"),
    sizeMode: fc.constantFrom<SizeMode>("match", "match", "match", "absent", "over", "under", "bad", "random"),
    badSize: fc.oneof(hostileNumber, hostileValue),
    delta: fc.integer({ min: 1, max: 5_000 }),
    lie: fc.oneof(fc.constantFrom(0, 1, 2, 3, 65_536, 65_537, 0xffff_ffff, 0x8000_0000), fc.nat(0xffff_ffff), fc.integer({ min: -50, max: 50 })),
    cut: fc.double({ min: 0, max: 1, noNaN: true }),
  });
}

/** The bytes of a frame, and where its header ends (so that a cut can land in the header or in the body). */
function encodeParts(spec: FrameSpec): { bytes: Buffer; headerEnd: number } {
  const header = { ...spec.header };
  switch (spec.sizeMode) {
    case "match":
      header.size = spec.body.length;
      break;
    case "absent":
      delete header.size;
      break;
    case "over":
      header.size = spec.body.length + spec.delta;
      break;
    case "under":
      header.size = Math.max(0, spec.body.length - spec.delta);
      break;
    case "bad":
      header.size = spec.badSize;
      break;
    case "random":
      break; // whatever the random fields put there, or nothing
  }
  let text: string;
  try {
    text = JSON.stringify(header);
  } catch {
    text = "{}";
  }
  if (spec.mode === "garbage") {
    const bytes = Buffer.concat([spec.body, Buffer.from(text).subarray(0, spec.delta)]);
    return { bytes, headerEnd: bytes.length >> 1 };
  }
  if (spec.mode === "padded") text = `${text}${" ".repeat(spec.delta)}`;
  const headerEnd = 4 + Buffer.byteLength(text);
  if (spec.mode === "lie") {
    // A prefix off by a little (lie in -50..50) or any 32-bit value.
    const declared = Math.abs(spec.lie) <= 50 ? Math.max(0, headerEnd - 4 + spec.lie) : spec.lie >>> 0;
    return { bytes: frameOf(text, spec.body, declared), headerEnd };
  }
  const frame = frameOf(text, spec.body);
  if (spec.mode === "truncate") {
    const bytes = frame.subarray(0, Math.floor(spec.cut * frame.length));
    return { bytes, headerEnd: Math.min(headerEnd, bytes.length) };
  }
  return { bytes: frame, headerEnd };
}

function encodeSpec(spec: FrameSpec): Buffer {
  return encodeParts(spec).bytes;
}

// ---------------------------------------------------------------------------------------------------- scenarios

/**
 * Scenarios per batch that log in first, picked among the types that need a login (and one other). A login costs
 * the server a scrypt hash, 0.1-0.5 s of a core, and seconds when many queue on a loaded machine.
 */
const LOGINS_PER_BATCH = 5;

/** Request types that answer E_AUTH without a login (over streams). */
const NEEDS_LOGIN = /^(files\.|exec\.|chat\.(join|leave|send|who|rooms|history)$)/;

interface TcpScenario {
  type: string;
  login: boolean;
  frames: FrameSpec[];
  ending: "wait" | "fin" | "rst";
  /** FIN/RST inside frame `cutFrame` (modulo the count): in its header, in its body, or right after it. */
  cutFrame: number;
  cutPart: "header" | "body" | "after";
  cutAt: number;
  chunks: number;
  waitMs: number;
}

function tcpScenario(type: string): fc.Arbitrary<TcpScenario> {
  return fc.record({
    type: fc.constant(type),
    login: fc.constant(false), // set per batch: see LOGINS_PER_BATCH
    frames: fc.array(frameSpec(type), { minLength: 1, maxLength: 4 }),
    ending: fc.constantFrom<TcpScenario["ending"]>("wait", "fin", "rst"),
    cutFrame: fc.nat(3),
    cutPart: fc.constantFrom<TcpScenario["cutPart"]>("header", "body", "body", "after"),
    cutAt: fc.double({ min: 0, max: 1, noNaN: true }),
    chunks: fc.integer({ min: 1, max: 4 }),
    waitMs: fc.integer({ min: 0, max: 150 }),
  });
}

let loginAddress = 0;
/** Logins come from many loopback addresses: the fuzz's random failed logins must not throttle them. */
function nextLoginAddress(): string {
  loginAddress = (loginAddress % 60_000) + 1;
  return `127.0.${2 + (loginAddress >> 8)}.${1 + (loginAddress % 250)}`;
}

interface Tally {
  connections: number;
  frames: number;
  datagrams: number;
  logins: number;
  loginFailures: number;
  connectFailures: number;
}

async function runTcp(server: WharfServe, scenario: TcpScenario, tally: Tally): Promise<void> {
  let peer: RawTcp;
  try {
    peer = await RawTcp.open(server.tcpPort, { localAddress: scenario.login ? nextLoginAddress() : undefined, timeoutMs: 2_000 });
  } catch {
    tally.connectFailures += 1;
    return;
  }
  tally.connections += 1;
  try {
    if (scenario.login) {
      tally.logins += 1;
      await rawLogin(peer, 0, USER.name, USER.password, 8_000).catch(() => (tally.loginFailures += 1));
    }
    peer.discard();
    const parts = scenario.frames.map(encodeParts);
    const bytes = Buffer.concat(parts.map((part) => part.bytes));
    tally.frames += scenario.frames.length;
    let upTo = bytes.length;
    if (scenario.ending !== "wait") {
      const index = scenario.cutFrame % parts.length;
      const start = parts.slice(0, index).reduce((sum, part) => sum + part.bytes.length, 0);
      const { bytes: frame, headerEnd } = parts[index];
      const within =
        scenario.cutPart === "header" ? Math.floor(scenario.cutAt * headerEnd)
        : scenario.cutPart === "body" ? headerEnd + Math.floor(scenario.cutAt * (frame.length - headerEnd))
        : frame.length;
      upTo = start + within;
    }
    const step = Math.max(1, Math.ceil(upTo / scenario.chunks));
    for (let at = 0; at < upTo; at += step) {
      if (peer.isClosed) break;
      peer.send(bytes.subarray(at, Math.min(upTo, at + step)));
      if (scenario.chunks > 1) await sleep(1);
    }
    if (scenario.ending === "wait") {
      await Promise.race([peer.closed, sleep(scenario.waitMs + 50)]);
    } else {
      await sleep(scenario.waitMs);
      if (scenario.ending === "fin") {
        peer.socket.end();
        await Promise.race([peer.closed, sleep(200)]);
      } else {
        peer.socket.resetAndDestroy();
      }
    }
  } finally {
    peer.destroy();
  }
}

/** Runs `tasks` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await run(items[next++]);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------- the test

let server: WharfServe;
let types: string[] = [];
let fdBaseline = 0;
let usersDir = "";

before(async () => {
  console.log(`wharf fuzz seed: ${SEED} (replay with WHARF_FUZZ_SEED=${SEED})`);
  // The request types, from the same server built in-process (not listening) with wharf serve's defaults.
  const dataDir = mkdtempSync(join(tmpdir(), "wharf-fuzz-types-"));
  try {
    const { options } = await serveOptionsFor(["--data", dataDir, "--rpc-demo"]);
    const built = buildServer(options, pino({ level: "silent" }));
    types = built.requestTypes();
    built.destroy();
    await built.close({ timeout: 1_000 }); // lets services that close with the server stop their timers
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (!types.includes("cancel")) types.push("cancel"); // built into every stream connection (protocol.md §2.6)
  const only = process.env.WHARF_FUZZ_TYPES?.split(",").filter(Boolean);
  if (only !== undefined && only.length > 0) types = types.filter((type) => only.includes(type));
  usersDir = mkdtempSync(join(tmpdir(), "wharf-fuzz-users-"));
  await addUsers(usersDir, [USER]);
  server = await startWharfServe({
    rpcDemo: true,
    usersFrom: usersDir,
    args: ["--exec-allow", EXEC_ALLOW, "--exec-timeout", "5", "--exec-max-output", "1M", "--chat-history", "100"],
  });
  await storeFuzzFiles(server.tcpUrl);
  await sleep(300);
  fdBaseline = server.fdCount() ?? 0;
});

after(async () => {
  await server?.stop(3_000);
  rmSync(usersDir, { recursive: true, force: true });
});

/**
 * Files the fuzzer's requests name (`a.txt`, `d/e.txt`), stored for its user, so that a files.get reaches past
 * E_NOT_FOUND into what reads them: a plain get, and a delta get's search in blocks or in chunks (issue 15).
 */
async function storeFuzzFiles(url: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "wharf-fuzz-files-"));
  const conn = await connect(url);
  try {
    await login(conn, USER.name, USER.password);
    const files = new FilesClient(conn);
    writeFileSync(join(dir, "f"), randomBytes(300 * 1024));
    await files.put(join(dir, "f"), "a.txt");
    await files.put(join(dir, "f"), "d/e.txt", { delta: false });
  } finally {
    conn.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

function context(batch: number): string {
  const stderr = server.stderr().trim();
  return `seed ${SEED}, batch ${batch} (batch seed ${SEED + batch}); replay with WHARF_FUZZ_SEED=${SEED}\nserver stderr (tail):\n${stderr.length === 0 ? "(empty)" : stderr.slice(-4_000)}`;
}

test("wharf serve survives random, truncated, oversized and wrongly-typed frames of every request type over TCP and UDP", { timeout: BUDGET_MS + 90_000 }, async (t) => {
  t.diagnostic(`seed ${SEED}; ${types.length} request types: ${types.join(" ")}`);
  t.diagnostic(`baseline: ${server.fdCount()} fds, RSS ${((server.rssBytes() ?? 0) / MiB).toFixed(0)} MiB; rpc-demo flag ${server.rpcDemoFlag ? "accepted" : "unknown to this build"}`);
  const tally: Tally = { connections: 0, frames: 0, datagrams: 0, logins: 0, loginFailures: 0, connectFailures: 0 };
  const started = Date.now();
  let peakRss = 0;
  let batch = 0;
  let sendMs = 0;
  let checkMs = 0;
  while (Date.now() - started < BUDGET_MS) {
    const seed = SEED + batch;
    const tcp = types.flatMap((type, i) => fc.sample(tcpScenario(type), { seed: seed * 131 + i, numRuns: 3 }));
    const udp = types.flatMap((type, i) => fc.sample(frameSpec(type), { seed: seed * 137 + i, numRuns: 6 }));
    // Interleave by shuffling deterministically, so that types do not come in order; the logins go first, so that
    // their cost overlaps the rest of the batch.
    const order = fc.sample(fc.shuffledSubarray(tcp.map((_, i) => i), { minLength: tcp.length }), { seed, numRuns: 1 })[0];
    const needing = order.filter((i) => NEEDS_LOGIN.test(tcp[i].type));
    const logins = [...needing.slice(0, LOGINS_PER_BATCH - 1), ...order.filter((i) => !NEEDS_LOGIN.test(tcp[i].type)).slice(0, 1)];
    for (const i of logins) tcp[i].login = true;
    order.sort((a, b) => Number(tcp[b].login) - Number(tcp[a].login));
    const datagrams = udp.map(encodeSpec).filter((d) => d.length > 0 && d.length <= 65_507);
    tally.datagrams += datagrams.length;
    const sendStarted = Date.now();
    await Promise.all([pool(order.map((i) => tcp[i]), 16, (scenario) => runTcp(server, scenario, tally)), udpFire(server.udpPort, datagrams)]);
    const checkStarted = Date.now();
    sendMs += checkStarted - sendStarted;

    // The checks after each batch.
    assert.ok(server.alive(), `wharf serve died (exit ${String(server.child.exitCode ?? server.child.signalCode)}) during ${context(batch)}`);
    // wharf serve logs a promise nobody handled instead of dying of it: for the fuzzer that is a failure all the same.
    assert.doesNotMatch(server.stderr(), /nothing handled it|handler failed/, `the server logged a bug; ${context(batch)}`);
    try {
      await tcpPing(server.tcpPort, 1_000);
      await udpPing(server.udpPort, 1_000);
    } catch (err) {
      assert.fail(`a well-behaved client was not served after the batch: ${(err as Error).message}; alive: ${server.alive()}; ${context(batch)}`);
    }
    const rss = server.rssBytes() ?? 0;
    peakRss = Math.max(peakRss, rss);
    assert.ok(rss < RSS_LIMIT, `RSS ${(rss / MiB).toFixed(0)} MiB is over the bound of ${RSS_LIMIT / MiB} MiB; ${context(batch)}`);
    const fds = await fdsSettle(server, fdBaseline + FD_SLACK, 3_000);
    assert.ok(fds !== null && fds <= fdBaseline + FD_SLACK, `open fds ${String(fds)} did not come back to the baseline ${fdBaseline} (+${FD_SLACK}) within 3 s; ${context(batch)}`);
    checkMs += Date.now() - checkStarted;
    batch += 1;
  }
  assert.ok(batch > 0, "no batch ran");
  t.diagnostic(
    `${batch} batches in ${((Date.now() - started) / 1000).toFixed(1)} s (sending ${(sendMs / 1000).toFixed(1)} s, checks ${(checkMs / 1000).toFixed(1)} s): ${tally.connections} TCP connections, ${tally.frames} TCP frames, ` +
      `${tally.datagrams} datagrams, ${tally.logins} logins (${tally.loginFailures} failed), ${tally.connectFailures} failed connects; ` +
      `peak RSS ${(peakRss / MiB).toFixed(0)} MiB, fds ${server.fdCount()} (baseline ${fdBaseline})`,
  );
});
