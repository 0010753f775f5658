// Root under systemd (issue 18): systemd owns the cgroup v2 tree but the subtrees it delegates,
// and enables `cpu` at the top only for units that ask for it. Root works inside a unit of its
// own with Delegate=yes (marked trusted.delegate=1) as a delegated user does; elsewhere it keeps
// the top-level sandbox-ts, and doctor names the Delegate=yes fix. The fake-tree tests run
// anywhere as root; the real ones under scripts/vm-test.sh --systemd.
import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { LimitUnavailableError } from "../mod.ts";
import { isRoot, kernelTest, LAUNCHER, sandbox } from "./_helpers.ts";
import { CALLER_LEAF, cgroupHost, detectV2, systemdCgroup } from "../lib/cgroups.ts";
import { doctor } from "../lib/doctor.ts";

const host = cgroupHost(Deno.uid() ?? 0);
const selfV2 = () =>
  Deno.readTextFileSync("/proc/self/cgroup").split("\n").find((l) => l.startsWith("0::"))
    ?.slice(3) ?? "/";
const hostSwaps = Deno.readTextFileSync("/proc/swaps").trim().split("\n").length > 1;

/** Sets an extended attribute (root: a trusted.* one) with libc's setxattr. */
function setxattr(path: string, name: string, value: string): void {
  const libc = Deno.dlopen("libc.so.6", {
    setxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  });
  try {
    const z = (s: string) => new TextEncoder().encode(`${s}\0`);
    const v = new TextEncoder().encode(value);
    const rc = libc.symbols.setxattr(z(path), z(name), v, BigInt(v.length), 0);
    assertEquals(rc, 0, `setxattr ${name} on ${path}`);
  } finally {
    libc.close();
  }
}

/** A cgroup directory on a fake tree, with what mkdir on a real cgroupfs brings. */
function fakeCgroup(dir: string, controllers: string, procs = ""): void {
  Deno.mkdirSync(dir, { recursive: true });
  Deno.writeTextFileSync(`${dir}/cgroup.procs`, procs);
  Deno.writeTextFileSync(`${dir}/cgroup.controllers`, `${controllers}\n`);
  Deno.writeTextFileSync(`${dir}/cgroup.subtree_control`, "");
}

Deno.test("systemdCgroup: a unit under a slice, or init.scope; not the root or a bare dir", () => {
  for (const p of ["/system.slice/foo.service", "/user.slice/user-0.slice/session-3.scope"]) {
    assert(systemdCgroup(p), p);
  }
  assert(systemdCgroup("/init.scope"));
  for (const p of ["/", "/sandbox-ts", "/docker/abc", "/system.slice"]) {
    assert(!systemdCgroup(p), p);
  }
});

kernelTest("fake tree: root in a unit systemd delegated works inside it; elsewhere at the top", {
  skip: !isRoot && "setting a trusted.* xattr needs root",
}, () => {
  const root = Deno.makeTempDirSync();
  try {
    fakeCgroup(root, "cpuset cpu io memory pids");
    fakeCgroup(`${root}/sandbox-ts`, "cpu memory pids");
    const unit = `${root}/system.slice/app.service`;
    fakeCgroup(unit, "cpu memory pids", "4242\n");
    const self = "/system.slice/app.service";
    // Not delegated (a service without Delegate=yes): systemd's, so the top-level sandbox-ts.
    assertEquals(detectV2(root, { self, euid: 0, pid: 4242 }), {
      version: 2,
      parent: `${root}/sandbox-ts`,
      controllers: ["memory", "pids", "cpu"],
      swapUnlimited: hostSwaps,
    });
    assertEquals([...Deno.readDirSync(unit)].filter((e) => e.isDirectory), []);
    // Delegate=yes: systemd marks the unit's cgroup; root moves itself into the caller leaf and
    // the runs go beside it, with every controller the unit was given.
    setxattr(unit, "trusted.delegate", "1");
    for (const leaf of ["sandbox-ts", CALLER_LEAF]) {
      fakeCgroup(`${unit}/${leaf}`, "cpu memory pids");
    }
    const inUnit = detectV2(root, { self, euid: 0, pid: 4242 });
    assertEquals(inUnit, {
      version: 2,
      parent: `${unit}/sandbox-ts`,
      controllers: ["memory", "pids", "cpu"],
      swapUnlimited: hostSwaps,
    });
    assertEquals(Deno.readTextFileSync(`${unit}/${CALLER_LEAF}/cgroup.procs`), "4242");
    assertEquals(Deno.readTextFileSync(`${unit}/cgroup.subtree_control`), "+memory +pids +cpu");
    // A process started from the leaf finds the same directory.
    assertEquals(detectV2(root, { self: `${self}/${CALLER_LEAF}`, euid: 0, pid: 4343 }), inUnit);
    // Delegated, but another process is there too (a wrapper shell): the unit cannot pass its
    // controllers down, so the top-level sandbox-ts again (doctor says what is missing).
    const busy = `${root}/system.slice/busy.service`;
    fakeCgroup(busy, "cpu memory pids", "5000\n5001\n");
    setxattr(busy, "trusted.delegate", "1");
    const top = detectV2(root, { self: "/system.slice/busy.service", euid: 0, pid: 5000 });
    assertEquals(top?.version === 2 && top.parent, `${root}/sandbox-ts`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

kernelTest("root under systemd, Delegate=yes: memory, pids and cpu all reach the runs", {
  skip: !(isRoot && host.version === 2 && selfV2().endsWith(`/${CALLER_LEAF}`)) &&
    "needs root in a systemd unit with Delegate=yes (scripts/vm-test.sh --systemd)",
}, async () => {
  assert(host.version === 2);
  const unit = selfV2().slice(0, -CALLER_LEAF.length - 1);
  assert(host.parent.endsWith(`${unit}/sandbox-ts`), host.parent);
  assertEquals(host.controllers, ["memory", "pids", "cpu"]);
  const r = await sandbox({ memory: "64M", maxPids: 20, cpuPercent: 50 }).run("cat", [
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/pids.max",
    "/sys/fs/cgroup/cpu.max",
  ]);
  assertEquals(r.stdout, `${64 << 20}\n20\n50000 100000\n`);
  assertEquals([r.enforced.limits.approximated, r.enforced.limits.dropped], [[], []]);
  const check = doctor(LAUNCHER).checks.find((c) => c.name === "Cgroup limits")!;
  assertEquals(check.ok, true, check.detail);
});

kernelTest("root under systemd without Delegate=yes: doctor names the Delegate=yes fix", {
  skip: !(isRoot && host.version === 2 && systemdCgroup(selfV2()) &&
    !selfV2().endsWith(`/${CALLER_LEAF}`)) &&
    "needs root in a systemd unit without Delegate=yes (scripts/vm-test.sh --systemd)",
}, () => {
  assert(host.version === 2);
  assertEquals(host.parent, "/sys/fs/cgroup/sandbox-ts");
  const check = doctor(LAUNCHER).checks.find((c) => c.name === "Cgroup limits")!;
  if (host.controllers.includes("cpu")) {
    assertEquals(check.ok, true, check.detail); // some unit asked for cpu: it reaches the top
    return;
  }
  assertEquals(check.ok, false);
  assertMatch(check.detail, /missing cpu/);
  assertMatch(check.fix!, /Delegate=yes.*systemd-run --scope -p Delegate=yes/);
  // Strict: refused at build(), naming the fix; best effort: dropped, the others exact.
  assertThrows(() => sandbox({ cpuPercent: 50 }), LimitUnavailableError, "Delegate=yes");
  const sb = sandbox({ cpuPercent: 50, memory: "64M", maxPids: 20, limits: "best-effort" });
  assertEquals([sb.enforced.limits.approximated, sb.enforced.limits.dropped], [[], ["cpu"]]);
});
