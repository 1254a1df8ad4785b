/**
 * The course's examples (docs/course.md), each run as its own process and checked by what it prints.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

function run(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = fileURLToPath(new URL(`../../examples/${name}.js`, import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** True if `pid` runs and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("course examples", () => {
  it("processes: start/join, pid and ppid, terminate gives -15, no zombie, and the daemon child dies with its parent", async () => {
    const { code, stdout, stderr } = await run("processes");
    assert.equal(code, 0, stderr);
    const parent = Number(/parent: pid (\d+)/.exec(stdout)![1]);
    assert.match(stdout, new RegExp(`child A: pid \\d+, parent pid ${parent}`));
    assert.match(stdout, /joined: A exit code 0, B exit code 0; A alive: false/);
    assert.match(stdout, /A after join: gone, no zombie/);
    assert.match(stdout, /looper after terminate: alive false, exit code -15/);
    assert.match(stdout, /join\(\{ timeout: 50 \}\) on a running child: false/);
    const daemon = Number(/daemon child (\d+) is running/.exec(stdout)![1]);
    for (let i = 0; i < 100 && alive(daemon); i++) await sleep(50);
    try {
      assert.equal(alive(daemon), false, "no orphan left behind");
    } finally {
      if (alive(daemon)) process.kill(daemon, "SIGKILL");
    }
  });

  it("process-isolation: the child's spending leaves the parent's money at 100", async () => {
    const { code, stdout, stderr } = await run("process-isolation");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /child: spent 50, my money is now 50/);
    assert.match(stdout, /parent: after the child spent, my money is still 100/);
  });

  it("ticket-grabbing-processes: oversold without a lock, exactly 3 sold with one", async () => {
    const { code, stdout, stderr } = await run("ticket-grabbing-processes");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /without a lock: (\d+) buyers paid for 3 tickets/);
    assert.match(stdout, /with a Lock: 3 buyers paid for 3 tickets, 0 left/);
  });

  it("ipc-queue-pipe: the reader gets the writer's words in order, the child answers over the pipe", async () => {
    const { code, stdout, stderr } = await run("ipc-queue-pipe");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /reader got "hello"\n.*reader got "from"\n.*reader got "the writer"/s);
    assert.match(stdout, /parent asked "ready\?", child answered "ready: yes"/);
    assert.match(stdout, /child exited with code 0/);
  });

  it("producer-consumer-processes: every order made exactly once, consumers stop cleanly", async () => {
    const { code, stdout, stderr } = await run("producer-consumer-processes");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /all 10 orders made exactly once \(10 made in all\)/);
    assert.match(stdout, /consumers exited with codes 0, 0/);
  });

  it("threads-vs-processes: threads share the counter, processes count in copies", async () => {
    const { code, stdout, stderr } = await run("threads-vs-processes");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /threads: the parent's counter is 2000/);
    assert.match(stdout, /processes: each child counted to 1000 and 1000 in its own copy; the parent's counter is 0/);
  });

  it("cpu-bound: the loop is blocked during the computation and free while threads compute", async () => {
    const { code, stdout, stderr } = await run("cpu-bound");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /on the event loop: \d+ ms, the loop ran 0 timer ticks meanwhile \(blocked\)/);
    const ticks = Number(/worker threads: \d+ ms, the loop ran (\d+) timer ticks/.exec(stdout)![1]);
    assert.ok(ticks > 0, "timers ran while the threads computed");
  });

  it("washroom-semaphore: never more than five inside, in queue order", async () => {
    const { code, stdout, stderr } = await run("washroom-semaphore");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /at most 5 were inside at once/);
    assert.match(stdout, /in the order they queued: 1 2 3 4 5 6 7 8 9 10 11 12/);
  });

  it("traffic-light-event: cars stop at red and drive on green", async () => {
    const { code, stdout, stderr } = await run("traffic-light-event");
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.ok(lines.indexOf("car 1 stops at red") < lines.indexOf("light: green"));
    assert.ok(lines.indexOf("car 1 drives on green") > lines.indexOf("light: green"));
    assert.ok(lines.includes("car 4 stops at red"));
    assert.equal(lines.at(-1), "car 4 drives on green");
  });

  it("local: handlers trample a shared value without Local.run and keep their own with it", async () => {
    const { code, stdout, stderr } = await run("local");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /without Local\.run: ann sees cy; bob sees cy; cy sees cy/);
    assert.match(stdout, /with Local\.run: +ann sees ann; bob sees bob; cy sees cy/);
  });

  it("coroutines: three 100 ms waits overlap on one thread", async () => {
    const { code, stdout, stderr } = await run("coroutines");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /a\.html starts, bb\.html starts, ccc\.html starts, a\.html done/);
    assert.match(stdout, /sizes 6, 7, 8/);
  });

  it("io-models: blocking serves one by one, non-blocking polls, multiplexed does neither", async () => {
    const { code, stdout, stderr } = await run("io-models");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /blocking: +3 clients served one after another/);
    assert.match(stdout, /non-blocking: 3 clients served together \(\d+ ms\), after \d+ reads that found nothing/);
    assert.match(stdout, /multiplexed: +3 clients served together/);
  });

  it("sticky-packets: raw TCP glues and splits messages, wharf frames give them back whole", async () => {
    const { code, stdout, stderr } = await run("sticky-packets");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /raw TCP, 1 message sent in two pieces: received \["one w","hole message"\]/);
    assert.match(stdout, /wharf frames, 3 messages sent: \d read\(s\), decoded \["hello","sticky","world"\]/);
    assert.match(stdout, /wharf frames, 1 message sent in two pieces: decoded \["one whole message"\]/);
  });

  it("socketserver: one handler class answers over TCP and UDP", async () => {
    const { code, stdout, stderr } = await run("socketserver");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /TCP: HELLO OVER TCP \(tcp, request 1\)/);
    assert.match(stdout, /UDP: HELLO OVER UDP \(udp, request 2\)/);
  });

  it("upload: the textbook upload delivers the file intact", async () => {
    const { code, stdout, stderr } = await run("upload");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /textbook upload: 3145745 bytes in \d+ ms, server said "ok"/);
    assert.match(stdout, /sha256 checked by hand afterwards: same/);
  });
});
