"""Runs a command under a pseudo-terminal, answering prompts: for testing terminal behaviour for real.

usage: pty_run.py '<json: [[expected_prompt_substring, answer], ...]>' CMD [ARGS...]
Prints everything the command wrote to the terminal; exits with the command's exit code.
"""
import json, os, pty, select, sys, time

script = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
output = b""
step = 0
deadline = time.time() + 30
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        output += data
    if step < len(script) and script[step][0].encode() in output.split(b"\x00")[-1][-200:] + b"":
        os.write(fd, script[step][1].encode() + b"\r")
        output += b"\x00"  # mark: answered up to here
        step += 1
_, status = os.waitpid(pid, 0)
sys.stdout.write(output.replace(b"\x00", b"").decode("utf8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
