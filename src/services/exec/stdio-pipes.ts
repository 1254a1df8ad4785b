import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** A command's standard streams as real pipes: the fds the child gets, and this process's ends. */
export interface StdioPipes {
  /** stdin, stdout and stderr of the child: blocking pipe fds, to pass as `spawn`'s `stdio`. */
  childFds: [number, number, number];
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Closes the child's fds in this process (once spawned, or if the spawn failed). */
  closeChildEnds(): void;
}

/**
 * Real pipes (FIFOs) for a command's stdin, stdout and stderr. Node's `stdio: "pipe"` gives the child Unix domain
 * sockets, which programs tell apart from the pipes ssh gives: `tee /dev/stderr` and `cat > /dev/stdout` cannot
 * open a socket through /proc (ENXIO), and `stat` reports a socket. Node has no pipe(2), so each pipe is a FIFO
 * made in a private folder, opened at both ends and unlinked at once. The child's ends are opened blocking (what
 * programs expect of their stdio); ours are non-blocking and handed to libuv.
 *
 * The opens never wait: a FIFO's read end opened non-blocking first lets its write end open at once; for stdin
 * a throwaway non-blocking reader lets our writer open, after which the child's blocking reader opens at once.
 */
export function openStdioPipes(): StdioPipes {
  const dir = mkdtempSync(join(tmpdir(), "wharf-exec-"));
  const opened: number[] = [];
  const open = (path: string, flags: number): number => {
    const fd = openSync(path, flags);
    opened.push(fd);
    return fd;
  };
  try {
    const paths = ["in", "out", "err"].map((name) => join(dir, name));
    const made = spawnSync("mkfifo", ["-m", "600", ...paths]);
    if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr?.toString() ?? made.error?.message}`);
    const { O_RDONLY, O_WRONLY, O_NONBLOCK } = constants;
    const probe = open(paths[0], O_RDONLY | O_NONBLOCK);
    const inWrite = open(paths[0], O_WRONLY | O_NONBLOCK);
    const inRead = open(paths[0], O_RDONLY);
    closeSync(probe);
    opened.splice(opened.indexOf(probe), 1);
    const outRead = open(paths[1], O_RDONLY | O_NONBLOCK);
    const outWrite = open(paths[1], O_WRONLY);
    const errRead = open(paths[2], O_RDONLY | O_NONBLOCK);
    const errWrite = open(paths[2], O_WRONLY);
    const childFds: [number, number, number] = [inRead, outWrite, errWrite];
    let closed = false;
    return {
      childFds,
      stdin: new Socket({ fd: inWrite, readable: false, writable: true }),
      stdout: new Socket({ fd: outRead, readable: true, writable: false }),
      stderr: new Socket({ fd: errRead, readable: true, writable: false }),
      closeChildEnds() {
        if (closed) return;
        closed = true;
        for (const fd of childFds) closeSync(fd);
      },
    };
  } catch (err) {
    for (const fd of opened) closeSync(fd);
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true }); // the open ends stay valid
  }
}
