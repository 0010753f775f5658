// Terminals (options.tty): the program on a pseudo-terminal of the sandbox's own devpts, as its
// controlling terminal; resize through the launcher's control FIFO; keystrokes including Ctrl-C
// through the line discipline; TIOCSTI/TIOCLINUX refused; limits and accounting as for pipes.
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { kernelTest, LAUNCHER, sandbox } from "./_helpers.ts";
import { encodeFrame } from "../lib/config.ts";
import { runDirBase } from "../lib/rundir.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const TTY = { cols: 80, rows: 24 };

/** Reads `child.stdout` in the background; `until(re)` waits for the text so far to match. */
function reader(child: { stdout: ReadableStream<Uint8Array> }) {
  let text = "";
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const done = (async () => {
    for await (const chunk of child.stdout) {
      text += dec.decode(chunk, { stream: true });
      for (const w of waiters.splice(0)) {
        if (w.re.test(text)) w.resolve();
        else waiters.push(w);
      }
    }
    for (const w of waiters.splice(0)) w.resolve(); // ended: the caller's assertion decides
  })();
  return {
    text: () => text,
    done,
    until: (re: RegExp) =>
      re.test(text)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ re, resolve })),
  };
}

kernelTest("tty: the program's stdio is a terminal of the sandbox's own devpts", async () => {
  // A pty of the host's own devpts held open meanwhile: the sandbox must not see it.
  const host = new Deno.Command("python3", {
    args: [
      "-c",
      "import os,sys; m,s=os.openpty(); print(os.ttyname(s), flush=True); sys.stdin.read()",
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const hostOut = host.stdout.getReader();
  const hostLine = (await hostOut.read()).value;
  try {
    const hostPty = dec.decode(hostLine).trim();
    assertMatch(hostPty, /^\/dev\/pts\/\d+$/);
    const r = await sandbox().run("sh", [
      "-c",
      `tty; for fd in 0 1 2; do test -t $fd || exit 70; done
       ls /dev/pts | tr '\\n' ' '; echo
       stat -f -c %T /dev/pts
       test -e ${hostPty} && test ${hostPty} != /dev/pts/0 && echo HOST-PTY-VISIBLE
       readlink /dev/ptmx`,
    ], { tty: TTY });
    assertEquals(r.exitCode, 0, r.stdout + r.stderr);
    assertEquals(r.stdout.split("\r\n"), ["/dev/pts/0", "0 ptmx ", "devpts", "pts/ptmx", ""]);
    assertEquals(r.stderr, "");
  } finally {
    await host.stdin.close();
    await hostOut.cancel();
    await host.status;
  }
  // Without options.tty nothing changes: no terminal, no pty in use.
  const pipes = await sandbox().run("sh", ["-c", "test -t 0 && exit 71; ls /dev/pts"]);
  assertEquals([pipes.exitCode, pipes.stdout], [0, "ptmx\n"]);
});

kernelTest("tty: a session leader with the pty as its controlling terminal", async () => {
  const r = await sandbox().run("python3", [
    "-c",
    `import os
fd = os.open("/dev/tty", os.O_RDWR)  # only a process with a controlling terminal can
print(os.ttyname(0), os.getsid(0) == os.getpid(), os.tcgetpgrp(fd) == os.getpgrp())`,
  ], { tty: TTY });
  assertEquals(r.stdout, "/dev/pts/0 True True\r\n", r.stderr);
});

kernelTest(
  "tty: stty size shows the size asked for, and resize() reaches the program",
  async () => {
    const sb = sandbox();
    assertEquals(
      (await sb.run("stty", ["size"], { tty: { cols: 132, rows: 43 } })).stdout,
      "43 132\r\n",
    );
    // SIGWINCH arrives with the new size; the program prints it and exits.
    const child = sb.spawn("python3", [
      "-c",
      `import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGWINCH])
print("ready", *os.get_terminal_size(0), flush=True)
signal.sigwait([signal.SIGWINCH])
print("winch", *os.get_terminal_size(0))`,
    ], { tty: TTY });
    const out = reader(child);
    await out.until(/ready 80 24\r\n/);
    await child.resize(100, 50);
    await out.until(/winch 100 50/);
    await out.done;
    assertEquals((await child.status).exitCode, 0, out.text());
    assertMatch(out.text(), /winch 100 50\r\n$/);
    // After the run: a no-op, not a hang; and the control FIFO is gone with the run.
    await child.resize(90, 20);
    const base = runDirBase();
    if (base) {
      const left = [...Deno.readDirSync(base)].filter((e) => e.name.startsWith(`${Deno.pid}-`));
      assertEquals(left.map((e) => e.name), []);
    }
  },
);

/** python3's REPL on a terminal (spawn it with REPL_OPTIONS): its first line is edited. */
async function repl(
  child: { stdout: ReadableStream<Uint8Array>; stdin: WritableStream<Uint8Array> | null },
) {
  const out = reader(child);
  const w = child.stdin!.getWriter();
  const type = (s: string) => w.write(enc.encode(s));
  await out.until(/>>> $/);
  // The terminal's erase character (DEL) edits the line before python sees it.
  await type("6*X\x7f7\n");
  await out.until(/\r\n42\r\n>>> $/);
  return { out, w, type };
}
const REPL_OPTIONS = { tty: TTY, stdin: "piped", env: { TERM: "dumb" } } as const;

kernelTest("tty: a REPL fed keystrokes: line editing, Ctrl-C interrupts, Ctrl-D ends", async () => {
  const child = sandbox().spawn("python3", ["-i", "-q"], REPL_OPTIONS);
  const { out, w, type } = await repl(child);
  // A busy loop, then Ctrl-C: the line discipline sends SIGINT to the foreground group.
  await type("while True: pass\n\n");
  await new Promise((r) => setTimeout(r, 200));
  await type("\x03");
  await out.until(/KeyboardInterrupt\r\n>>> $/);
  await type("print('after', 1 + 1)\n");
  await out.until(/after 2\r\n>>> $/);
  await type("\x04"); // Ctrl-D: end of input at the prompt
  await out.done;
  const result = await child.status;
  await w.close().catch(() => {}); // the launcher is gone: nothing reads it any more
  assertEquals([result.exitCode, result.reason], [0, "exited"], out.text());
});

kernelTest(
  "tty: sh reads a line typed with the erase and kill characters; end of input is ^D",
  async () => {
    // ^U (kill) drops the whole line typed so far; DEL erases one character.
    const r = await sandbox().run("sh", ["-c", `read line; echo "got:$line"`], {
      tty: TTY,
      input: "junk\x15abX\x7fc\n",
    });
    assertEquals(r.exitCode, 0, r.stderr);
    assertMatch(r.stdout, /got:abc\r\n$/);
    // End of input after a last line without a newline still reaches the reader as end-of-file.
    const cat = await sandbox().run("sh", ["-c", "cat; echo; echo END"], {
      tty: TTY,
      input: "abc",
      timeout: "20s",
    });
    assertEquals([cat.reason, cat.stdout], ["exited", "abcabc\r\nEND\r\n"]);
  },
);

kernelTest("tty: TIOCSTI and TIOCLINUX on the terminal are refused by seccomp", async () => {
  const probe = `import fcntl, sys, termios
for name, req in (("TIOCSTI", termios.TIOCSTI), ("TIOCLINUX", 0x541C)):
    try:
        fcntl.ioctl(0, req, b"x")
        print(name, "ALLOWED"); sys.exit(77)
    except OSError as e:
        print(name, "refused", e.errno)`;
  // The policy: an ioctl refused by its argument is answered EPERM (in either seccomp action:
  // argument refusals never kill), and the violation is recorded.
  for (const action of ["errno", "kill"] as const) {
    const r = await sandbox({ seccomp: { profile: "compute", action } })
      .run("python3", ["-c", probe], { tty: TTY });
    assertEquals([r.exitCode, r.reason], [0, "exited"], `${action}: ${r.stdout}${r.stderr}`);
    assertEquals(r.stdout, "TIOCSTI refused 1\r\nTIOCLINUX refused 1\r\n");
    assertEquals(r.seccompViolation?.syscall, "ioctl", action);
  }
});

kernelTest("tty: exit status, timeout, output limit and CPU accounting as for pipes", async () => {
  const sb = sandbox();
  const exit = await sb.run("sh", ["-c", "echo bye; exit 3"], { tty: TTY });
  assertEquals([exit.exitCode, exit.reason, exit.stdout], [3, "exited", "bye\r\n"]);
  const slow = await sb.run("sleep", ["10"], { tty: TTY, timeout: "300ms" });
  assertEquals([slow.reason, slow.timedOut], ["timeout", true]);
  assert(slow.wallTimeMs < 5000, `${slow.wallTimeMs}`);
  const loud = await sb.run("yes", [], { tty: TTY, maxOutput: "64K" });
  assertEquals(loud.reason, "output-limit");
  assertEquals(loud.stdoutBytes.length, 64 * 1024);
  const busy = await sb.run("python3", ["-c", "sum(range(3_000_000)); print('done')"], {
    tty: TTY,
  });
  assertEquals(busy.stdout, "done\r\n");
  assert(busy.cpuTimeUs > 10_000, `cpuTimeUs ${busy.cpuTimeUs}`);
  assert(busy.memoryPeakBytes > 1 << 20, `memoryPeakBytes ${busy.memoryPeakBytes}`);
  // A signal from the caller still reaches the program (SIGTERM forwarded).
  const child = sb.spawn("sleep", ["10"], { tty: TTY });
  setTimeout(() => child.kill("SIGTERM"), 100);
  assertEquals((await child.status).signal, "SIGTERM");
});

kernelTest(
  "tty: neither a program that reads nothing nor a caller that reads nothing stalls the run",
  async () => {
    const sb = sandbox();
    // 4 MiB of input to a program that never reads: the terminal fills, the monitor keeps going.
    const deaf = await sb.run("sleep", ["30"], {
      tty: TTY,
      input: new Uint8Array(4 << 20).fill(0x61),
      timeout: "500ms",
    });
    assertEquals(deaf.reason, "timeout");
    assert(deaf.wallTimeMs < 5000, `${deaf.wallTimeMs}`);
    // Endless output nobody reads: the wall clock still ends the run, and status resolves.
    const child = sb.spawn("yes", [], { tty: TTY, timeout: "500ms" });
    const result = await child.status;
    assertEquals(result.reason, "timeout");
    assert(result.wallTimeMs < 5000, `${result.wallTimeMs}`);
    await child.stdout.cancel();
    // A reader that starts late still gets every byte (the program waits on the full terminal).
    const late = sb.spawn("sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' a"], { tty: TTY });
    await new Promise((r) => setTimeout(r, 1000));
    const bytes = new Uint8Array(await new Response(late.stdout).arrayBuffer());
    assertEquals((await late.status).reason, "exited");
    assertEquals([bytes.length, bytes.every((b) => b === 0x61)], [300000, true]);
  },
);

kernelTest("tty: options are checked up front and name the field", async () => {
  const sb = sandbox();
  assertThrows(
    () => sb.spawn("true", [], { tty: { cols: 0, rows: 24 } }),
    RangeError,
    "options.tty.cols 0",
  );
  assertThrows(
    () => sb.spawn("true", [], { tty: { cols: 80 } as never }),
    TypeError,
    "options.tty.rows",
  );
  assertThrows(
    () => sb.spawn("true", [], { tty: { cols: 80, rows: 24, x: 1 } as never }),
    RangeError,
    "x",
  );
  assertThrows(() => sb.spawn("true", [], { tty: "yes" as never }), TypeError, "options.tty");
  // Landlock alone (no namespaces): no devpts of the sandbox's own, so no terminal.
  assertThrows(
    () => sandbox({ namespaces: false }).spawn("true", [], { tty: TTY }),
    RangeError,
    "options.tty",
  );
  const pipes = sb.spawn("true");
  await assertRejects(() => pipes.resize(80, 24), TypeError, "no terminal");
  await pipes.status;
  const child = sb.spawn("true", [], { tty: TTY });
  assertThrows(() => child.resize(80, 65536), RangeError, "65536");
  await child.status;
});

kernelTest(
  "tty: the launcher never reuses a name at the control FIFO's path (fail closed)",
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-tty-" });
    try {
      // A planted symlink where the FIFO goes: mkfifo refuses it before any namespace exists, and
      // what it points to is untouched.
      Deno.writeTextFileSync(`${dir}/target`, "host file\n");
      Deno.symlinkSync(`${dir}/target`, `${dir}/status.tty`);
      const tokens = ["status", `${dir}/status`, "unshare", "mount", "newroot", "dev", "/dev"];
      tokens.push("tty", "80", "24", "tty-control", `${dir}/status.tty`, "exec", "/bin/true");
      const child = new Deno.Command(LAUNCHER, { stdin: "piped", stdout: "null", stderr: "piped" })
        .spawn();
      const w = child.stdin.getWriter();
      await w.write(encodeFrame(tokens.map((t) => [t] as const)));
      await w.close();
      const out = await child.output();
      assertEquals(out.code, 125);
      assertMatch(dec.decode(out.stderr), /tty .*status\.tty: File exists/);
      assertEquals(Deno.readTextFileSync(`${dir}/target`), "host file\n");
      assertMatch(Deno.readTextFileSync(`${dir}/status`), /"step":"tty"/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

// Terminals in a session: the agent opens each command's terminal from the session's own devpts
// and relays it over the session's channel; resize() is a frame, end of input is ^D.
kernelTest("session tty: tty, stty size, resize and the controlling terminal", async () => {
  await using session = await sandbox({ id: "stty" }).session();
  const r = await session.run(
    "sh",
    ["-c", "tty; stty size; ps -o tty= -p $$ 2>/dev/null || true"],
    {
      tty: TTY,
    },
  );
  assertEquals(r.exitCode, 0, r.stdout);
  assertMatch(r.stdout, /^\/dev\/pts\/\d+\r\n24 80\r\n/);
  assertEquals(r.stderr, "");
  // A resize reaches the program as SIGWINCH and a new size.
  const child = session.spawn("sh", [
    "-c",
    `trap 'stty size; exit 0' WINCH; while :; do sleep 0.05; done`,
  ], {
    tty: TTY,
  });
  const out = reader(child);
  await new Promise((r) => setTimeout(r, 300));
  await child.resize(132, 43);
  await out.done;
  assertEquals((await child.status).exitCode, 0, out.text());
  assertMatch(out.text(), /43 132\r\n$/);
  // A command without a terminal cannot be resized.
  await assertRejects(() => session.spawn("true").resize(10, 10), TypeError, "no terminal");
});

kernelTest("session tty: a REPL fed keystrokes; TIOCSTI stays refused", async () => {
  await using session = await sandbox({ id: "repl" }).session();
  const child = session.spawn("python3", ["-i", "-q"], REPL_OPTIONS);
  const { out, w, type } = await repl(child);
  await type("import fcntl, termios\n");
  await type(
    "try:\n fcntl.ioctl(0, termios.TIOCSTI, b'x')\nexcept OSError as e:\n print('refused', e.errno)\n\n",
  );
  await out.until(/refused 1\r\n>>> $/);
  await w.close(); // end of input: ^D at the prompt
  await out.done;
  assertEquals((await child.status).exitCode, 0, out.text());
});
