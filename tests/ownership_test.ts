// Host directories keep their owners (README "Ownership", SECURITY.md "Id-mapped mounts"): a root
// caller's binds and overlays are id-mapped, so its files are the sandbox user's inside and what
// the sandbox makes is the caller's on the host; an unprivileged caller's sandbox user is the
// caller already. Each test runs as root and as an unprivileged user (CI runs both) and checks the
// owners on the host; the hostile probes exit with a sentinel only if the forbidden thing worked.
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { euid, exists, isRoot, kernelTest, removeTree, ROOT, sandbox } from "./_helpers.ts";
import {
  type MountConfig,
  type MountOwnership,
  Sandbox,
  type SandboxConfig,
  SandboxSetupError,
  UnsupportedError,
} from "../mod.ts";
import { filesystemPlan } from "../lib/mounts.ts";
import { ownershipPlan } from "../lib/ownership.ts";
import { validateConfig } from "../lib/policy.ts";

const egid = Deno.gid() ?? 0;
/** What enforced.mounts says for an id-mappable mount of this caller. */
const MAPPED: Omit<MountOwnership, "target"> = isRoot
  ? { idmap: true }
  : { idmap: false, reason: "caller" };

/** A fresh directory of the caller's, mode 0755, removed by the test. */
function callerDir(prefix: string): string {
  const d = Deno.makeTempDirSync({ prefix: `sandbox-ts-own-${prefix}-` });
  Deno.chmodSync(d, 0o755);
  return d;
}

function owner(path: string): [number, number] {
  const st = Deno.lstatSync(path);
  return [st.uid!, st.gid!];
}

function run(script: string, mounts: MountConfig[], config: SandboxConfig = {}) {
  return sandbox({ mounts, ...config }).run("sh", ["-c", script]);
}

kernelTest(
  "an rw bind of the caller's directory: what the sandbox makes is the caller's",
  async () => {
    const dir = callerDir("rw");
    try {
      Deno.writeTextFileSync(`${dir}/a`, "one\n");
      const r = await run(
        'test "$(stat -c %u:%g /w/a)" = 1000:1000 || exit 71; echo two >> /w/a || exit 72; ' +
          "echo n > /w/n || exit 73; mkdir /w/d || exit 74; echo m > /w/d/m || exit 75",
        [{ type: "bind", source: dir, target: "/w" }],
      );
      assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
      assertEquals(r.enforced.mounts, [{ target: "/w", ...MAPPED }]);
      assertEquals(Deno.readTextFileSync(`${dir}/a`), "one\ntwo\n");
      for (const p of ["a", "n", "d", "d/m"]) assertEquals(owner(`${dir}/${p}`), [euid, egid], p);
    } finally {
      removeTree(dir);
    }
  },
);

kernelTest(
  "git init, commit and status in a bound repository: no dubious ownership, inside or out",
  { skip: !exists("/usr/bin/git") && "git is not installed" },
  async () => {
    const dir = callerDir("git");
    try {
      Deno.writeTextFileSync(`${dir}/README`, "hello\n");
      const git = "git -c user.name=t -c user.email=t@example.invalid";
      const r = await run(
        `cd /repo && ${git} init -q && ${git} add README && ${git} commit -qm one && ` +
          "git status --porcelain && echo clean",
        [{ type: "bind", source: dir, target: "/repo" }],
      );
      assertEquals(r.exitCode, 0, r.stderr);
      assertEquals(r.stdout, "clean\n");
      assert(!r.stderr.includes("dubious ownership"), r.stderr);
      // The host (the caller) works on the same repository without a safe.directory exception.
      const log = await new Deno.Command("git", {
        args: ["-C", dir, "log", "--format=%s"],
        env: { GIT_CONFIG_NOSYSTEM: "1", HOME: dir },
      }).output();
      assertEquals(
        new TextDecoder().decode(log.stdout),
        "one\n",
        new TextDecoder().decode(log.stderr),
      );
      assertEquals(owner(`${dir}/.git/HEAD`), [euid, egid]);
    } finally {
      removeTree(dir);
    }
  },
);

kernelTest(
  "an overlay over the caller's files copies up and writes; the lower dir is unchanged",
  async () => {
    const lower = callerDir("lower");
    const keep = callerDir("keep");
    const upper = `${keep}/changes`;
    try {
      Deno.writeTextFileSync(`${lower}/f`, "v1\n");
      const script =
        "echo v2 >> /o/f || exit 71; echo new > /o/n || exit 72; rm /o/f.gone 2>/dev/null; " +
        'test "$(cat /o/f)" = "$(printf "v1\\nv2")" || exit 73';
      const discarded = await run(script, [{ type: "overlay", source: lower, target: "/o" }]);
      assertEquals(discarded.exitCode, 0, `probe ${discarded.exitCode}: ${discarded.stderr}`);
      assertEquals(discarded.enforced.mounts, [{ target: "/o", ...MAPPED }]);
      const kept = await run(script, [{ type: "overlay", source: lower, target: "/o", upper }]);
      assertEquals(kept.exitCode, 0, `probe ${kept.exitCode}: ${kept.stderr}`);
      assertEquals(Deno.readTextFileSync(`${lower}/f`), "v1\n");
      assertEquals([...Deno.readDirSync(lower)].map((e) => e.name), ["f"]);
      assertEquals(Deno.readTextFileSync(`${upper}/f`), "v1\nv2\n");
      // The kept changes are the caller's: the upper dir, its work dir and what was written.
      for (const p of [upper, `${upper}.work`, `${upper}/f`, `${upper}/n`]) {
        assertEquals(owner(p), [euid, egid], p);
      }
    } finally {
      removeTree(lower);
      removeTree(keep);
    }
  },
);

kernelTest("a bind under a 0700 directory of the caller", async () => {
  const parent = callerDir("private");
  Deno.chmodSync(parent, 0o700);
  try {
    Deno.mkdirSync(`${parent}/src`, { mode: 0o755 });
    Deno.writeTextFileSync(`${parent}/src/f`, "mine\n");
    const r = await run("cat /ro/f && echo w > /rw/w", [
      { type: "bind", source: `${parent}/src`, target: "/ro", readOnly: true },
      { type: "bind", source: `${parent}/src`, target: "/rw" },
    ]);
    assertEquals(r.exitCode, 0, r.stderr);
    assertEquals(r.stdout, "mine\n");
    assertEquals(owner(`${parent}/src/w`), [euid, egid]);
  } finally {
    removeTree(parent);
  }
});

kernelTest(
  "a source the caller cannot reach fails naming the source, the reason and the fix",
  { skip: isRoot && "root reaches every path (its launcher opens sources before it drops ids)" },
  async () => {
    const source = "/root/.sandbox-ts-unreachable/src"; // /root is 0700 root's
    const err = await assertRejects(
      () => run("true", [{ type: "bind", source, target: "/s", readOnly: true }]),
      SandboxSetupError,
    );
    assertEquals([err.step, err.errno, err.path], ["bind", "EACCES", source]);
    assertMatch(err.message, /Cannot open the bind source "\/root\/.sandbox-ts-unreachable\/src"/);
    assertMatch(err.message, /as the calling user.*Give the calling user access/s);
  },
);

kernelTest("files of other host users stay theirs: the mapping grants root nothing", {
  skip: !isRoot && "only root can make files of another host user",
}, async () => {
  const dir = callerDir("others");
  try {
    Deno.writeTextFileSync(`${dir}/theirs`, "x\n", { mode: 0o600 });
    Deno.chownSync(`${dir}/theirs`, 4242, 4242);
    const r = await run(
      'test "$(stat -c %u /w/theirs)" = 65534 || exit 71; cat /w/theirs 2>/dev/null && exit 72; ' +
        "(echo y >> /w/theirs) 2>/dev/null && exit 73; chmod 666 /w/theirs 2>/dev/null && exit 74; " +
        "exit 0",
      [{ type: "bind", source: dir, target: "/w" }],
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assertEquals(Deno.readTextFileSync(`${dir}/theirs`), "x\n");
    assertEquals(r.enforced.mounts, [{ target: "/w", idmap: true }]);
  } finally {
    removeTree(dir);
  }
});

kernelTest(
  "hostile: no set-id file, device node, capability or hard link out of an rw bind",
  async () => {
    const dir = callerDir("hostile");
    const other = callerDir("other");
    try {
      Deno.writeTextFileSync(`${other}/secret`, "s\n");
      Deno.writeTextFileSync(`${dir}/exe`, "#!/bin/sh\n", { mode: 0o755 });
      const setcap = "import os; os.setxattr('/w/exe', 'security.capability', " +
        "bytes([0, 0, 0, 2]) + bytes(16))";
      const userXattr = "import os; os.setxattr('/w/exe', 'user.t', b'1')";
      const setIdOpen = "import os; os.open('/w/new', os.O_CREAT | os.O_WRONLY, 0o4755)";
      const r = await run(
        [
          "grep -E ' /w [^ ]*nosuid' /proc/self/mountinfo | grep -q nodev || exit 70",
          // Controls: the sandbox owns the file, links and xattrs work at all (else the probes
          // below would prove nothing).
          "chmod 0750 /w/exe || exit 66",
          "ln /w/exe /w/exe2 || exit 67",
          `python3 -c "${userXattr}" || exit 68`,
          "chmod 4755 /w/exe 2>/dev/null && exit 71",
          "chmod 2755 /w/exe 2>/dev/null && exit 72",
          `python3 -c "${setIdOpen}" 2>/dev/null; test -e /w/new && exit 73`,
          "mknod /w/null c 1 3 2>/dev/null && exit 74",
          "ln /r/secret /w/link 2>/dev/null && exit 75",
          "ln /usr/bin/env /w/env 2>/dev/null && exit 76",
          `python3 -c "${setcap}" 2>/dev/null && exit 77`,
          "unshare -U true 2>/dev/null && exit 78",
          "exit 0",
        ].join("; "),
        [
          { type: "bind", source: dir, target: "/w" },
          { type: "bind", source: other, target: "/r", readOnly: true },
        ],
        { seccomp: { profile: "compute", action: "errno" } },
      );
      assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
      for (const e of Deno.readDirSync(dir)) {
        const st = Deno.lstatSync(`${dir}/${e.name}`);
        assertEquals(st.mode! & 0o6000, 0, `${e.name} is set-id on the host`);
        assert(!st.isCharDevice && !st.isBlockDevice, `${e.name} is a device`);
      }
      assertEquals(Deno.lstatSync(`${other}/secret`).nlink, 1);
    } finally {
      removeTree(dir);
      removeTree(other);
    }
  },
);

kernelTest("a bind of a shared host mount is private: mounts inside never reach the host", {
  skip: !isRoot
    ? "only root can make a shared host mount (in a mount namespace of the test's)"
    : !exists("/usr/bin/unshare") && "unshare (util-linux) is missing",
}, async () => {
  // systemd hosts mount / shared: a clone of it is the host mount's peer unless made private.
  const dir = callerDir("shared");
  try {
    const script = [
      `mount -t tmpfs shr ${dir} && mount --make-shared ${dir} && mkdir ${dir}/sub || exit 90`,
      `${Deno.execPath()} run -A --quiet ${ROOT}cli.ts run -q --bind ${dir}:/w --tmpfs /w/sub -- ` +
      `sh -c "grep -E ' /w(/sub)? ' /proc/self/mountinfo" || exit 91`,
      `grep -q ' ${dir}/sub ' /proc/self/mountinfo && exit 92`,
      "exit 0",
    ].join("; ");
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "sh", "-c", script],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, `probe ${out.code}: ${text}${new TextDecoder().decode(out.stderr)}`);
    assertEquals(text.split("\n").filter(Boolean).length, 2, text);
    assert(!text.includes("shared:"), text); // no peer group inside
  } finally {
    removeTree(dir);
  }
});

kernelTest("hostile: a bind source through a link a sandbox could plant is refused", async () => {
  const ws = callerDir("ws");
  Deno.chmodSync(ws, 0o777); // writable by others: any sandbox could have made the link
  const target = callerDir("target");
  try {
    Deno.symlinkSync(target, `${ws}/link`);
    const err = await assertRejects(
      () => run("true", [{ type: "bind", source: `${ws}/link`, target: "/w" }]),
      SandboxSetupError,
    );
    assertEquals(err.step, "host-link");
  } finally {
    removeTree(ws);
    removeTree(target);
  }
});

kernelTest(
  "a filesystem that refuses id-mapping: today's ownership, said in enforced; required fails",
  {
    skip: !isRoot && "only a root caller's mounts are id-mapped",
  },
  async () => {
    // procfs does not take id-mapped mounts (nor do sysfs, cgroupfs, or an overlayfs as a source).
    const mounts: MountConfig[] = [{
      type: "bind",
      source: "/proc/sys/kernel",
      target: "/k",
      readOnly: true,
    }];
    const r = await run("cat /k/ostype", mounts);
    assertEquals(r.exitCode, 0, r.stderr);
    assertEquals(r.stdout, "Linux\n");
    assertEquals(r.enforced.mounts, [{
      target: "/k",
      idmap: false,
      reason: "filesystem",
      errno: "EINVAL",
    }]);
    const err = await assertRejects(
      () => run("true", mounts, { idmap: "required" }),
      SandboxSetupError,
    );
    assertEquals([err.step, err.errno, err.path], ["idmap", "EINVAL", "/proc/sys/kernel"]);
    // A warm launcher's prepared run meets the refusal before its status file exists: it is
    // recorded all the same once the request names one.
    await using warm = new Sandbox({ mounts }, { warm: { pool: 2 } });
    await warm.warmUp();
    const children = [warm.spawn("cat", ["/k/ostype"]), warm.spawn("cat", ["/k/ostype"])];
    // Both through the one warm launcher (a cold run has a launcher of its own).
    assertEquals(children[0]!.pid, children[1]!.pid);
    for (const child of children) {
      assertEquals(await new Response(child.stdout).text(), "Linux\n");
      await new Response(child.stderr).arrayBuffer();
      const w = await child.status;
      assertEquals(w.exitCode, 0);
      assertEquals(w.enforced.mounts, [{
        target: "/k",
        idmap: false,
        reason: "filesystem",
        errno: "EINVAL",
      }]);
    }
  },
);

kernelTest(
  "without a seccomp filter a root caller's binds are not id-mapped; required refuses",
  async () => {
    const dir = callerDir("nofilter");
    try {
      const mounts: MountConfig[] = [{ type: "bind", source: dir, target: "/w" }];
      const r = await run("stat -c %u /w", mounts, { seccomp: "none" });
      assertEquals(r.exitCode, 0, r.stderr);
      // Unprivileged: the sandbox user is the caller either way.
      assertEquals(r.stdout, isRoot ? "65534\n" : "1000\n");
      assertEquals(r.enforced.mounts, [
        isRoot ? { target: "/w", idmap: false, reason: "no-seccomp" } : { target: "/w", ...MAPPED },
      ]);
      const required = () => sandbox({ mounts, seccomp: "none", idmap: "required" });
      if (isRoot) assertThrows(required, UnsupportedError, "without a seccomp filter");
      else assertEquals((await required().run("true")).exitCode, 0);
    } finally {
      removeTree(dir);
    }
  },
);

kernelTest("idmap off keeps the run's own uid on every mount", async () => {
  const dir = callerDir("off");
  try {
    const r = await run("stat -c %u /w", [{ type: "bind", source: dir, target: "/w" }], {
      idmap: "off",
    });
    assertEquals(r.exitCode, 0, r.stderr);
    assertEquals(r.stdout, isRoot ? "65534\n" : "1000\n");
    assertEquals(r.enforced.mounts, [{ target: "/w", idmap: false, reason: "off" }]);
  } finally {
    removeTree(dir);
  }
});

Deno.test("ownership plan: who is mapped, why not, and required failing at build", () => {
  const mounts: MountConfig[] = [
    { type: "bind", source: "/srv/a", target: "/a" },
    { type: "tmpfs", target: "/t" },
    { type: "overlay", source: "/srv/b", target: "/b", upper: "/srv/keep" },
  ];
  const plan = (config: SandboxConfig, namespaces: boolean, rootCaller: boolean) =>
    ownershipPlan(validateConfig({ mounts, ...config }), { namespaces, rootCaller });
  const root = plan({}, true, true);
  assertEquals(root.ops, [["idmap", "try"]]);
  assertEquals(root.mounts, [{ target: "/a", idmap: true }, { target: "/b", idmap: true }]);
  const ops = filesystemPlan(validateConfig({ mounts }), { system: {} }, { idmap: true }).mountOps;
  assertEquals(ops.map((op) => op[0]).filter((n) => n.endsWith("-idmap")), [
    "bind-idmap",
    "overlay-keep-idmap",
  ]);
  assertEquals(plan({ idmap: "required" }, true, true).ops, [["idmap", "required"]]);
  for (
    const [config, ns, rootCaller, reason] of [
      [{}, true, false, "caller"],
      [{ idmap: "off" }, true, true, "off"],
      [{ seccomp: "none" }, true, true, "no-seccomp"],
      [{}, false, true, "no-namespaces"],
    ] as const
  ) {
    const p = plan(config, ns, rootCaller);
    assertEquals(p.ops, [], reason);
    assertEquals(p.mounts.map((m) => m.reason), [reason, reason]);
  }
  assertThrows(() => plan({ idmap: "required", seccomp: "none" }, true, true), UnsupportedError);
  assertThrows(() => plan({ idmap: "required" }, false, true), UnsupportedError, "namespaces");
  assertEquals(plan({ idmap: "required" }, true, false).mounts[0]?.reason, "caller");
  assertThrows(() => validateConfig({ idmap: "yes" as "off" }), RangeError, "idmap");
});
