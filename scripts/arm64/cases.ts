// The aarch64 checks of scripts/arm64-test.sh, on the host side (x86_64 or any arch Deno runs on):
//
//   deno run -A scripts/arm64/cases.ts gen OUT_DIR LANDLOCK_ABI   write one launcher frame per case
//   deno run -A scripts/arm64/cases.ts check CONSOLE_LOG LANDLOCK_ABI  judge what the guest printed
//
// The frames are built by the library itself (validateConfig → staticOps + runOps), with the
// seccomp filters compiled for aarch64 and the guest's layout as the host layout (a static
// busybox and the probe in /bin, nothing else), so the guest needs no Deno: its static launcher
// reads each frame on stdin (scripts/arm64/init.sh). The guest's status records are decoded here
// by lib/status.ts, so a refused syscall is named from the arch and number the aarch64 kernel
// gave the launcher. One line per case: "arm64-case ok|FAIL NAME[: why]".
import { type HostLayout, runOps, staticOps, validateConfig } from "../../lib/policy.ts";
import { encodeFrame } from "../../lib/config.ts";
import { decodeResult } from "../../lib/status.ts";
import { NEVER_ALLOWED, PROFILE_NAMES, profileSyscalls } from "../../lib/seccomp/mod.ts";
import { syscallNumber } from "../../lib/syscalls.ts";
import type {
  Enforced,
  SandboxConfig,
  SandboxResult,
  SeccompProfileName,
} from "../../lib/types.ts";

const ARCH = "aarch64";
const PROBE = "/bin/sysprobe";
const nr = (name: string): number => {
  const n = syscallNumber(ARCH, name);
  if (n === undefined) throw new Error(`${name} has no aarch64 number`);
  return n;
};

/** What a case's run must show; returns null when it did, else what went wrong. */
type Judge = (r: SandboxResult, out: string) => string | null;
interface Case {
  name: string;
  /** The guest uid that runs the launcher: root, or 65534 (an unprivileged caller). */
  uid: 0 | 65534;
  config: SandboxConfig;
  argv: [string, ...string[]];
  judge: Judge;
  /** The arch the filter is compiled for, when not aarch64 (the arch check's own case). */
  filterArch?: "x86_64";
}

/**
 * A 32-bit ARM (EABI) static program of four instructions: getpid(), then exit(42). An aarch64
 * kernel with CONFIG_COMPAT runs it, and its syscalls reach seccomp as AUDIT_ARCH_ARM — the
 * aarch64 counterpart of i386 and x32 on x86_64, so the filter's arch check must kill it.
 */
export function arm32Program(): Uint8Array {
  const code = [0xe3a07014, 0xef000000, 0xe3a0002a, 0xe3a07001, 0xef000000]; // mov r7,#20; svc 0; mov r0,#42; mov r7,#1; svc 0
  const base = 0x10000, ehsize = 52, phsize = 32, size = ehsize + phsize + code.length * 4;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]); // ELF, 32-bit, little-endian, version 1, SysV
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 40, true); // EM_ARM
  v.setUint32(20, 1, true);
  v.setUint32(24, base + ehsize + phsize, true); // entry
  v.setUint32(28, ehsize, true); // phoff
  v.setUint32(36, 0x05000000, true); // EABI version 5
  v.setUint16(40, ehsize, true);
  v.setUint16(42, phsize, true);
  v.setUint16(44, 1, true); // one program header
  const ph = ehsize;
  v.setUint32(ph, 1, true); // PT_LOAD
  v.setUint32(ph + 8, base, true);
  v.setUint32(ph + 12, base, true);
  v.setUint32(ph + 16, size, true);
  v.setUint32(ph + 20, size, true);
  v.setUint32(ph + 24, 5, true); // R+X
  v.setUint32(ph + 28, 0x1000, true);
  code.forEach((insn, i) => v.setUint32(ehsize + phsize + 4 * i, insn, true));
  return b;
}

const same = (what: string, got: unknown, want: unknown): string | null =>
  JSON.stringify(got) === JSON.stringify(want)
    ? null
    : `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
const all = (...checks: (string | null)[]): string | null =>
  checks.filter((c) => c !== null).join("; ") || null;
const ranClean: Judge = (r) =>
  same("exit code, violation", [r.exitCode, r.seccompViolation], [0, null]);
/** Parses the probe's "NR RET ERRNO" lines into [name, ret, errno] by the names it was given. */
const probeRows = (out: string, names: string[]) =>
  out.trim().split("\n").filter(Boolean).map((l, i) => {
    const [, ret, errno] = l.split(" ").map(Number);
    return [names[i], ret, errno] as const;
  });

// What each profile claims to run, with busybox's applets (README "Seccomp profiles").
const CLAIMS: Record<SeccompProfileName, [string, ...string[]][]> = {
  // The probe without arguments is a static glibc program that only starts and exits, as a
  // static /bin/true does (busybox's true is no such program: it calls setgid() first).
  essential: [[PROBE]],
  minimal: [[
    "/bin/sh",
    "-c",
    "cat /etc/passwd >/dev/null && ls -l / >/dev/null && sleep 0.1 && (exit 0) && echo ok",
  ]],
  "io-heavy": [[
    "/bin/sh",
    "-c",
    "cd /tmp && mkdir d && echo a > d/f && cp d/f d/g && mv d/g d/h && chmod 600 d/h && ln -s h d/l && rm -r d",
  ]],
  // A server on loopback (retried and polled, not slept on: TCG on a loaded host is slow). Its
  // stdin stays open (sleep): at end of file on /dev/null busybox's nc may close the connection
  // before it read the client's line (the case failed that way once, exit 8).
  compute: [[
    "/bin/sh",
    "-c",
    "cd /tmp && { sleep 60 | nc -l -p 5555 >o & } && i=0 && until echo x | nc -w 2 127.0.0.1 5555; do " +
    'i=$((i+1)); [ $i -lt 100 ] || exit 9; sleep 0.1; done; i=0; until [ "$(cat o)" = x ]; do ' +
    "i=$((i+1)); [ $i -lt 100 ] || exit 8; sleep 0.1; done",
  ]],
  network: [],
  unrestricted: [["/bin/sh", "-c", "nproc >/dev/null && uname -a >/dev/null"]],
};

function cases(): Case[] {
  const out: Case[] = [];
  const never = NEVER_ALLOWED.filter((n) => syscallNumber(ARCH, n) !== undefined);

  for (const uid of [0, 65534] as const) {
    out.push({
      name: `uid ${uid}: a basic run: own hostname, uid 1000, pid namespace, private root, lo only`,
      uid,
      config: {},
      argv: [
        "/bin/sh",
        "-c",
        "hostname; id -u; ls /proc | grep -c '^[0-9]'; ls /; grep -c : /proc/net/dev; grep '^Seccomp:' /proc/self/status",
      ],
      judge: (r, o) => {
        const lines = o.trim().split("\n");
        return all(
          ranClean(r, o),
          same("hostname, uid", lines.slice(0, 2), ["sandbox", "1000"]),
          // A pid namespace: the reaper, the shell, ls and grep at most (the guest has ~80).
          Number(lines[2]) <= 4 ? null : `${lines[2]} processes visible: no pid namespace`,
          lines.includes("cases") || lines.includes("sbx") ? "the guest's root is visible" : null,
          same("interfaces (lo only)", lines.at(-2), "1"),
          same("seccomp mode", lines.at(-1)?.replace(/\s+/g, " "), "Seccomp: 2"),
        );
      },
    });
    out.push({
      name: `uid ${uid}: a never-list call kills the run and is named (ptrace, aarch64 nr ${
        nr("ptrace")
      })`,
      uid,
      config: {},
      argv: [PROBE, String(nr("ptrace"))],
      judge: (r) =>
        all(
          same("reason", r.reason, "seccomp"),
          same("signal", r.signal, "SIGSYS"),
          same("violation", r.seccompViolation, {
            syscall: "ptrace",
            number: nr("ptrace"),
            arch: ARCH,
          }),
        ),
    });
    out.push({
      name: `uid ${uid}: Landlock alone (namespaces: false) confines reads and writes`,
      uid,
      config: { namespaces: false, landlock: "best-effort" },
      argv: [
        "/bin/sh",
        "-c",
        "cat /sbx/secret 2>/dev/null || echo no-read; echo x 2>/dev/null >/sbx/rw/planted || echo no-write; cat /bin/busybox >/dev/null && echo can-read-bin",
      ],
      judge: (r, o) =>
        all(
          ranClean(r, o),
          same("output", o, "no-read\nno-write\ncan-read-bin\n"),
        ),
    });
  }

  // Each profile runs what it and the profiles below it claim.
  for (const [i, profile] of PROFILE_NAMES.entries()) {
    for (const lower of PROFILE_NAMES.slice(0, i + 1)) {
      for (const argv of CLAIMS[lower]) {
        out.push({
          name: `profile "${profile}" runs ${lower}'s claim: ${argv.join(" ").slice(0, 60)}`,
          uid: 0,
          config: { seccomp: profile },
          argv,
          judge: ranClean,
        });
      }
    }
  }

  // Each profile refuses (and names) what only the profiles above it allow.
  for (const [i, profile] of PROFILE_NAMES.entries()) {
    const mine = new Set(profileSyscalls(profile, ARCH));
    const above = PROFILE_NAMES.slice(i + 1).flatMap((p) => profileSyscalls(p, ARCH))
      .filter((n, k, a) => !mine.has(n) && a.indexOf(n) === k);
    if (above.length === 0) continue;
    const pick: string[] = [...new Set([above[0]!, above[above.length >> 1]!, above.at(-1)!])];
    out.push({
      name: `profile "${profile}" refuses ${pick.join(", ")} (allowed above it) with EPERM, named`,
      uid: 0,
      config: { seccomp: { profile, action: "errno" } },
      argv: [PROBE, ...pick.map((n) => String(nr(n)))],
      judge: (r, o) =>
        all(
          same("exit code", r.exitCode, 0),
          same("rows", probeRows(o, pick), pick.map((n) => [n, -1, 1])),
          same("violations", r.seccompViolations, pick.length),
          same("first named", r.seccompViolation, {
            syscall: pick[0],
            number: nr(pick[0]!),
            arch: ARCH,
          }),
        ),
    });
  }

  // The never-list on aarch64 numbers, under the two widest profiles.
  for (const profile of ["compute", "unrestricted"] as const) {
    out.push({
      name: `every never-list syscall (${never.length} on aarch64) is refused by "${profile}"`,
      uid: 0,
      config: { seccomp: { profile, action: "errno" } },
      argv: [PROBE, ...never.map((n) => String(nr(n)))],
      judge: (r, o) =>
        all(
          same("exit code", r.exitCode, 0),
          // io_uring_setup is answered ENOSYS by design (programs fall back); all else EPERM.
          same(
            "rows",
            probeRows(o, never),
            never.map((n) => [n, -1, n === "io_uring_setup" ? 38 : 1]),
          ),
          same("violations", r.seccompViolations, never.length - 1),
        ),
    });
  }
  for (const name of ["keyctl", "bpf", "mount", "unshare", "setns", "perf_event_open"]) {
    out.push({
      name: `${name} (aarch64 nr ${nr(name)}) kills the run and is named`,
      uid: 0,
      config: {},
      argv: [PROBE, String(nr(name))],
      judge: (r) =>
        same("reason, violation", [r.reason, r.seccompViolation], [
          "seccomp",
          { syscall: name, number: nr(name), arch: ARCH },
        ]),
    });
  }

  // Argument checks on aarch64: TIOCSTI/TIOCLINUX (high bits too), clone(CLONE_NEWUSER),
  // foreign socket families; what passes still works.
  const ioctl = nr("ioctl");
  const reqs = ["0x5412", "0x541c", "0x100005412", "0xffffffff00005412", "0x5413"];
  out.push({
    name: "TIOCSTI and TIOCLINUX are refused, high bits set or not; TIOCGWINSZ passes",
    uid: 0,
    config: {},
    argv: [PROBE, ...reqs.map((q) => `${ioctl}:0:${q}:&`)],
    judge: (r, o) =>
      all(
        same("exit code", r.exitCode, 0),
        same("errnos", o.trim().split("\n").map((l) => l.split(" ").slice(1)), [
          ["-1", "1"],
          ["-1", "1"],
          ["-1", "1"],
          ["-1", "1"],
          ["-1", "25"], // ENOTTY: stdin is not a terminal
        ]),
        same("named", r.seccompViolation?.syscall, "ioctl"),
      ),
  });
  const probes: [string, string][] = [
    ["clone CLONE_NEWUSER", `${nr("clone")}:0x10000011`],
    ["socket AF_NETLINK", `${nr("socket")}:16:3:0`],
    ["socket AF_PACKET", `${nr("socket")}:17:3:0`],
    ["socket family 40 (vsock)", `${nr("socket")}:40:1:0`],
    ["socketpair AF_INET", `${nr("socketpair")}:2:1:0:&`],
  ];
  out.push({
    name: "clone(CLONE_NEWUSER), foreign socket families and socketpair(AF_INET) are refused",
    uid: 0,
    config: { seccomp: "network" },
    argv: [PROBE, ...probes.map(([, s]) => s), `${nr("socket")}:2:1:0`],
    judge: (r, o) =>
      all(
        same("exit code", r.exitCode, 0),
        same("rets and errnos", o.trim().split("\n").map((l) => l.split(" ").slice(1)), [
          ["-1", "1"],
          ["-1", "97"],
          ["-1", "97"],
          ["-1", "97"],
          ["-1", "97"],
          [o.trim().split("\n").at(-1)?.split(" ")[1] ?? "", "0"], // AF_INET: a descriptor
        ]),
      ),
  });
  out.push({
    name: "deny refuses a syscall the profile allows (uname), named",
    uid: 0,
    config: { seccomp: { profile: "compute", deny: ["uname"], action: "errno" } },
    argv: [PROBE, String(nr("uname")) + ":&"],
    judge: (r, o) =>
      all(
        same("row", o, `${nr("uname")} -1 1\n`),
        same("named", r.seccompViolation, { syscall: "uname", number: nr("uname"), arch: ARCH }),
      ),
  });
  // The arch check on a real aarch64 kernel: 32-bit ARM syscalls, and a filter for another arch.
  out.push({
    name:
      "a 32-bit ARM program runs without a filter (the kernel has compat: the next case counts)",
    uid: 0,
    config: { seccomp: "none" },
    argv: ["/bin/arm32-probe"],
    judge: (r) => same("exit code", r.exitCode, 42),
  });
  for (const profile of ["essential", "unrestricted"] as const) {
    out.push({
      name: `a 32-bit ARM syscall (AUDIT_ARCH_ARM) kills the run under "${profile}"`,
      uid: 0,
      config: { seccomp: profile },
      argv: ["/bin/arm32-probe"],
      judge: (r) => same("exit code, signal", [r.exitCode, r.signal], [null, "SIGSYS"]),
    });
  }
  out.push({
    name: "a filter compiled for x86_64 kills an aarch64 program at its first syscall",
    uid: 0,
    config: { seccomp: "unrestricted" },
    argv: [PROBE, String(nr("getpid"))],
    filterArch: "x86_64",
    judge: (r, o) => all(same("output", o, ""), same("signal", r.signal, "SIGSYS")),
  });
  return out;
}

/** What decodeResult copies into a result; the judges never look at it. */
const enforcedStub = (): Enforced => ({
  namespaces: [],
  seccomp: null,
  landlock: null,
  limits: { backend: "none", maxOutputBytes: 1 << 20, approximated: [], dropped: [] },
  uid: 1000,
});

function gen(dir: string, landlockAbi: number): void {
  const host: HostLayout = {
    system: { "/bin": { dir: true } },
    etc: {},
    arch: ARCH,
    landlockAbi,
    userns: true,
  };
  Deno.mkdirSync(dir, { recursive: true });
  const list = cases();
  for (const [i, c] of list.entries()) {
    const config = validateConfig(c.config, 2);
    const caller = { euid: c.uid, egid: c.uid };
    const mode = c.uid === 0 ? "privileged" : "unprivileged";
    const ops = [
      ...staticOps(config, { mode, caller, host: { ...host, arch: c.filterArch ?? ARCH } }),
      ...runOps({
        statusPath: `/tmp/s${i}/status`,
        program: c.argv[0],
        args: c.argv.slice(1),
        env: {},
        cwd: "/",
        timeoutMs: 60_000,
      }),
    ];
    const n = String(i).padStart(3, "0");
    Deno.writeFileSync(`${dir}/${n}.frame`, encodeFrame(ops));
    Deno.writeTextFileSync(`${dir}/${n}.uid`, `${c.uid}\n`);
  }
  Deno.writeFileSync(`${dir}/arm32-probe`, arm32Program(), { mode: 0o755 });
  console.log(list.length);
}

/** The guest's console: "@@case N rc=RC", then "@@out", "@@err" and "@@status" lines. */
function parseLog(text: string) {
  const runs = new Map<number, { rc: number; out: string; err: string; status: string }>();
  let cur: { rc: number; out: string; err: string; status: string } | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const m = /^@@case (\d+) rc=(\d+)$/.exec(line);
    if (m) {
      cur = { rc: Number(m[2]), out: "", err: "", status: "" };
      runs.set(Number(m[1]), cur);
      continue;
    }
    const k = /^@@(out|err|status) ?(.*)$/.exec(line);
    if (k && cur) cur[k[1] as "out" | "err" | "status"] += k[2] + "\n";
  }
  return runs;
}

function check(logPath: string, landlockAbi: number): number {
  const text = Deno.readTextFileSync(logPath);
  const runs = parseLog(text);
  let failed = 0;
  // The frames were planned for this Landlock ABI: the guest kernel must have exactly it.
  const features = /^@@features (.*)$/m.exec(text.replaceAll("\r", ""));
  let abi: unknown;
  try {
    abi = features ? JSON.parse(features[1] ?? "").landlockAbi : undefined;
  } catch {
    abi = undefined;
  }
  const abiWhy = same("the launcher's --features landlockAbi", abi, landlockAbi);
  if (abiWhy) failed++;
  console.log(
    `arm64-case ${abiWhy ? `FAIL features: ${abiWhy}` : `ok features: Landlock ABI ${abi}`}`,
  );
  for (const [i, c] of cases().entries()) {
    const run = runs.get(i);
    let why: string | null;
    if (!run) why = "no output from the guest";
    else {
      try {
        const r = decodeResult(run.status, {
          mode: c.uid === 0 ? "privileged" : "unprivileged",
          enforced: enforcedStub(),
          opPath: () => null,
          launcherCode: run.rc,
          launcherSignal: null,
          aborted: false,
        });
        why = c.judge(r, run.out);
        if (why) why += ` (stderr: ${JSON.stringify(run.err.slice(0, 300))})`;
      } catch (e) {
        why = `${(e as Error).message} (stderr: ${JSON.stringify(run.err.slice(0, 300))})`;
      }
    }
    if (why) failed++;
    console.log(`arm64-case ${why ? "FAIL" : "ok"} ${c.name}${why ? `: ${why}` : ""}`);
  }
  return failed;
}

if (import.meta.main) {
  const [cmd, dir, arg] = Deno.args;
  if (cmd === "gen" && dir && arg) gen(dir, Number(arg));
  else if (cmd === "check" && dir && arg) Deno.exit(check(dir, Number(arg)) ? 1 : 0);
  else {
    console.error("usage: cases.ts gen DIR LANDLOCK_ABI | check CONSOLE_LOG LANDLOCK_ABI");
    Deno.exit(2);
  }
}
