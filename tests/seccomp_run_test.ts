// Seccomp on the real kernel: every never-list call attempted from inside, argument filters,
// x32, named violations, and the profile compatibility matrix.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { kernelTest, LAUNCHER, sandbox, sh } from "./_helpers.ts";
import { launcherFeatures } from "../lib/launcher.ts";
import { cgroupHost } from "../lib/cgroups.ts";
import { compileSeccomp, NEVER_ALLOWED, PROFILE_NAMES } from "../lib/seccomp/mod.ts";
import { encodeFrame } from "../lib/config.ts";
import { syscallNames, syscallNumber } from "../lib/syscalls.ts";

const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";

// A python3 probe: calls each syscall number with harmless arguments and prints "nr errno".
const PROBE = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for nr in map(int, sys.argv[1:]):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
    print(nr, r, ctypes.get_errno(), flush=True)
`;

const never = NEVER_ALLOWED.map((n) => [n, syscallNumber(arch, n)] as const)
  .filter((e): e is readonly [string, number] => e[1] !== undefined);

for (const profile of ["compute", "unrestricted"] as const) {
  kernelTest(
    `every never-list syscall is refused by "${profile}" (errno mode: EPERM, each one counted)`,
    async () => {
      const sb = sandbox({ seccomp: { profile, action: "errno" } });
      const r = await sb.run("python3", ["-c", PROBE, ...never.map(([, nr]) => String(nr))]);
      assertEquals(r.exitCode, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").map((l) => l.split(" ").map(Number));
      assertEquals(lines.length, never.length);
      for (const [nr, ret, errno] of lines) {
        const name = never.find(([, n]) => n === nr)![0];
        // io_uring_setup is answered ENOSYS by design (programs fall back); all else EPERM.
        const expected = name === "io_uring_setup" ? 38 : 1;
        assertEquals([name, ret, errno], [name, -1, expected]);
      }
      // Every refusal reached the monitor (so none was the kernel's own EPERM), io_uring_setup aside.
      assertEquals(r.seccompViolations, never.length - 1);
      assert(r.seccompViolation !== null);
      assertEquals(r.reason, "exited");
    },
  );

  kernelTest(`a never-list call kills the sandbox under "${profile}" and is named`, async () => {
    const nr = syscallNumber(arch, "ptrace")!;
    const r = await sandbox({ seccomp: profile }).run("python3", ["-c", PROBE, String(nr)]);
    assertEquals(r.reason, "seccomp");
    assert(r.killedBySeccomp);
    assertEquals(r.signal, "SIGSYS");
    assertEquals(r.seccompViolation, { syscall: "ptrace", number: nr, arch });
  });
}

kernelTest("violations are named for keyctl, bpf, mount, unshare and setns", async () => {
  for (const name of ["keyctl", "bpf", "mount", "unshare", "setns", "perf_event_open"]) {
    const nr = syscallNumber(arch, name)!;
    const r = await sandbox().run("python3", ["-c", PROBE, String(nr)]);
    assertEquals([r.reason, r.seccompViolation?.syscall], ["seccomp", name]);
  }
});

kernelTest(
  "TIOCSTI and TIOCLINUX are refused, including with high bits set (CVE-2019-10063)",
  async () => {
    const ioctl = syscallNumber(arch, "ioctl")!;
    const script = `
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for req in (0x5412, 0x541C, 0x100005412, 0xffffffff00005412, 0x5413):
    ctypes.set_errno(0)
    c = ctypes.c_char(b"x")
    r = libc.syscall(ctypes.c_long(${ioctl}), ctypes.c_long(0), ctypes.c_ulong(req), ctypes.byref(c))
    print(hex(req), r, ctypes.get_errno())
`;
    const r = await sandbox().run("python3", ["-c", script]);
    const rows = r.stdout.trim().split("\n").map((l) => l.split(" "));
    // EPERM from the filter; TIOCGWINSZ (0x5413) on a pipe passes the filter and gets ENOTTY.
    assertEquals(rows, [
      ["0x5412", "-1", "1"],
      ["0x541c", "-1", "1"],
      ["0x100005412", "-1", "1"],
      ["0xffffffff00005412", "-1", "1"],
      ["0x5413", "-1", "25"],
    ]);
  },
);

kernelTest("namespace creation through clone and foreign socket families are refused", async () => {
  const script = `
import ctypes, os, socket, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
r = libc.syscall(ctypes.c_long(${
    syscallNumber(arch, "clone")
  }), ctypes.c_long(0x10000000 | 17), 0, 0, 0, 0)
print("clone-newuser", r, ctypes.get_errno())
for fam in (socket.AF_NETLINK, socket.AF_PACKET, 40):
    try:
        socket.socket(fam, socket.SOCK_RAW if fam != 40 else socket.SOCK_STREAM, 0); print("socket", fam, "ok")
    except OSError as e:
        print("socket", fam, e.errno)
pid = os.fork()
if pid == 0: os._exit(7)
print("fork", os.waitpid(pid, 0)[1] >> 8)
`;
  const r = await sandbox({ seccomp: "network" }).run("python3", ["-c", script]);
  assertEquals(
    r.stdout,
    "clone-newuser -1 1\nsocket 16 97\nsocket 17 97\nsocket 40 97\nfork 7\n",
    r.stderr,
  );
});

kernelTest("an argument-check refusal is answered with its errno, counted and named", async () => {
  // Default kill mode: a foreign socket family and TIOCSTI fail, the program goes on.
  const script = `
import socket, fcntl, os
for fam in (socket.AF_NETLINK, socket.AF_PACKET):
    try: socket.socket(fam, socket.SOCK_RAW, 0)
    except OSError as e: print(e.errno)
try: fcntl.ioctl(0, 0x5412, b"x")
except OSError as e: print(e.errno)
`;
  const r = await sandbox().run("python3", ["-c", script]);
  assertEquals([r.exitCode, r.stdout, r.reason, r.killedBySeccomp], [
    0,
    "97\n97\n1\n",
    "exited",
    false,
  ]);
  assertEquals([r.seccompViolation?.syscall, r.seccompViolations], ["socket", 3]);
  // errno mode: the same, plus the EPERM answers of refused syscalls.
  const e = await sandbox({ seccomp: { profile: "compute", action: "errno" } }).run("python3", [
    "-c",
    // ptrace: 101 on x86_64, 117 on aarch64.
    script +
    `import ctypes\nprint(ctypes.CDLL(None).syscall(${arch === "aarch64" ? 117 : 101}) == -1)`,
  ]);
  assertEquals([e.exitCode, e.stdout, e.seccompViolations], [0, "97\n97\n1\nTrue\n", 4]);
});

kernelTest("an x32 syscall is refused", {
  skip: arch !== "x86_64" && "x32 exists only on x86_64",
}, async () => {
  const getpid = syscallNumber(arch, "getpid")!;
  const r = await sandbox({ seccomp: "unrestricted" }).run("python3", [
    "-c",
    PROBE,
    String(getpid | 0x40000000),
  ]);
  assertEquals(r.reason, "seccomp");
  assertEquals(r.seccompViolation?.number, getpid | 0x40000000);
  assertMatch(r.seccompViolation!.syscall, /x32:getpid|getpid/);
});

// The compatibility matrix: each profile runs what it claims (cumulative).
const MATRIX: Record<string, [string, string[]][]> = {
  essential: [["true", []], ["/bin/true", []]],
  minimal: [
    ["sh", ["-c", "echo hi; sleep 0.01"]],
    ["bash", ["-c", "for i in 1 2; do echo $i; done; sleep 0.01 & wait"]],
    ["cat", ["/etc/passwd"]],
    ["ls", ["-l", "/usr/bin/env", "/"]],
    ["echo", ["x"]],
    ["sleep", ["0.01"]],
    ["python3", ["-c", "import json; print(json.dumps([1]))"]],
    ["id", []],
  ],
  "io-heavy": [
    ["sh", [
      "-c",
      "cd /tmp && mkdir d && echo a > d/f && cp d/f d/g && mv d/g d/h && chmod 600 d/h && ln -s h d/l && rm -r d",
    ]],
  ],
  compute: [
    ["python3", [
      "-c",
      "import threading; t=threading.Thread(target=print, args=(1,)); t.start(); t.join()",
    ]],
    ["sh", [
      "-c",
      "cd /tmp && printf '#include <stdio>\\n' >/dev/null; printf 'int main(){return 3;}' > a.c && gcc -o a a.c && ./a; test $? = 3",
    ]],
    ["node", [
      "-e",
      "const {Worker}=require('worker_threads'); new Worker('1', {eval:true}).on('exit', c => process.exit(c))",
    ]],
    ["python3", [
      "-c",
      "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); c=socket.create_connection(s.getsockname()); a,_=s.accept(); c.send(b'x'); assert a.recv(1)==b'x'",
    ]],
  ],
  unrestricted: [["sh", ["-c", "nproc >/dev/null && uname -a >/dev/null"]]],
};

/** Why a test cannot run: the first of `programs` not on the sandbox's PATH, or false. */
function notInstalled(...programs: string[]): string | false {
  const dirs = ["/usr/local/bin", "/usr/bin", "/bin"];
  for (const p of programs) {
    const found = (p.startsWith("/") ? [""] : dirs).some((d) => {
      try {
        return Deno.statSync(d ? `${d}/${p}` : p).isFile;
      } catch {
        return false;
      }
    });
    if (!found) return `"${p}" is not installed here`;
  }
  return false;
}

for (const [i, profile] of PROFILE_NAMES.entries()) {
  const programs = PROFILE_NAMES.slice(0, i + 1).flatMap((l) => (MATRIX[l] ?? []).map(([p]) => p));
  kernelTest(
    `profile "${profile}" runs what it claims (and what the profiles below it claim)`,
    { skip: notInstalled(...new Set(programs)) },
    async () => {
      const sb = sandbox({ seccomp: profile });
      for (const lower of PROFILE_NAMES.slice(0, i + 1)) {
        for (const [program, args] of MATRIX[lower] ?? []) {
          const r = await sb.run(program, args);
          assertEquals(
            [r.exitCode, r.seccompViolation],
            [0, null],
            `${profile}: ${program} ${args.join(" ")}: ${r.reason} ${r.stderr}`,
          );
        }
      }
    },
  );
}

kernelTest(
  "set-id calls keep or drop ids under the default profile, and nothing more",
  async () => {
    // GNU make's child calls setresuid(-1, 0, -1): allowed by the filter, refused by the kernel
    // (the target holds no capabilities). Keeping the current ids works; another id fails EPERM.
    // (EINVAL instead of EPERM: the id is not mapped in the run's user namespace.)
    const script = `
import os, errno
def attempt(name, f):
    try:
        f(); return name + " ok"
    except OSError as e:
        return name + (" refused" if e.errno in (errno.EPERM, errno.EINVAL) else " " + str(e))
uid, gid = os.getuid(), os.getgid()
other = 4242 if uid != 4242 else 4243
print(attempt("keep-uid", lambda: os.setresuid(uid, uid, uid)))
print(attempt("keep-gid", lambda: os.setresgid(gid, gid, gid)))
print(attempt("setuid-other", lambda: os.setuid(other)))
print(attempt("setgid-other", lambda: os.setregid(other, other)))
print(attempt("setgroups", lambda: os.setgroups([other])))
print(attempt("make-root", lambda: os.setresuid(-1, 0, -1)) == ("make-root ok" if uid == 0 else "make-root refused"))
print(os.getuid() == uid and os.geteuid() == uid)
`;
    const r = await sandbox().run("python3", ["-c", script]);
    assertEquals(
      [r.stdout, r.exitCode, r.seccompViolation],
      [
        "keep-uid ok\nkeep-gid ok\nsetuid-other refused\nsetgid-other refused\nsetgroups refused\nTrue\nTrue\n",
        0,
        null,
      ],
      r.stderr,
    );
  },
);

kernelTest("the default profile runs python3, node, gcc, sh and coreutils", {
  skip: notInstalled("python3", "node", "gcc"),
}, async () => {
  const r = await sandbox().run("sh", [
    "-c",
    "python3 -c 'print(1)' && node -e 'console.log(2)' && cd /tmp && echo 'int main(){return 0;}' > m.c && gcc m.c -o m && ./m && ls -l / >/dev/null && echo ok",
  ]);
  assertEquals([r.stdout, r.exitCode, r.enforced.seccomp], ["1\n2\nok\n", 0, "compute"], r.stderr);
});

kernelTest("seccomp none installs no filter (debugging opt-out)", async () => {
  const r = await sandbox({ seccomp: "none" }).run("grep", ["Seccomp:", "/proc/self/status"]);
  assertMatch(r.stdout, /Seccomp:\s+0/);
  assertEquals(r.enforced.seccomp, null);
  const f = await sandbox().run("grep", ["Seccomp:", "/proc/self/status"]);
  assertMatch(f.stdout, /Seccomp:\s+2/);
});

kernelTest("deny refuses a syscall the profile allows; allow adds one", async () => {
  const uname = syscallNumber(arch, "uname")!;
  const r = await sandbox({ seccomp: { profile: "compute", deny: ["uname"] } }).run("uname");
  assertEquals([r.reason, r.seccompViolation?.syscall], ["seccomp", "uname"]);
  assertEquals(r.seccompViolation?.number, uname);
  const a = await sandbox({ seccomp: { profile: "minimal", allow: ["uname"] } }).run("uname");
  assertEquals(a.exitCode, 0);
});

// Python probes that call syscalls by number: NR maps every name of this arch to its number.
const NR = `NR = ${
  JSON.stringify(Object.fromEntries(syscallNames(arch).map((n) => [n, syscallNumber(arch, n)])))
}
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(name, *args):
    ctypes.set_errno(0)
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return libc.syscall(ctypes.c_long(NR[name]), *conv), ctypes.get_errno()
`;

kernelTest(
  "no set-id files: chmod, fchmod, fchmodat(2), open(at), creat and mknod(at) refuse S_ISUID/S_ISGID",
  async () => {
    const script = NR + `
import os, sys
AT_FDCWD, S_IFREG, O_CREAT_EXCL_WR = -100, 0o100000, 0o100 | 0o200 | 0o1
os.chdir("/tmp")
open("f", "w").close()
fd = os.open("f", os.O_RDONLY)
# name -> arguments for a mode; creating calls get a fresh path each time
attempts = {
    "chmod": lambda p, m: (b"f", m),
    "fchmod": lambda p, m: (fd, m),
    "fchmodat": lambda p, m: (AT_FDCWD, b"f", m),
    "fchmodat2": lambda p, m: (AT_FDCWD, b"f", m, 0),
    "open": lambda p, m: (p, O_CREAT_EXCL_WR, m),
    "openat": lambda p, m: (AT_FDCWD, p, O_CREAT_EXCL_WR, m),
    "creat": lambda p, m: (p, m),
    "mknod": lambda p, m: (p, S_IFREG | m, 0),
    "mknodat": lambda p, m: (AT_FDCWD, p, S_IFREG | m, 0),
}
tried = 0
for i, (name, args) in enumerate(attempts.items()):
    if name not in NR:
        continue
    for mode in (0o4755, 0o2755, 0o6711):
        r, e = call(name, *args(f"s-{name}-{mode:o}".encode(), mode))
        if r >= 0: sys.exit(70 + i)  # a set-id mode was accepted
        if e != 1: print(name, oct(mode), "errno", e); sys.exit(90 + i)
    r, e = call(name, *args(f"p-{name}".encode(), 0o755))  # the same call without set-id bits
    if r < 0 and not (name == "fchmodat2" and e == 38): print(name, "errno", e); sys.exit(110 + i)
    tried += 1
# openat2 keeps its mode in a struct: ENOSYS, so callers use openat
how = (ctypes.c_uint64 * 3)(0o100 | 0o1, 0o4755, 0)
r, e = call("openat2", AT_FDCWD, b"s-openat2", ctypes.byref(how), 24)
if r >= 0: sys.exit(80)
if e != 38: sys.exit(81)
# mkdir needs no rule: the kernel drops set-id bits from its mode
os.mkdir("d", 0o6755)
if os.stat("d").st_mode & 0o6000: sys.exit(82)
if any(os.lstat(n).st_mode & 0o6000 for n in os.listdir(".")): sys.exit(83)
print(tried)
`;
    const r = await sandbox().run("python3", ["-c", script]);
    assertEquals([r.exitCode, r.stdout], [0, arch === "x86_64" ? "9\n" : "5\n"], r.stderr);
    // Refusals by argument are counted and named, answered EPERM even in kill mode.
    const tried = Number(r.stdout);
    assertEquals([r.seccompViolations, r.reason, r.killedBySeccomp], [3 * tried, "exited", false]);
    assert(r.seccompViolation !== null && r.seccompViolation.syscall in { chmod: 1, fchmod: 1 });
    // And what people type: the probe exits with a sentinel only if a set-id bit got through.
    const s = await sh(
      "cd /tmp && touch f && cp /bin/true t && " +
        "chmod u+s f 2>/dev/null && exit 71; chmod 4755 t 2>/dev/null && exit 72; " +
        "chmod g+s t 2>/dev/null && exit 73; install -m 2755 t u 2>/dev/null; " +
        "test -u t -o -g t -o -u f -o -g f && exit 74; test -e u && { test -g u && exit 75; }; " +
        "chmod 755 t && test -x t || exit 76; exit 0",
    );
    assertEquals(s.exitCode, 0, `probe ${s.exitCode}: ${s.stderr}`);
  },
);

kernelTest(
  "ordinary programs still make executables, copy, archive and make directories",
  async () => {
    // A set-group-id host directory: mkdir below it inherits S_ISGID from the kernel, as it should.
    const shared = Deno.makeTempDirSync({ prefix: "sandbox-ts-sgid-" });
    Deno.chmodSync(shared, 0o2777);
    try {
      const r = await sandbox({ mounts: [{ type: "bind", source: shared, target: "/shared" }] })
        .run(
          "sh",
          [
            "-c",
            "set -e; cd /tmp; printf 'int main(){return 0;}' > a.c; gcc -o a a.c; ./a; test -x a; " +
            "mkdir -p x/y/z; chmod 755 x; echo hi > x/f; chmod 644 x/f; cp -p x/f x/g; cp -a x w; " +
            "cp -p a a2; ./a2; tar cf t.tar x a; mkdir u; tar xf t.tar -C u; tar xpf t.tar -C u; " +
            "./u/a; install -m 755 a b; install -d -m 750 dd; chmod u+x,g-w a; chmod -R go-w x; " +
            "python3 -c \"import os, shutil; os.makedirs('p/q'); shutil.copytree('p', 'p2'); " +
            "shutil.copy2('a', 'a3'); os.chmod('a3', 0o700)\"; " +
            "if command -v git >/dev/null; then git init -q r; cd r; echo x > f; git add f; " +
            "git -c user.email=a@b -c user.name=n commit -qm m; cd ..; git clone -q r r2; test -f r2/f; fi; " +
            "cd /shared; mkdir d; test -g d; mkdir -p d/e/f; touch d/e/f/g; echo ok",
          ],
        );
      assertEquals([r.exitCode, r.stdout, r.seccompViolation], [0, "ok\n", null], r.stderr);
    } finally {
      Deno.removeSync(shared, { recursive: true });
    }
  },
);

kernelTest("socketpair works for AF_UNIX and is refused for every other family", async () => {
  const script = `
import socket, sys
a, b = socket.socketpair()
a.send(b"x")
if b.recv(1) != b"x": sys.exit(70)
for family, kind in ((socket.AF_NETLINK, socket.SOCK_RAW), (40, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_STREAM)):
    try:
        socket.socketpair(family, kind)
        sys.exit(71)  # the kernel answers EOPNOTSUPP for these: only the filter says EAFNOSUPPORT
    except OSError as e:
        print(family, e.errno)
`;
  const r = await sandbox().run("python3", ["-c", script]);
  assertEquals([r.exitCode, r.stdout], [0, "16 97\n40 97\n2 97\n"], r.stderr);
});

// Landlock alone (no namespaces): the filter stands in for the IPC and network namespaces.
const landlockAbi = launcherFeatures(LAUNCHER).landlockAbi;
const NO_NS_PROBE = NR + `
import socket, sys
def refused(code, expect, fn):
    try:
        fn()
    except OSError as e:
        if e.errno != expect: print(code, "errno", e.errno); sys.exit(code + 20)
        return
    sys.exit(code)  # it worked: the restriction did not hold
for i, (family, kind, proto) in enumerate(((socket.AF_INET, socket.SOCK_DGRAM, 0),
        (socket.AF_INET6, socket.SOCK_DGRAM, 0), (socket.AF_INET, socket.SOCK_RAW, 1),
        (socket.AF_INET, socket.SOCK_DGRAM, 1), (socket.AF_INET, socket.SOCK_STREAM, 132))):
    refused(70 + i, 13, lambda: socket.socket(family, kind, proto))
# TCP too: listen() without bind() would bind an ephemeral port on every host address.
refused(75, 13, lambda: socket.socket().listen())
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u.close()  # AF_UNIX still works
a, b = socket.socketpair(); a.close(); b.close()
# Each call that must fail, and how to remove what it made on the host if it did not.
ipc = (
    ("shmget", (0, 4096, 0o1600), lambda id: call("shmctl", id, 0, 0)),
    ("semget", (0, 1, 0o1600), lambda id: call("semctl", id, 0, 0)),
    ("msgget", (0, 0o1600), lambda id: call("msgctl", id, 0, 0)),
    ("mq_open", (b"sandbox-ts-probe", 0o100 | 0o2, 0o600, 0), lambda _: call("mq_unlink", b"sandbox-ts-probe")),
)
for j, (name, args, remove) in enumerate(ipc):
    r, e = call(name, *args)
    if r >= 0: remove(r); sys.exit(80 + j)
    if e != 38: print(name, "errno", e); sys.exit(90 + j)
print("held")
`;

kernelTest(
  "without namespaces, network none: no inet sockets, no System V IPC or mqueues",
  { skip: landlockAbi < 1 && "needs Landlock (the wall without namespaces)" },
  async () => {
    const r = await sandbox({ namespaces: false, seccomp: "network" }).run("python3", [
      "-c",
      NO_NS_PROBE,
    ]);
    assertEquals(r.enforced.namespaces, []);
    assertEquals([r.exitCode, r.stdout], [0, "held\n"], r.stderr);
    // The socket refusals are argument checks: counted and named (the IPC ENOSYS answers are not).
    assert(r.seccompViolations >= 6, `${r.seccompViolations}`);
    assertEquals([r.seccompViolation?.syscall, r.killedBySeccomp], ["socket", false]);
    // With namespaces the same calls reach the sandbox's own network and IPC namespaces.
    const own = await sandbox({ seccomp: "network" }).run("python3", [
      "-c",
      NR + `
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
print(call("shmget", 0, 4096, 0o1600)[0] >= 0)`,
    ]);
    assertEquals([own.exitCode, own.stdout], [0, "True\n"], own.stderr);
  },
);

kernelTest(
  "a flood of refused calls is answered at most 1,000 per 100 ms (monitor CPU)",
  async () => {
    // The monitor answers each refused call outside the run's cgroup; past its budget the caller
    // waits in the kernel instead. An upper bound only: a slow machine answers fewer, never more.
    const nr = syscallNumber(arch, "ptrace")!;
    const r = await sandbox({ seccomp: { profile: "compute", action: "errno" } }).run("python3", [
      "-c",
      `import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
start = time.monotonic(); n = 0
while time.monotonic() - start < 1.0:
    libc.syscall(${nr}, 0, 0, 0, 0); n += 1
print(n, time.monotonic() - start)`,
    ]);
    assertEquals(r.exitCode, 0, r.stderr);
    const [calls, seconds] = r.stdout.trim().split(" ").map(Number) as [number, number];
    assertEquals(r.seccompViolations, calls);
    // 1,000 per window, one window's slack for where the first and last windows fall.
    assert(calls <= (Math.ceil(seconds * 10) + 1) * 1000, `${calls} calls in ${seconds} s`);
  },
);

// The listener's hand-over: a courier process sharing the target's fd table sends it to the
// monitor (no pidfd_getfd, which Docker's profile refuses); with no process to spare for it (the
// pids limit) the monitor takes it with pidfd_getfd. Either way a refusal is named.
const cgroups = cgroupHost(Deno.uid() ?? 0);
for (const pids of [undefined, 2] as const) {
  kernelTest(
    `a refused syscall is named with the listener handed over ${
      pids
        ? "under pids 2 (the cgroup leaves no process for the courier: pidfd_getfd)"
        : "by the courier"
    }`,
    {
      skip: pids !== undefined && cgroups.version === null &&
        `no writable cgroup here (${cgroups.reason}): no exact pids limit to leave the courier out`,
    },
    async () => {
      const nr = syscallNumber(arch, "keyctl")!;
      const r = await sandbox({
        ...(pids ? { maxPids: pids } : {}),
        seccomp: { profile: "compute", action: "errno" },
      })
        .run("python3", ["-c", PROBE, String(nr)]);
      assertEquals([r.exitCode, r.stdout.trim()], [0, `${nr} -1 1`], r.stderr);
      assertEquals(r.seccompViolation, { syscall: "keyctl", number: nr, arch });
    },
  );
}

kernelTest("the courier is never the program's child, nor left behind", async () => {
  // wait() finds no child at the program's first instruction, and the sandbox then holds init
  // and the program only.
  const r = await sandbox().run("python3", [
    "-c",
    `import os
try:
    os.wait(); print("child")
except ChildProcessError:
    print("none")
print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))`,
  ]);
  assertEquals([r.exitCode, r.stdout], [0, "none\n[1, 2]\n"], r.stderr);
});

kernelTest("a filter for another architecture kills at the first call, at once", async () => {
  // The target dies at its first call after the filter (the courier's hand-over); the courier
  // sees it die and ends too, so init sees the exec pipe close (a courier left waiting held it
  // open: the run then lasted until its timeout and was SIGKILLed).
  const other = arch === "x86_64" ? "aarch64" : "x86_64";
  let hex = "";
  for (const b of compileSeccomp({ profile: "compute" }, other, { notify: true })) {
    hex += b.toString(16).padStart(2, "0");
  }
  const status = `${Deno.makeTempDirSync()}/status`;
  const frame = encodeFrame([
    ["status", status],
    ["timeout", "20000"],
    ["seccomp", hex],
    ["seccomp-notify", "kill"],
    ["exec", "/bin/true"],
    ["arg", "/bin/true"],
  ]);
  const child = new Deno.Command(LAUNCHER, { stdin: "piped", stdout: "null", stderr: "null" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(frame);
  await w.close();
  const started = performance.now();
  const { code } = await child.status;
  const exit = Deno.readTextFileSync(status).trim().split("\n").map((l) => JSON.parse(l)).at(-1);
  assertEquals([code, exit.signal, exit.timedOut], [128 + 31, 31, false]);
  assert(performance.now() - started < 10_000, "the run waited for its timeout");
  Deno.removeSync(status.slice(0, -"/status".length), { recursive: true });
});
