import { strict as assert } from "./_assert.ts";
import {
  actionName,
  ARGUMENT_RULES,
  compileSeccomp,
  decodeProgram,
  disassemble,
  evaluateSeccomp,
  FIXED_ERRNO,
  IN_MEMORY_ARGUMENTS,
  IPC_NAMESPACE_SYSCALLS,
  NEVER_ALLOWED,
  NO_INET_SOCKET,
  notifyAnswers,
  PROFILE_DESCRIPTIONS,
  PROFILE_NAMES,
  profileSyscalls,
  type ResolvedSeccomp,
  type ResolveOptions,
  resolvePolicy,
  SECCOMP_RET,
  type SeccompPolicy,
  validateSeccompProgram,
} from "../lib/seccomp/mod.ts";
import {
  type Arch,
  ARCHES,
  AUDIT_ARCH,
  syscallName,
  syscallNames,
  syscallNumber,
  X32_SYSCALL_BIT,
} from "../lib/syscalls.ts";

const { ALLOW, KILL_PROCESS, USER_NOTIF, ERRNO } = SECCOMP_RET;
const EPERM = ERRNO | 1;
const nr = (arch: Arch, name: string): number => {
  const n = syscallNumber(arch, name);
  assert.notEqual(n, undefined, `no ${name} on ${arch}`);
  return n!;
};
const run = (bpf: Uint8Array, arch: Arch, name: string, args: (number | bigint)[] = []) =>
  evaluateSeccomp(bpf, { arch, nr: nr(arch, name), args });

/**
 * The decision a policy implies, restated independently of the compiler: what the program must
 * return for `(nr, args)` on its own architecture.
 */
function expectedAction(
  r: ResolvedSeccomp,
  n: number,
  args: readonly bigint[],
  notify: boolean,
): number {
  const refusal = notify ? USER_NOTIF : r.action === "kill" ? KILL_PROCESS : EPERM;
  if (r.arch === "x86_64" && n >= X32_SYSCALL_BIT) return refusal;
  const fixed = r.fixedErrno.find((f) => f.nr === n);
  if (fixed) return ERRNO | fixed.errno;
  if (!r.allowed.includes(n)) return refusal;
  const rule = r.argumentRules.find((a) => a.nr === n)?.rule;
  if (!rule) return ALLOW;
  for (const check of rule.checks) {
    const low = Number((args[check.arg] ?? 0n) & 0xffffffffn);
    const fails = check.mode === "refuse-values"
      ? check.values.includes(low)
      : check.mode === "allow-values"
      ? !check.values.includes(low)
      : (low & check.values[0]!) !== 0;
    // Notified too (the monitor answers the errno; see notifyAnswers).
    if (fails) return notify ? USER_NOTIF : ERRNO | check.errno;
  }
  return ALLOW;
}

/** Argument vectors that exercise every argument rule: listed values, high bits, others. */
function argumentCases(): bigint[][] {
  const cases: bigint[][] = [[]];
  const values = new Set<bigint>([0n, 1n, 2n, 7n, 10n, 16n, 17n, 38n, 40n, 0x11n, 0xffffffffn]);
  for (const rule of [...Object.values(ARGUMENT_RULES), NO_INET_SOCKET]) {
    for (const v of rule.checks.flatMap((c) => c.values)) {
      values.add(BigInt(v));
      values.add(BigInt(v) | (1n << 32n)); // high word set: must not matter
      values.add(BigInt(v) ^ 1n);
    }
  }
  for (const bit of [0x20000, 0x10000000, 0x40000000, 0x80, 0x100, 0o4000, 0o2000]) {
    values.add(BigInt(bit) | 0x11n);
  }
  for (const v of values) {
    cases.push([v, v, v, v]);
    for (let i = 0; i < 4; i++) cases.push(Array.from({ length: 4 }, (_, j) => (i === j ? v : 0n)));
  }
  return cases;
}

/** Syscall numbers worth probing on `arch`: the whole table range, past it, x32, wraparound. */
function probeNumbers(arch: Arch): number[] {
  const max = Math.max(...syscallNames(arch).map((n) => syscallNumber(arch, n)!));
  const out: number[] = [];
  for (let n = 0; n <= max + 40; n++) out.push(n);
  for (const n of [1000, 0x3fffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, -1]) {
    out.push(n);
  }
  for (const name of ["read", "execve", "openat", "ioctl", "clone", "socket", "getpid"]) {
    const n = syscallNumber(arch, name);
    if (n !== undefined) out.push(X32_SYSCALL_BIT + n, X32_SYSCALL_BIT + 512 + n);
  }
  return out;
}

function assertEquivalent(
  policy: SeccompPolicy,
  arch: Arch,
  notify: boolean,
  where: ResolveOptions = {},
): number {
  const bpf = compileSeccomp(policy, arch, { ...where, notify });
  validateSeccompProgram(bpf);
  const r = resolvePolicy(policy, arch, where);
  const ruled = new Set(r.argumentRules.map((a) => a.nr));
  const cases = argumentCases();
  let checked = 0;
  for (const n of probeNumbers(arch)) {
    for (const args of ruled.has(n) ? cases : [[]]) {
      const got = evaluateSeccomp(bpf, { arch, nr: n, args });
      const want = expectedAction(r, n >>> 0, args, notify);
      if (got !== want) {
        assert.fail(
          `${arch} ${JSON.stringify(policy)} ${JSON.stringify(where)} notify=${notify}: nr ${n} (${
            syscallName(arch, n) ?? "?"
          }) args ${args.map((a) => `0x${a.toString(16)}`).join(",")}: got ${
            actionName(got)
          }, want ${actionName(want)}`,
        );
      }
      checked++;
    }
  }
  // A foreign architecture is killed whatever the number.
  const foreign = arch === "x86_64" ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64;
  for (const a of [foreign, AUDIT_ARCH.i386, 0]) {
    for (const n of [0, 1, 59, 63, 435]) {
      assert.equal(evaluateSeccomp(bpf, { arch: a, nr: n }), KILL_PROCESS);
    }
  }
  return checked;
}

// ---------------------------------------------------------------------------------------------

Deno.test("golden program for a tiny aarch64 policy", () => {
  const keep = new Set(["read", "write", "exit_group"]);
  const policy: SeccompPolicy = {
    profile: "essential",
    allow: ["ioctl"],
    deny: profileSyscalls("essential", "aarch64").filter((n) => !keep.has(n)),
    action: "errno",
  };
  const bpf = compileSeccomp(policy, "aarch64");
  assert.equal(
    disassemble(bpf, "aarch64"),
    `0000: ld [4]                        ; arch
0001: jeq #0xc00000b7 jt 0002 jf 0022 ; AUDIT_ARCH_AARCH64
0002: ld [0]                        ; nr
0003: jge #198 jt 0010 jf 0004      ; socket
0004: jge #63 jt 0007 jf 0005       ; read
0005: jge #29 jt 0006 jf 0021       ; ioctl
0006: jge #30 jt 0021 jf 0017       ; ioprio_set
0007: jge #94 jt 0009 jf 0008       ; exit_group
0008: jge #65 jt 0021 jf 0020       ; readv
0009: jge #95 jt 0021 jf 0020       ; waitid
0010: jge #435 jt 0014 jf 0011      ; clone3
0011: jge #425 jt 0013 jf 0012      ; io_uring_setup
0012: jge #199 jt 0021 jf 0023      ; socketpair
0013: jge #426 jt 0021 jf 0024      ; io_uring_enter
0014: jge #437 jt 0016 jf 0015      ; openat2
0015: jge #436 jt 0021 jf 0024      ; close_range
0016: jge #438 jt 0021 jf 0024      ; pidfd_getfd
0017: ld [24]                       ; args[1] low
0018: jeq #0x5412 jt 0021 jf 0019
0019: jeq #0x541c jt 0021 jf 0020
0020: ret ALLOW
0021: ret ERRNO(1)
0022: ret KILL_PROCESS
0023: ret ERRNO(13)
0024: ret ERRNO(38)
`,
  );
  const hex = Array.from(bpf, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(
    hex,
    "2000000004000000" + "15000014b70000c0" + "2000000000000000" + "35000600c6000000" +
      "350002003f000000" + "3500000f1d000000" + "35000e0a1e000000" + "350001005e000000" +
      "35000c0b41000000" + "35000b0a5f000000" + "35000300b3010000" + "35000100a9010000" +
      "3500080ac7000000" + "3500070aaa010000" + "35000100b5010000" + "35000508b4010000" +
      "35000407b6010000" + "2000000018000000" + "1500020012540000" + "150001001c540000" +
      "060000000000ff7f" + "0600000001000500" + "0600000000000080" + "060000000d000500" +
      "0600000026000500",
  );
  assertEquivalent(policy, "aarch64", false);
});

Deno.test("program shape: arch check, x32 check on x86_64 only, ends in ret", () => {
  for (const arch of ARCHES) {
    const prog = decodeProgram(compileSeccomp({ profile: "minimal" }, arch));
    assert.deepEqual(prog[0], { code: 0x20, jt: 0, jf: 0, k: 4 }); // ld [arch]
    assert.equal(prog[1]!.code, 0x15);
    assert.equal(prog[1]!.k, AUDIT_ARCH[arch]);
    assert.deepEqual(prog[2], { code: 0x20, jt: 0, jf: 0, k: 0 }); // ld [nr]
    assert.equal(prog[3]!.code === 0x35 && prog[3]!.k === X32_SYSCALL_BIT, arch === "x86_64");
    assert.equal(prog.at(-1)!.code, 0x06);
  }
});

Deno.test("binary search: lookups take O(log n) compares", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      const prog = decodeProgram(compileSeccomp({ profile }, arch));
      // Longest path through the tree: count conditional jumps on the way to any ret.
      const depth = (pc: number): number => {
        const { code, jt, jf, k } = prog[pc]!;
        if ((code & 7) === 6) return 0;
        if (code === 0x05) return depth(pc + 1 + k);
        if ((code & 7) === 5) return 1 + Math.max(depth(pc + 1 + jt), depth(pc + 1 + jf));
        return depth(pc + 1);
      };
      const d = depth(0);
      assert.ok(d <= 16, `${arch} ${profile}: ${d} compares on the longest path`);
    }
  }
});

Deno.test("programs longer than 255 instructions use trampolines and stay valid", () => {
  for (const arch of ARCHES) {
    // Deny every other syscall: ~190 alternating segments, so far jumps are unavoidable.
    const deny = syscallNames(arch).filter((n) => syscallNumber(arch, n)! % 2 === 1);
    const policy: SeccompPolicy = { profile: "unrestricted", deny };
    const bpf = compileSeccomp(policy, arch);
    const prog = decodeProgram(bpf);
    assert.ok(prog.length > 255, `${arch}: only ${prog.length} instructions`);
    validateSeccompProgram(bpf);
    prog.forEach(({ code, jt, jf, k }, pc) => {
      if ((code & 7) !== 5) return;
      const targets = code === 0x05 ? [pc + 1 + k] : [pc + 1 + jt, pc + 1 + jf];
      for (const t of targets) assert.ok(t < prog.length, `${arch}: jump at ${pc} leaves program`);
    });
    // Far targets got copies of their `ret` (and, for subtrees, `ja` trampolines).
    const rets = prog.filter((insn) => insn.code === 0x06);
    assert.ok(rets.length > new Set(rets.map((r) => r.k)).size, `${arch}: no ret copies`);
    if (arch === "x86_64") assert.ok(prog.some((insn) => insn.code === 0x05), "no ja trampoline");
    assert.equal(prog.at(-1)!.code, 0x06);
    assertEquivalent(policy, arch, false);
    assertEquivalent({ ...policy, action: "errno" }, arch, true);
  }
});

Deno.test("exhaustive equivalence with resolvePolicy: every profile, arch, action, notify", () => {
  let checked = 0;
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      for (const action of ["kill", "errno"] as const) {
        for (const notify of [false, true]) {
          checked += assertEquivalent({ profile, action }, arch, notify);
        }
      }
    }
  }
  assert.ok(checked > 40_000, `only ${checked} cases`);
});

Deno.test("profiles are cumulative and unrestricted is the table minus the never list", () => {
  for (const arch of ARCHES) {
    let previous = new Set<number>();
    for (const profile of PROFILE_NAMES) {
      const allowed = new Set(resolvePolicy({ profile }, arch).allowed);
      for (const n of previous) {
        assert.ok(allowed.has(n), `${arch}: ${profile} lacks ${syscallName(arch, n)}`);
      }
      // `network` is `compute` itself: sockets are in the default (the namespace is the boundary).
      if (profile === "network") assert.equal(allowed.size, previous.size);
      else assert.ok(allowed.size > previous.size, `${arch}: ${profile} adds nothing`);
      previous = allowed;
    }
    const expected = syscallNames(arch)
      .filter((n) => !NEVER_ALLOWED.includes(n) && !Object.hasOwn(IN_MEMORY_ARGUMENTS, n))
      .sort();
    assert.deepEqual(profileSyscalls("unrestricted", arch), expected);
  }
});

Deno.test("never-allowed syscalls are refused in every profile", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      for (const action of ["kill", "errno"] as const) {
        const bpf = compileSeccomp({ profile, action }, arch);
        for (const name of NEVER_ALLOWED) {
          if (syscallNumber(arch, name) === undefined) continue;
          const got = run(bpf, arch, name);
          const want = name in FIXED_ERRNO
            ? ERRNO | FIXED_ERRNO[name]!
            : action === "kill"
            ? KILL_PROCESS
            : EPERM;
          assert.equal(got, want, `${arch} ${profile}: ${name} got ${actionName(got)}`);
        }
      }
    }
  }
});

Deno.test("profiles contain what real programs need (SEED §4.2 gaps)", () => {
  const need: Record<string, string[]> = {
    essential: ["pread64", "execve", "mmap", "openat", "newfstatat", "exit_group", "getrandom"],
    minimal: [
      "fadvise64",
      "statfs",
      "fstatfs",
      "lgetxattr",
      "getxattr",
      "listxattr",
      "getpeername",
      "rt_sigsuspend",
      "restart_syscall",
      "epoll_pwait",
      "sysinfo",
      "getgroups",
      "prlimit64",
      "pipe2",
      "wait4",
      "clone",
      "copy_file_range",
      "pkey_alloc",
    ],
    "io-heavy": ["renameat2", "copy_file_range", "fchmodat2", "linkat", "unlinkat", "mkdirat"],
    compute: [
      "membarrier",
      "sched_setaffinity",
      "futex_waitv",
      "socketpair",
      "shmget",
      "socket",
      "connect",
      "bind",
      "listen",
      "accept4",
      "sendmmsg",
    ],
  };
  for (const arch of ARCHES) {
    for (const [profile, names] of Object.entries(need)) {
      const have = new Set(profileSyscalls(profile as "minimal", arch));
      for (const name of names) {
        assert.ok(have.has(name), `${arch} ${profile} lacks ${name}`);
      }
    }
  }
  // Names absent on an arch are skipped there, not errors.
  assert.ok(profileSyscalls("essential", "x86_64").includes("open"));
  assert.ok(!profileSyscalls("essential", "aarch64").includes("open"));
  assert.ok(profileSyscalls("minimal", "aarch64").includes("renameat") === false);
  assert.ok(profileSyscalls("io-heavy", "aarch64").includes("renameat"));
});

Deno.test("profileSyscalls is sorted and unique; descriptions exist", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      const names = profileSyscalls(profile, arch);
      assert.deepEqual(names, [...new Set(names)].sort());
      assert.ok(PROFILE_DESCRIPTIONS[profile].length > 20);
    }
  }
  assert.deepEqual(PROFILE_NAMES, [
    "essential",
    "minimal",
    "io-heavy",
    "compute",
    "network",
    "unrestricted",
  ]);
});

Deno.test("ioctl TIOCSTI/TIOCLINUX refused, high bits ignored (CVE-2019-10063)", () => {
  for (const arch of ARCHES) {
    for (const profile of ["minimal", "unrestricted"] as const) {
      const bpf = compileSeccomp({ profile }, arch);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x5412]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x541c]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x1_00005412n]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0xffffffff_00005412n]), EPERM);
      assert.equal(run(bpf, arch, "ioctl", [0, 0x5401]), ALLOW); // TCGETS
      assert.equal(run(bpf, arch, "ioctl", [0x5412, 0x5401]), ALLOW); // fd, not request
    }
    // essential has no ioctl at all
    assert.equal(run(compileSeccomp({ profile: "essential" }, arch), arch, "ioctl"), KILL_PROCESS);
  }
});

Deno.test("clone with CLONE_NEW* is refused; clone3 gets ENOSYS", () => {
  const SIGCHLD = 17;
  for (const arch of ARCHES) {
    const bpf = compileSeccomp({ profile: "minimal" }, arch);
    assert.equal(run(bpf, arch, "clone", [SIGCHLD]), ALLOW);
    assert.equal(run(bpf, arch, "clone", [0x003d0f00]), ALLOW); // pthread_create's flags
    for (const flag of [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000]) {
      assert.equal(run(bpf, arch, "clone", [flag | SIGCHLD]), EPERM, `flag 0x${flag.toString(16)}`);
    }
    assert.equal(run(bpf, arch, "clone", [0x40000000 | SIGCHLD]), EPERM); // CLONE_NEWNET
    assert.equal(run(bpf, arch, "clone", [(1n << 40n) | 17n]), ALLOW); // high word ignored
    assert.equal(run(bpf, arch, "clone3"), ERRNO | 38);
    for (const profile of PROFILE_NAMES) {
      assert.equal(run(compileSeccomp({ profile }, arch), arch, "clone3"), ERRNO | 38);
    }
  }
});

Deno.test("socket: compute allows AF_UNIX/INET/INET6 only; lower profiles get EACCES", () => {
  const EAFNOSUPPORT = ERRNO | 97;
  for (const arch of ARCHES) {
    const net = compileSeccomp({ profile: "compute" }, arch);
    for (const family of [1, 2, 10]) assert.equal(run(net, arch, "socket", [family, 1]), ALLOW);
    for (const family of [16, 17, 40, 38, 0, 3]) {
      assert.equal(run(net, arch, "socket", [family, 1]), EAFNOSUPPORT, `family ${family}`);
    }
    assert.equal(run(net, arch, "socket", [(1n << 32n) | 16n]), EAFNOSUPPORT);
    assert.equal(run(net, arch, "socket", [(1n << 32n) | 2n]), ALLOW);
    for (const profile of ["essential", "minimal", "io-heavy"] as const) {
      const bpf = compileSeccomp({ profile }, arch);
      assert.equal(run(bpf, arch, "socket", [1]), ERRNO | 13, profile);
      assert.equal(run(bpf, arch, "connect"), KILL_PROCESS, profile);
    }
    const denied = compileSeccomp({ profile: "minimal", deny: ["socket"] }, arch);
    assert.equal(run(denied, arch, "socket", [1]), KILL_PROCESS);
  }
});

Deno.test("no set-id modes: the open, creat, mknod and chmod families refuse S_ISUID/S_ISGID", () => {
  const S_IFREG = 0o100000, O_CREAT = 0o100, O_NONBLOCK = 0o4000, AT_FDCWD = -100;
  // [syscall, arguments with the mode last] — each mode argument at its own index.
  const calls: [string, (mode: number | bigint) => (number | bigint)[]][] = [
    ["open", (m) => [0, O_CREAT, m]],
    ["openat", (m) => [AT_FDCWD, 0, O_CREAT, m]],
    ["creat", (m) => [0, m]],
    ["mknod", (m) => [0, typeof m === "bigint" ? m | BigInt(S_IFREG) : m | S_IFREG, 0]],
    ["mknodat", (m) => [AT_FDCWD, 0, typeof m === "bigint" ? m | BigInt(S_IFREG) : m | S_IFREG]],
    ["chmod", (m) => [0, m]],
    ["fchmod", (m) => [3, m]],
    ["fchmodat", (m) => [AT_FDCWD, 0, m]],
    ["fchmodat2", (m) => [AT_FDCWD, 0, m, 0]],
  ];
  let checked = 0;
  for (const arch of ARCHES) {
    for (const profile of ["io-heavy", "unrestricted"] as const) {
      const bpf = compileSeccomp({ profile }, arch);
      for (const [name, args] of calls) {
        if (syscallNumber(arch, name) === undefined) continue;
        for (const mode of [0o4755, 0o2755, 0o6777, 0o4000, 0o2000, (1n << 32n) | 0o4755n]) {
          assert.equal(
            run(bpf, arch, name, args(mode)),
            EPERM,
            `${arch} ${name} 0${mode.toString(8)}`,
          );
        }
        for (const mode of [0, 0o755, 0o644, 0o1777, 0o777, (1n << 32n) | 0o755n]) {
          assert.equal(
            run(bpf, arch, name, args(mode)),
            ALLOW,
            `${arch} ${name} 0${mode.toString(8)}`,
          );
        }
        checked++;
      }
    }
    // mkdir drops set-id bits from its mode in the kernel: nothing to refuse, and cp -a of a
    // set-group-id directory keeps working.
    const ioHeavy = compileSeccomp({ profile: "io-heavy" }, arch);
    assert.equal(run(ioHeavy, arch, "mkdirat", [AT_FDCWD, 0, 0o2755]), ALLOW);
    // The flags are not the mode: O_NONBLOCK has the value of S_ISUID.
    const essential = compileSeccomp({ profile: "essential" }, arch);
    assert.equal(run(essential, arch, "openat", [AT_FDCWD, 0, O_NONBLOCK, 0]), ALLOW);
    assert.equal(run(essential, arch, "openat", [AT_FDCWD, 0, O_CREAT, 0o4644]), EPERM);
    // openat2 carries its mode in a struct: always ENOSYS, never allowable.
    for (const profile of PROFILE_NAMES) {
      assert.equal(run(compileSeccomp({ profile }, arch), arch, "openat2"), ERRNO | 38, profile);
    }
  }
  assert.equal(checked, 2 * (9 + 5));
  assert.throws(
    () => resolvePolicy({ profile: "minimal", allow: ["openat2"] }, "x86_64"),
    /"openat2" in seccomp\.allow cannot be allowed: .*ENOSYS.*"openat"/,
  );
  // Denying openat2 makes it an ordinary refusal, as for clone3.
  const denied = compileSeccomp({ profile: "minimal", deny: ["openat2"] }, "x86_64");
  assert.equal(run(denied, "x86_64", "openat2"), KILL_PROCESS);
});

Deno.test("socketpair: AF_UNIX only", () => {
  const EAFNOSUPPORT = ERRNO | 97;
  for (const arch of ARCHES) {
    for (const profile of ["compute", "network", "unrestricted"] as const) {
      const bpf = compileSeccomp({ profile }, arch);
      assert.equal(run(bpf, arch, "socketpair", [1, 1, 0]), ALLOW);
      assert.equal(run(bpf, arch, "socketpair", [(1n << 32n) | 1n, 2, 0]), ALLOW);
      for (const family of [16, 40, 2, 10, 17, 38, 0]) {
        assert.equal(run(bpf, arch, "socketpair", [family, 1, 0]), EAFNOSUPPORT, `${family}`);
      }
    }
  }
});

Deno.test("without namespaces, network none: AF_UNIX sockets only", () => {
  const EACCES = ERRNO | 13, EAFNOSUPPORT = ERRNO | 97;
  for (const arch of ARCHES) {
    const bpf = compileSeccomp({ profile: "network" }, arch, { noInet: true });
    for (const type of [1, 2, 5, 0o2000001]) {
      assert.equal(run(bpf, arch, "socket", [1, type, 0]), ALLOW, `AF_UNIX type ${type}`);
    }
    for (
      const [family, type, protocol] of [
        [2, 1, 0],
        [2, 1, 6],
        [10, 1, 0],
        [2, 2, 17],
        [10, 3, 58],
        [2, 1, 262],
      ]
    ) {
      assert.equal(
        run(bpf, arch, "socket", [family!, type!, protocol!]),
        EACCES,
        `${family} ${type} ${protocol}`,
      );
    }
    assert.equal(run(bpf, arch, "socket", [(1n << 32n) | 2n, 1, 0]), EACCES);
    assert.equal(run(bpf, arch, "socket", [(1n << 32n) | 1n, 1, 0]), ALLOW);
    for (const family of [16, 17, 40, 0]) {
      assert.equal(run(bpf, arch, "socket", [family, 3, 0]), EAFNOSUPPORT, `family ${family}`);
    }
    // With a network namespace (or network "host") inet sockets stay allowed.
    const plain = compileSeccomp({ profile: "network" }, arch);
    assert.equal(run(plain, arch, "socket", [2, 2, 17]), ALLOW);
    // Below `compute` socket is EACCES whatever the option.
    const ioHeavy = compileSeccomp({ profile: "io-heavy" }, arch, { noInet: true });
    assert.equal(run(ioHeavy, arch, "socket", [1, 1, 0]), EACCES);
    // `compute`, the default, keeps the inet refusal.
    const compute = compileSeccomp({ profile: "compute" }, arch, { noInet: true });
    assert.equal(run(compute, arch, "socket", [2, 1, 0]), EACCES);
  }
});

Deno.test("without namespaces: System V IPC and POSIX message queues get ENOSYS", () => {
  const ENOSYS = ERRNO | 38;
  for (const arch of ARCHES) {
    const shared = compileSeccomp({ profile: "compute" }, arch, { hostIpc: true });
    const own = compileSeccomp({ profile: "compute" }, arch);
    for (const name of IPC_NAMESPACE_SYSCALLS) {
      assert.equal(run(shared, arch, name), ENOSYS, `${arch} ${name}`);
      assert.equal(run(own, arch, name), ALLOW, `${arch} ${name}`);
    }
    // Not in the profile: still an ordinary refusal; denied: too.
    const minimal = compileSeccomp({ profile: "minimal" }, arch, { hostIpc: true });
    assert.equal(run(minimal, arch, "shmget"), KILL_PROCESS);
    const denied = compileSeccomp({ profile: "compute", deny: ["shmget"] }, arch, {
      hostIpc: true,
    });
    assert.equal(run(denied, arch, "shmget"), KILL_PROCESS);
    assert.equal(run(denied, arch, "semget"), ENOSYS);
    // allow cannot bring one back: the host's IPC objects are what the option keeps out.
    const allowed = compileSeccomp({ profile: "minimal", allow: ["shmget"] }, arch, {
      hostIpc: true,
    });
    assert.equal(run(allowed, arch, "shmget"), ENOSYS);
  }
});

Deno.test("exhaustive equivalence without namespaces: every profile, arch, action", () => {
  let checked = 0;
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      for (const action of ["kill", "errno"] as const) {
        for (const where of [{ hostIpc: true }, { hostIpc: true, noInet: true }]) {
          checked += assertEquivalent({ profile, action }, arch, action === "errno", where);
        }
      }
    }
  }
  assert.ok(checked > 40_000, `only ${checked} cases`);
});

Deno.test("personality: query and PER_LINUX variants only", () => {
  for (const arch of ARCHES) {
    const bpf = compileSeccomp({ profile: "minimal" }, arch);
    for (const p of [0xffffffff, 0, 8, 0x20000, 0x20008]) {
      assert.equal(run(bpf, arch, "personality", [p]), ALLOW);
    }
    for (const p of [0x0040000, 0x0400000, 0x0100000, 0x0040008]) {
      assert.equal(run(bpf, arch, "personality", [p]), EPERM, `0x${p.toString(16)}`);
    }
  }
});

Deno.test("x32 syscalls are refused on x86_64", () => {
  for (const action of ["kill", "errno"] as const) {
    const bpf = compileSeccomp({ profile: "unrestricted", action }, "x86_64");
    const want = action === "kill" ? KILL_PROCESS : EPERM;
    for (const n of [0, 1, 39, 59, 512, 547]) {
      assert.equal(evaluateSeccomp(bpf, { arch: "x86_64", nr: X32_SYSCALL_BIT | n }), want);
    }
    assert.equal(evaluateSeccomp(bpf, { arch: "x86_64", nr: 39 }), ALLOW);
  }
  const notify = compileSeccomp({ profile: "unrestricted" }, "x86_64", { notify: true });
  assert.equal(evaluateSeccomp(notify, { arch: "x86_64", nr: X32_SYSCALL_BIT | 39 }), USER_NOTIF);
});

Deno.test("architecture mismatch kills, even in errno and notify modes", () => {
  for (const arch of ARCHES) {
    for (const options of [{}, { notify: true }]) {
      const bpf = compileSeccomp(
        { profile: "unrestricted", action: "errno" },
        arch,
        options,
      );
      assert.equal(evaluateSeccomp(bpf, { arch: AUDIT_ARCH.i386, nr: 1 }), KILL_PROCESS);
      const other = arch === "x86_64" ? "aarch64" : "x86_64";
      assert.equal(evaluateSeccomp(bpf, { arch: other, nr: 1 }), KILL_PROCESS);
    }
  }
});

Deno.test("allow, deny and action", () => {
  const arch = "x86_64";
  const base = compileSeccomp({ profile: "minimal" }, arch);
  assert.equal(run(base, arch, "mkdir"), KILL_PROCESS);
  const allowed = compileSeccomp({ profile: "minimal", allow: ["mkdir"] }, arch);
  assert.equal(run(allowed, arch, "mkdir"), ALLOW);
  // deny wins over allow and over the profile
  const both = compileSeccomp(
    { profile: "minimal", allow: ["mkdir"], deny: ["mkdir", "read"] },
    arch,
  );
  assert.equal(run(both, arch, "mkdir"), KILL_PROCESS);
  assert.equal(run(both, arch, "read"), KILL_PROCESS);
  // deny of an argument-checked or fixed-errno syscall makes it a plain refusal
  const denyIoctl = compileSeccomp({ profile: "minimal", deny: ["ioctl", "clone3"] }, arch);
  assert.equal(run(denyIoctl, arch, "ioctl", [0, 0x5401]), KILL_PROCESS);
  assert.equal(run(denyIoctl, arch, "clone3"), KILL_PROCESS);
  // allowing an argument-checked syscall keeps its check
  const withIoctl = compileSeccomp({ profile: "essential", allow: ["ioctl", "socket"] }, arch);
  assert.equal(run(withIoctl, arch, "ioctl", [0, 0x5412]), EPERM);
  assert.equal(run(withIoctl, arch, "socket", [17]), ERRNO | 97);
  assert.equal(run(withIoctl, arch, "socket", [2]), ALLOW);
  // errno mode and notify mode
  const errno = compileSeccomp({ profile: "minimal", action: "errno" }, arch);
  assert.equal(run(errno, arch, "mkdir"), EPERM);
  const notify = compileSeccomp({ profile: "minimal" }, arch, { notify: true });
  assert.equal(run(notify, arch, "mkdir"), USER_NOTIF);
  assert.equal(run(notify, arch, "read"), ALLOW);
  assert.equal(run(notify, arch, "clone3"), ERRNO | 38); // fixed answers are not reported
  // An argument-check failure notifies too; the monitor answers the check's errno.
  assert.equal(run(notify, arch, "ioctl", [0, 0x5412]), USER_NOTIF);
  assert.equal(run(notify, arch, "ioctl", [0, 0x5401]), ALLOW);
  // names only on the other arch are accepted and skipped
  const a64 = resolvePolicy({ profile: "essential", allow: ["fork"] }, "aarch64");
  assert.equal(
    a64.allowed.length,
    resolvePolicy({ profile: "essential" }, "aarch64").allowed.length,
  );
});

Deno.test("profile none: no filter, and only allow is accepted", () => {
  for (const arch of ARCHES) {
    assert.equal(compileSeccomp({ profile: "none" }, arch).length, 0);
    const r = resolvePolicy({ profile: "none", allow: ["mount", "bpf"] }, arch);
    assert.equal(r.enabled, false);
    assert.equal(r.allowed.length, syscallNames(arch).length);
  }
  assert.throws(
    () => resolvePolicy({ profile: "none", deny: ["mount"] }, "x86_64"),
    (e: unknown) =>
      e instanceof RangeError && /seccomp\.deny/.test(e.message) && /"none"/.test(e.message),
  );
});

Deno.test("error messages name the field, the value and what is allowed", () => {
  const throwsRange = (policy: SeccompPolicy, pattern: RegExp) =>
    assert.throws(() => compileSeccomp(policy, "x86_64"), (e: unknown) => {
      assert.ok(e instanceof RangeError, `expected RangeError, got ${e}`);
      assert.match(e.message, pattern);
      assert.match(e.message, /^[A-Z]/);
      assert.doesNotMatch(e.message, /\.$/);
      return true;
    });
  throwsRange(
    { profile: "minimal", allow: ["opne"] },
    /^Unknown syscall "opne" in seccomp\.allow: .*did you mean "open"\?$/,
  );
  throwsRange({ profile: "minimal", allow: ["zzzzzzzzzzzzzz"] }, /syscall names such as "openat"/);
  throwsRange({ profile: "minimal", deny: ["frobnicate"] }, /"frobnicate" in seccomp\.deny/);
  throwsRange({ profile: "minimal", allow: ["mount"] }, /"mount" in seccomp\.allow.*never/);
  throwsRange({ profile: "unrestricted", allow: ["ptrace"] }, /"ptrace"/);
  throwsRange({ profile: "minimal", allow: ["clone3"] }, /"clone3".*ENOSYS/);
  throwsRange(
    { profile: "strict" as unknown as "minimal" },
    /Unknown seccomp profile "strict": expected one of "essential", .*"none"/,
  );
  throwsRange(
    { profile: "minimal", action: "trap" as unknown as "kill" },
    /seccomp\.action "trap".*"kill" or "errno"/,
  );
  assert.throws(
    () => compileSeccomp({ profile: "minimal", allow: "read" as unknown as string[] }, "x86_64"),
    TypeError,
  );
  assert.throws(
    () => compileSeccomp({ profile: "minimal" }, "riscv64" as unknown as Arch),
    /Unsupported architecture "riscv64"/,
  );
  // deny of a never-allowed name is fine: it stays refused
  const bpf = compileSeccomp({ profile: "unrestricted", deny: ["mount"] }, "x86_64");
  assert.equal(run(bpf, "x86_64", "mount"), KILL_PROCESS);
});

Deno.test("disassemble names actions and syscalls", () => {
  const bpf = compileSeccomp({ profile: "network", action: "errno" }, "x86_64", {
    notify: true,
  });
  const text = disassemble(bpf, "x86_64");
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, bpf.length / 8);
  assert.match(lines[0]!, /^0000: ld \[4\] +; arch$/);
  assert.match(lines[1]!, /^0001: jeq #0xc000003e jt 0002 jf \d{4} +; AUDIT_ARCH_X86_64$/);
  assert.match(lines[3]!, /^0003: jge #0x40000000 jt \d{4} jf 0004 +; x32 syscalls$/);
  assert.match(text, /ret USER_NOTIF/);
  assert.match(text, /ret ALLOW/);
  assert.match(text, /ret KILL_PROCESS/);
  assert.match(text, /ret ERRNO\(38\)/); // clone3, a fixed answer
  assert.match(text, /ld \[16\] +; args\[0\] low/);
  assert.match(text, /jset #0x7e020080/);
  assert.match(text, /; socket$/m);
  assert.equal(actionName(0x7fff0000), "ALLOW");
  assert.equal(actionName(0x00050001), "ERRNO(1)");
  assert.equal(actionName(0x80000000), "KILL_PROCESS");
  assert.equal(actionName(0x7fc00000), "USER_NOTIF");
});

Deno.test("validateSeccompProgram rejects malformed programs", () => {
  const insn = (code: number, jt: number, jf: number, k: number) => {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint16(0, code, true);
    v.setUint8(2, jt);
    v.setUint8(3, jf);
    v.setUint32(4, k, true);
    return b;
  };
  const prog = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.length * 8);
    parts.forEach((p, i) => out.set(p, i * 8));
    return out;
  };
  const ret = insn(0x06, 0, 0, ALLOW);
  validateSeccompProgram(prog(ret));
  assert.throws(() => validateSeccompProgram(new Uint8Array(0)), RangeError);
  assert.throws(() => validateSeccompProgram(new Uint8Array(12)), /multiple of 8/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x20, 0, 0, 0))), /last instruction/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x20, 0, 0, 2), ret)), /offset 2/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x20, 0, 0, 64), ret)), /offset 64/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x15, 1, 0, 0), ret)), /past the end/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x05, 0, 0, 1), ret)), /past the end/);
  assert.throws(() => validateSeccompProgram(prog(insn(0x28, 0, 0, 0), ret)), /32-bit/);
  assert.throws(
    () => validateSeccompProgram(new Uint8Array(4097 * 8).map((_, i) => (i % 8 === 0 ? 6 : 0))),
    /4097 instructions/,
  );
});

Deno.test("compiled programs are deterministic", () => {
  for (const arch of ARCHES) {
    for (const profile of PROFILE_NAMES) {
      assert.deepEqual(compileSeccomp({ profile }, arch), compileSeccomp({ profile }, arch));
    }
  }
});

Deno.test("notifyAnswers: each argument check's errno, by syscall and args[0]", () => {
  for (const arch of ARCHES) {
    const answers = notifyAnswers({ profile: "compute" }, arch);
    const byName = (name: string) => answers.filter((a) => a.name === name);
    assert.deepEqual(byName("ioctl").map((a) => [a.arg0, a.errno]), [["*", 1]]);
    assert.deepEqual(byName("socket").map((a) => [a.arg0, a.errno]), [["*", 97]]);
    assert.deepEqual(byName("socketpair").map((a) => [a.arg0, a.errno]), [["*", 97]]);
    // Without namespaces and network none: inet families answer EACCES, others EAFNOSUPPORT.
    const noInet = notifyAnswers({ profile: "compute" }, arch, { noInet: true });
    assert.deepEqual(
      noInet.filter((a) => a.name === "socket").map((a) => [a.arg0, a.errno]),
      [["*", 97], [2, 13], [10, 13]],
    );
    assert.deepEqual(notifyAnswers({ profile: "none" }, arch), []);
    assert.ok(!notifyAnswers({ profile: "essential" }, arch).some((a) => a.name === "ioctl"));
  }
});
