// Landlock: derived from the filesystem policy, as a second wall inside namespaces and as the
// only wall without them. Probes exit with a sentinel only when the restriction held.
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { isRoot, kernelTest, LAUNCHER, reachesHostListener, sandbox, sh } from "./_helpers.ts";
import { launcherFeatures } from "../lib/launcher.ts";
import { handledFs, planLandlock } from "../lib/landlock.ts";
import { filesystemPlan } from "../lib/mounts.ts";
import { staticOps, validateConfig } from "../lib/policy.ts";
import { SandboxBuilder, UnsupportedError } from "../mod.ts";

const abi = launcherFeatures(LAUNCHER).landlockAbi;
/** Why a run test that needs Landlock ABI `min` cannot run on this kernel, or false. */
const needsAbi = (min: number) =>
  abi < min &&
  (abi < 1 ? "this kernel has no Landlock" : `needs Landlock ABI ${min}, this kernel has ${abi}`);

const host = { arch: "x86_64" as const, system: { "/usr": { dir: true as const } } };

kernelTest("the result reports the ABI used and nothing dropped on this kernel", {
  skip: needsAbi(1),
}, async () => {
  const r = await sh("true");
  assertEquals(r.enforced.landlock, Math.min(abi, 7));
  if (abi >= 6) assertEquals(r.enforced.landlockDropped, []);
  const off = await sh("true", { landlock: "off" });
  assertEquals([off.enforced.landlock, off.enforced.landlockDropped], [null, []]);
});

kernelTest("Landlock alone: a host directory outside the policy cannot be read or listed", {
  skip: needsAbi(1),
}, async () => {
  const secret = Deno.makeTempDirSync({ prefix: "sandbox-ts-secret-" });
  Deno.chmodSync(secret, 0o755);
  Deno.writeTextFileSync(`${secret}/f`, "secret");
  Deno.chmodSync(`${secret}/f`, 0o644); // the permission bits allow it: only Landlock stops it
  try {
    const r = await sh(
      `cat ${secret}/f 2>/dev/null && exit 71; ls ${secret} 2>/dev/null && exit 72; ` +
        "ls /root 2>/dev/null && exit 73; touch /tmp/sandbox-ts-ll-probe 2>/dev/null && exit 74; " +
        "cat /etc/shadow 2>/dev/null && exit 75; " +
        'test "$(python3 -c "print(6*7)")" = 42 || exit 76; cat /etc/passwd > /dev/null || exit 77; ' +
        "echo ok > /dev/null || exit 78; exit 0",
      { namespaces: false },
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assertEquals(r.enforced.namespaces, []);
    assertEquals(r.enforced.landlock, Math.min(abi, 7));
    // A root caller's target runs as the host uid allocated for the run, never root or nobody.
    assertEquals(r.enforced.uid, isRoot ? r.enforced.hostUid : Deno.uid());
    if (isRoot) assert(r.enforced.uid > 65535, `uid ${r.enforced.uid}`);
  } finally {
    Deno.removeSync(secret, { recursive: true });
    try {
      Deno.removeSync("/tmp/sandbox-ts-ll-probe");
    } catch {
      // not created: the expected case
    }
  }
});

kernelTest(
  "Landlock alone: a read-write bind of a host dir is writable, a read-only one is not",
  { skip: needsAbi(1) },
  async () => {
    const rw = Deno.makeTempDirSync({ prefix: "sandbox-ts-llrw-" });
    const ro = Deno.makeTempDirSync({ prefix: "sandbox-ts-llro-" });
    for (const d of [rw, ro]) Deno.chmodSync(d, 0o777);
    try {
      const r = await sandbox({
        namespaces: false,
        mounts: [{ type: "bind", source: rw }, { type: "bind", source: ro, readOnly: true }],
      }).run("sh", [
        "-c",
        `echo w > ${rw}/f || exit 71; ls ${ro} > /dev/null || exit 72; ` +
        `touch ${ro}/x 2>/dev/null && exit 73; exit 0`,
      ]);
      assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
      assertEquals(Deno.readTextFileSync(`${rw}/f`), "w\n");
    } finally {
      Deno.removeSync(rw, { recursive: true });
      Deno.removeSync(ro, { recursive: true });
    }
  },
);

kernelTest(
  "Landlock alone, network none: no TCP connect to a host listener (ABI >= 4)",
  { skip: needsAbi(4) },
  async () => {
    assertEquals(await reachesHostListener({ namespaces: false }), false, "connected to the host");
  },
);

kernelTest(
  "Landlock alone: no signal to a process outside the sandbox (ABI >= 6)",
  { skip: needsAbi(6) },
  async () => {
    const r = await sh(`kill -0 ${Deno.pid} 2>/dev/null && exit 77; exit 0`, { namespaces: false });
    assertEquals(r.exitCode, 0, "signalled the host's Deno");
  },
);

kernelTest(
  "inside namespaces Landlock is a second wall: mknod is refused even with seccomp off",
  { skip: needsAbi(1) },
  async () => {
    const r = await sh(
      "mknod /tmp/n p && rm /tmp/n || exit 71; mknod /tmp/c c 1 3 2>/dev/null && exit 72; exit 0",
      {
        seccomp: "none",
      },
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
  },
);

Deno.test("mounts that need namespaces fail to build without them, naming why", () => {
  for (
    const mounts of [
      [{ type: "tmpfs" as const, target: "/scratch" }],
      [{ type: "bind" as const, source: "/usr", target: "/u" }],
    ]
  ) {
    assertThrows(
      () => new SandboxBuilder("x", { namespaces: false, mounts }).build(),
      UnsupportedError,
      "needs namespaces",
    );
  }
});

Deno.test("planLandlock: rights per ABI; best-effort reports downgrades; required fails closed", () => {
  assertEquals(handledFs(1), 0x1fff);
  assertEquals(handledFs(2), 0x3fff);
  assertEquals(handledFs(4), 0x7fff);
  assertEquals(handledFs(7), 0xffff);
  const view = [
    { path: "/usr", access: "read" as const, optional: false },
    { path: "/tmp", access: "write" as const, optional: false },
    { path: "/etc/hosts", access: "read" as const, optional: true },
  ];
  const old = planLandlock(view, {
    abi: 3,
    mode: "best-effort",
    network: "none",
    namespaces: false,
  });
  assertEquals(old.abi, 3);
  assertEquals(old.dropped, ["net", "ioctl-dev", "scope"]);
  assertEquals(old.ops[0], ["landlock", String(0x7fff), "0", "0"]);
  assertEquals(old.ops[1], ["landlock-path", "/usr", "13"]);
  // write: never make-char/make-block, never ioctl on devices
  const write = Number(old.ops[2]![2]);
  assertEquals(write & ((1 << 6) | (1 << 11) | (1 << 15)), 0);
  assert((write & (1 << 14)) !== 0 && (write & (1 << 13)) !== 0);
  assertEquals(old.ops[3], ["landlock-path-try", "/etc/hosts", "13"]);
  const now = planLandlock(view, { abi: 7, mode: "required", network: "none", namespaces: false });
  assertEquals([now.abi, now.dropped, now.ops[0]], [7, [], ["landlock", "65535", "3", "3"]]);
  // With namespaces the network namespace confines TCP: no net rules.
  const ns = planLandlock(view, { abi: 7, mode: "required", network: "none", namespaces: true });
  assertEquals(ns.ops[0], ["landlock", "65535", "0", "3"]);
  assertThrows(
    () => planLandlock(view, { abi: 5, mode: "required", network: "none", namespaces: true }),
    UnsupportedError,
    "cannot enforce scope",
  );
  assertThrows(
    () => planLandlock(view, { abi: 0, mode: "required", network: "host", namespaces: true }),
    UnsupportedError,
    "Landlock is required",
  );
  assertEquals(
    planLandlock(view, { abi: 0, mode: "best-effort", network: "host", namespaces: true }),
    { ops: [], abi: null, dropped: ["landlock"] },
  );
  assertEquals(
    planLandlock(view, { abi: 7, mode: "off", network: "none", namespaces: true }).ops,
    [],
  );
});

Deno.test("no namespaces and no Landlock fails closed unless Landlock is explicitly off", () => {
  const c = validateConfig({ namespaces: false });
  assertThrows(
    () => filesystemPlan(c, { ...host, landlockAbi: 0 }),
    UnsupportedError,
    "Neither namespaces nor Landlock",
  );
  const off = filesystemPlan(validateConfig({ namespaces: false, landlock: "off" }), host);
  assertEquals([off.namespaces, off.landlock.ops], [false, []]);
  // "auto" falls back to Landlock alone where user namespaces are refused.
  const auto = filesystemPlan(validateConfig({}), { ...host, landlockAbi: 7, userns: false });
  assertEquals(auto.namespaces, false);
});

Deno.test("without namespaces the frame has no namespace ops, and root runs as its own ids", () => {
  const ops = staticOps(validateConfig({ namespaces: false }), {
    mode: "privileged",
    caller: { euid: 0, egid: 0 },
    host: { ...host, landlockAbi: 7 },
  });
  const names = ops.map((o) => o[0]);
  for (const n of ["unshare", "uid-map", "newroot", "ro-bind", "proc", "hostname"]) {
    assert(!names.includes(n), n);
  }
  assertEquals(ops[0], ["host-ids", "2130706432", "2130706432", "65536"]);
  assert(!names.includes("uid") && !names.includes("userns-limit") && !names.includes("pty-max"));
  assert(ops.some((o) => o[0] === "landlock-path" && o[1] === "/usr"));
  assert(!ops.some((o) => o[1] === "/tmp"), "host /tmp must not be granted");
  // A read-only path below a writable one cannot be expressed with Landlock alone.
  assertThrows(
    () =>
      staticOps(
        validateConfig({
          namespaces: false,
          mounts: [
            { type: "bind", source: "/srv" },
            { type: "bind", source: "/srv/ro", readOnly: true },
          ],
        }),
        {
          mode: "unprivileged",
          caller: { euid: 1000, egid: 1000 },
          host: { ...host, landlockAbi: 7 },
        },
      ),
    UnsupportedError,
    "read-only below the writable",
  );
});
