"""Drives a command on a real pseudo-terminal for tests/cli_shell_test.ts (Deno cannot open one).

Usage: python3 _pty_drive.py SCRIPT_JSON -- COMMAND...
SCRIPT_JSON is a list of steps, each one of
  ["send", TEXT]              write TEXT to the terminal (keystrokes; "\\u0003" is Ctrl-C)
  ["expect", REGEX, SECONDS]  wait until the output since the last expect matches REGEX
  ["resize", COLS, ROWS]      change the terminal's size (the command gets SIGWINCH)
  ["signal", NAME]            send a signal to the command
  ["sleep", SECONDS]
  ["raw"]                     record whether the terminal is in raw mode now (no ICANON, ECHO, ISIG)
The command runs in a new session with the terminal as its controlling terminal. Prints one JSON
object: the command's exit code, whether the terminal's modes after equal those before (stty -g
before and after), every byte of output, and the first step that failed, if any.
"""
import fcntl, json, os, re, select, signal, struct, subprocess, sys, termios, time

steps = json.loads(sys.argv[1])
cmd = sys.argv[sys.argv.index("--") + 1:]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
before = termios.tcgetattr(slave)


def as_ctty():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                        preexec_fn=as_ctty, close_fds=True)
out = b""
mark = 0
failed = None
raw = []


def pump(timeout):
    global out
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            out += os.read(master, 65536)
        except OSError:
            pass


for i, step in enumerate(steps):
    kind = step[0]
    if kind == "send":
        os.write(master, step[1].encode())
    elif kind == "expect":
        deadline = time.time() + step[2]
        while time.time() < deadline and not re.search(step[1], out[mark:].decode("utf-8", "replace")):
            pump(0.05)
        m = re.search(step[1], out[mark:].decode("utf-8", "replace"))
        if not m:
            failed = {"step": i, "expect": step[1]}
            break
        mark = len(out)
    elif kind == "resize":
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", step[2], step[1], 0, 0))
    elif kind == "signal":
        proc.send_signal(getattr(signal, step[1]))
    elif kind == "raw":
        lflag = termios.tcgetattr(slave)[3]
        raw.append(not lflag & (termios.ICANON | termios.ECHO | termios.ISIG))
    elif kind == "sleep":
        end = time.time() + step[1]
        while time.time() < end:
            pump(0.05)

deadline = time.time() + (2 if failed else 60)
while proc.poll() is None and time.time() < deadline:
    pump(0.05)
if proc.poll() is None:
    proc.kill()
    failed = failed or {"step": "exit", "timeout": True}
code = proc.wait()
pump(0.1)
after = termios.tcgetattr(slave)
print(json.dumps({"code": code, "restored": before == after, "raw": raw,
                  "output": out.decode("utf-8", "replace"), "failed": failed}))
