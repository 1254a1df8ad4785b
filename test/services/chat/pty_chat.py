"""Drives an interactive command under a pseudo-terminal, step by step, for testing terminal clients for real.

usage: pty_chat.py '<json: [["expect", REGEX] | ["send", LINE], ...]>' CMD [ARGS...]
"expect" waits (up to 20 s) until the terminal output since the last match matches REGEX (ANSI escapes removed);
"send" types LINE and Enter. After the last step it waits for the command to exit. Prints the whole transcript
(escapes removed); exits with the command's exit code, or 99 when an expectation timed out (the command is killed).
"""
import json, os, pty, re, select, signal, sys, time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])

output = b""
searched = 0


def read_some(timeout):
    """Reads what is there within `timeout`; False once the terminal is closed."""
    global output
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    if not data:
        return False
    output += data
    return True


def clean():
    return ANSI.sub(b"", output)


def finish(code, note=""):
    sys.stdout.write(clean().decode("utf8", "replace") + note)
    sys.exit(code)


for kind, arg in steps:
    if kind == "send":
        os.write(fd, arg.encode() + b"\r")
        continue
    pattern = re.compile(arg.encode())
    deadline = time.time() + 20
    while True:
        match = pattern.search(clean(), searched)
        if match:
            searched = match.end()
            break
        if time.time() > deadline or not read_some(0.1):
            os.kill(pid, signal.SIGKILL)
            finish(99, f"\n[pty_chat: timed out waiting for {arg!r}]\n")

deadline = time.time() + 20
while time.time() < deadline and read_some(0.1):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        while read_some(0.05):
            pass
        finish(os.waitstatus_to_exitcode(status))
os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
finish(os.waitstatus_to_exitcode(status))
