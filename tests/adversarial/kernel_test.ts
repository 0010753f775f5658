// Attacks on the kernel's surface from inside: each must fail, and be named when the seccomp
// filter stopped it.
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { kernelTest, sandbox } from "../_helpers.ts";
import { syscallNumber } from "../../lib/syscalls.ts";

const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";

/** Calls syscall `name` with the given integer args; prints "ret errno". */
function probe(name: string, args: (number | bigint)[] = []): [string, string[]] {
  const nr = syscallNumber(arch, name);
  const a = args.map((v) => `ctypes.c_long(${v})`).join(", ");
  return ["python3", [
    "-c",
    `import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\nr = libc.syscall(ctypes.c_long(${nr})${
      a ? ", " + a : ""
    })\nprint(r, ctypes.get_errno())`,
  ]];
}

for (
  const name of [
    "ptrace",
    "mount",
    "setns",
    "keyctl",
    "bpf",
    "perf_event_open",
    "open_by_handle_at",
    "unshare",
  ]
) {
  kernelTest(`adversarial: ${name}: killed by the seccomp filter and named`, async () => {
    const r = await sandbox().run(...probe(name, [0, 0, 0, 0]));
    assertEquals([r.reason, r.seccompViolation?.syscall, r.signal], ["seccomp", name, "SIGSYS"]);
  });
}

kernelTest(
  "adversarial: ptrace of a sibling: refused even in errno mode, the sibling untouched",
  async () => {
    const script = `
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
child = os.fork()
if child == 0:
    time.sleep(2); os._exit(0)
r = libc.ptrace(16, child, 0, 0)  # PTRACE_ATTACH
print(r, ctypes.get_errno())
os.kill(child, 9)
`;
    const r = await sandbox({ seccomp: { action: "errno" } }).run("python3", ["-c", script]);
    assertEquals(r.stdout, "-1 1\n");
    assertEquals(r.seccompViolation?.syscall, "ptrace");
  },
);

kernelTest(
  "adversarial: nested user namespace: refused by unshare and by clone flags",
  async () => {
    const r = await sandbox({ seccomp: { action: "errno" } }).run("sh", [
      "-c",
      "unshare -U true 2>&1; echo rc=$?",
    ]);
    assertMatch(r.stdout, /rc=[1-9]/);
    const c = await sandbox().run(...probe("clone", [0x10000000 | 17, 0, 0, 0, 0]));
    assertEquals(c.stdout, "-1 1\n"); // CLONE_NEWUSER: EPERM from the argument filter
  },
);

kernelTest("adversarial: TIOCSTI and TIOCLINUX, also with high bits set: refused", async () => {
  for (const req of [0x5412, 0x541c, 0x100005412n, 0x7fffffff0000541cn]) {
    const r = await sandbox().run(...probe("ioctl", [0, req, 0]));
    assertEquals(r.stdout, "-1 1\n", `request 0x${req.toString(16)}`);
  }
});

kernelTest("adversarial: an x32 syscall: refused", {
  skip: arch !== "x86_64" && "x32 is x86_64 only",
}, async () => {
  const nr = syscallNumber(arch, "getuid")! | 0x40000000;
  const r = await sandbox().run("python3", [
    "-c",
    `import ctypes\nctypes.CDLL(None).syscall(${nr})`,
  ]);
  assertEquals(r.reason, "seccomp");
  assertEquals(r.seccompViolation?.number, nr);
});

kernelTest(
  "adversarial: /proc/sysrq-trigger, /proc/kcore, /proc/sys and /sys: unusable",
  async () => {
    const r = await sandbox().run("sh", [
      "-c",
      "echo h > /proc/sysrq-trigger 2>/dev/null && exit 71; " +
      "head -c 1 /proc/kcore >/dev/null 2>&1 && exit 72; " +
      "echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && exit 73; " +
      "echo x > /proc/sys/vm/drop_caches 2>/dev/null && exit 74; " +
      "ls /sys/kernel >/dev/null 2>&1 && touch /sys/kernel/x 2>/dev/null && exit 75; exit 0",
    ]);
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}`);
  },
);

kernelTest(
  "adversarial: a setuid binary does not gain root (nosuid mounts, no_new_privs)",
  async () => {
    // errno mode, so that the binaries run on past their refused setuid() calls.
    const r = await sandbox({ seccomp: { action: "errno" } }).run("sh", [
      "-c",
      "mount -t tmpfs none /tmp 2>&1; echo rc=$?; su -c 'id -u' root </dev/null 2>&1; echo su=$?",
    ]);
    assertMatch(r.stdout, /must be superuser/);
    assertMatch(r.stdout, /rc=[1-9]/);
    assertMatch(r.stdout, /su=[1-9]/);
    assert(!/^0$/m.test(r.stdout), r.stdout);
    // In kill mode set-id calls only fail (no capabilities); mount() itself ends the run, named.
    const k = await sandbox().run("mount", ["-t", "tmpfs", "none", "/tmp"]);
    assertEquals([k.reason, k.seccompViolation?.syscall], ["seccomp", "mount"]);
  },
);
