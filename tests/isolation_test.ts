// The embedded default sandbox, tested on the real kernel: each probe attempts the forbidden
// thing and exits with a sentinel code only when the restriction held.
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import {
  hostProcesses,
  isRoot,
  kernelTest,
  marker,
  reachesHostListener,
  sandbox,
  sh,
  waitFor,
} from "./_helpers.ts";
import { ProgramNotExecutableError, ProgramNotFoundError } from "../mod.ts";

kernelTest("the target sees itself as a low pid and no host process", async () => {
  const r = await sh('echo "$$"; ls /proc | grep -c "^[0-9]"');
  assertEquals(r.exitCode, 0, r.stderr);
  const [pid, count] = r.stdout.trim().split("\n").map(Number);
  assertEquals(pid, 2); // init is 1
  assert(count! <= 4, `saw ${count} processes`); // init, sh, ls, grep
});

kernelTest(
  "runs as uid 1000 with no capabilities, no_new_privs and no controlling tty",
  async () => {
    const r = await sh(
      'grep -E "^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status; ' +
        "(exec 3</dev/tty) 2>/dev/null && exit 77; exit 0",
    );
    assertEquals(r.exitCode, 0, "a controlling terminal was reachable");
    assertMatch(r.stdout, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    assertMatch(r.stdout, /^Gid:\s+1000\s+1000\s+1000\s+1000$/m);
    for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
      assertMatch(r.stdout, new RegExp(`^${set}:\\s+0000000000000000$`, "m"));
    }
    assertMatch(r.stdout, /^NoNewPrivs:\s+1$/m);
  },
);

kernelTest("the hostname is the sandbox's own", async () => {
  const host = Deno.hostname();
  const r = await sh("hostname", { hostname: "judge-7" });
  assertEquals(r.stdout.trim(), "judge-7");
  assert(host !== "judge-7");
});

kernelTest("only lo exists, and it is up", async () => {
  // Interfaces from /proc/net/dev; lo's IFF_UP bit via SIOCGIFFLAGS (needs a socket: network
  // profile). `ip` cannot be used: every profile refuses netlink sockets.
  const script = `
import socket, fcntl, struct
names = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0))[:18])[1]
print(",".join(names), flags & 1)
`;
  const r = await sandbox({ seccomp: "network" }).run("python3", ["-c", script]);
  assertEquals(r.stdout, "lo 1\n", r.stderr);
});

kernelTest("the network namespace reaches no host listener", async () => {
  // A TCP server on the host's loopback; the sandbox's 127.0.0.1 is another network stack.
  assertEquals(await reachesHostListener(), false, "connected to a host listener");
});

kernelTest(
  "the environment is clean: only PATH, the identity's and what the policy sets",
  async () => {
    Deno.env.set("SANDBOX_TS_SECRET", "leak");
    try {
      const r = await sandbox({ env: { FOO: "bar", SHELL: "/bin/bash" } }).run("env");
      const vars = r.stdout.trim().split("\n").sort();
      assertEquals(vars, [
        "FOO=bar",
        "HOME=/home/sandbox",
        "LOGNAME=sandbox",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "SHELL=/bin/bash",
        "USER=sandbox",
      ]);
    } finally {
      Deno.env.delete("SANDBOX_TS_SECRET");
    }
  },
);

kernelTest("no fd beyond 0-2 reaches the target", async () => {
  // ls opens one fd for the directory it lists (3); nothing else may be there.
  const r = await sandbox().run("ls", ["/proc/self/fd"]);
  assertEquals(r.stdout.trim().split("\n").sort(), ["0", "1", "2", "3"]);
});

kernelTest("host /root, host /tmp, /etc/shadow and $HOME are invisible", async () => {
  const probe = `probe-${marker()}`;
  Deno.writeTextFileSync(`/tmp/${probe}`, "host");
  try {
    const r = await sh(
      `test -e /tmp/${probe} && exit 71; test -e /root && exit 72; test -e /etc/shadow && exit 73; ` +
        `test "$(ls -A /home)" = sandbox || exit 74; test -e /work && exit 75; exit 0`,
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}`);
  } finally {
    Deno.removeSync(`/tmp/${probe}`);
  }
});

kernelTest("/usr, / and /etc are read-only; /tmp is a private writable tmpfs", async () => {
  const r = await sh(
    "touch /usr/x 2>/dev/null && exit 71; touch /x 2>/dev/null && exit 72; " +
      "touch /etc/passwd 2>/dev/null && exit 73; mkdir /newdir 2>/dev/null && exit 74; " +
      'echo ok > /tmp/f && test "$(cat /tmp/f)" = ok || exit 75; ' +
      'test "$(stat -f -c %T /tmp)" = tmpfs || exit 76; exit 0',
  );
  assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
});

kernelTest("/dev is minimal: no block devices, no /dev/mem, and the basics work", async () => {
  const r = await sh(
    "test -e /dev/mem && exit 71; test -e /dev/kmsg && exit 72; " +
      "ls -l /dev | grep -q '^b' && exit 73; " +
      "head -c 4 /dev/zero | wc -c | grep -qx 4 || exit 74; echo x > /dev/null || exit 75; " +
      "head -c 8 /dev/urandom | wc -c | grep -qx 8 || exit 76; " +
      "test -L /dev/fd -a -d /dev/pts -a -d /dev/shm || exit 77; touch /dev/evil 2>/dev/null && exit 78; exit 0",
  );
  assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
});

kernelTest("exit codes and signals propagate", async () => {
  const sb = sandbox();
  assertEquals((await sb.run("sh", ["-c", "exit 42"])).exitCode, 42);
  const killed = await sb.run("sh", ["-c", "kill -SEGV $$"]);
  assertEquals(killed.exitCode, null);
  assertEquals(killed.signal, "SIGSEGV");
  assertEquals(killed.reason, "signaled");
  const ok = await sb.run("true");
  assertEquals([ok.exitCode, ok.signal, ok.reason, ok.timedOut], [0, null, "exited", false]);
});

kernelTest(
  "the timeout kills sleep and a setsid double-forked daemon; nothing stays on the host",
  async () => {
    const tag = marker();
    const sb = sandbox({ timeout: "400ms" });
    const r = await sb.run("sh", [
      "-c",
      `setsid sh -c 'sleep ${tag} & sleep ${tag}1 &' ; sleep ${tag}2`,
    ]);
    assertEquals(r.reason, "timeout");
    assert(r.timedOut);
    assert(r.wallTimeMs >= 400 && r.wallTimeMs < 2000, `wall ${r.wallTimeMs}`);
    assertEquals(hostProcesses(`sleep ${tag}`), []);
  },
);

kernelTest("a daemon left behind by a target that exits is killed with the run", async () => {
  const tag = marker();
  const r = await sh(`setsid sh -c 'sleep ${tag} &' ; exit 0`);
  assertEquals(r.exitCode, 0);
  assertEquals(hostProcesses(`sleep ${tag}`), []);
});

kernelTest("a background process holding stdout open does not hang the run", async () => {
  const r = await sh("(sleep 30 &) ; echo done", { timeout: "10s" });
  assertEquals(r.stdout, "done\n");
  assert(r.wallTimeMs < 5000, `took ${r.wallTimeMs} ms`);
});

kernelTest("a missing program gives a typed error with exit code 127", async () => {
  const e = await assertRejects(() => sandbox().run("no-such-program-xyz"), ProgramNotFoundError);
  assertEquals(e.exitCode, 127);
  assertEquals(e.errno, "ENOENT");
  assertEquals(e.path, "no-such-program-xyz");
  const abs = await assertRejects(() => sandbox().run("/usr/bin/no-such"), ProgramNotFoundError);
  assertEquals(abs.step, "exec");
});

kernelTest("a directory as program gives exit code 126", async () => {
  const e = await assertRejects(() => sandbox().run("/usr"), ProgramNotExecutableError);
  assertEquals(e.exitCode, 126);
  assertEquals(e.errno, "EACCES");
});

kernelTest("the result reports mode, namespaces and usage", async () => {
  const r = await sh("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done");
  assertEquals(r.mode, isRoot ? "privileged" : "unprivileged");
  assertEquals(r.enforced.namespaces, ["user", "pid", "mount", "uts", "ipc", "net", "cgroup"]);
  assert(r.cpuTimeUs > 0 && r.cpuTimeUs === r.cpuUserUs + r.cpuSystemUs);
  assert(r.memoryPeakBytes > 100_000);
  assert(r.wallTimeMs > 0);
});

kernelTest("cwd and env options reach the target", async () => {
  const r = await sandbox({ cwd: "/usr", env: { A: "1" } }).run("sh", ["-c", 'pwd; echo "$A$B"'], {
    env: { B: "2" },
  });
  assertEquals(r.stdout, "/usr\n12\n");
  const o = await sandbox().run("pwd", [], { cwd: "/tmp" });
  assertEquals(o.stdout, "/tmp\n");
});

kernelTest("argv is passed verbatim: spaces, quotes, options and unicode", async () => {
  const args = ["a b", "'\"", "--bind", "-", "", "żółw", "$HOME"];
  const r = await sandbox().run("printf", ["[%s]\\n", ...args]);
  assertEquals(r.stdout, args.map((a) => `[${a}]\n`).join(""));
});

kernelTest("runs python3, coreutils and a shell pipeline from the default root", async () => {
  const r = await sh(
    "python3 -c 'print(6*7)' && echo abc | tr a-z A-Z && ls -l /usr/bin/env >/dev/null && echo ok",
  );
  assertEquals(r.stdout, "42\nABC\nok\n", r.stderr);
});

kernelTest(
  "the host's boot command line and the launcher's host path, environment and exe are hidden",
  async () => {
    // init (pid 1) is a copy of the launcher: its cmdline would name the launcher's host path.
    const r = await sh(
      "cat /proc/cmdline >/dev/null 2>&1 && exit 71; cat /proc/1/environ >/dev/null 2>&1 && exit 72; " +
        "readlink /proc/1/exe >/dev/null 2>&1 && exit 73; ls /proc/1/fd >/dev/null 2>&1 && exit 74; " +
        "cat /proc/1/maps >/dev/null 2>&1 && exit 75; tr '\\0' '|' < /proc/1/cmdline",
      { seccomp: "none" },
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assertEquals(r.stdout, "sandbox-launcher|");
    // The launcher itself shows the same title on the host: no path, no ops.
    const tag = marker();
    const child = sandbox().spawn("sleep", [tag]);
    try {
      assert(
        await waitFor(() => hostProcesses(`sleep ${tag}`).length === 1, 60_000),
        "not started",
      );
      assertEquals(Deno.readTextFileSync(`/proc/${child.pid}/cmdline`), "sandbox-launcher\0");
    } finally {
      child.kill();
      await child.status.catch(() => {});
    }
  },
);
