// Host identity of a run (lib/host_ids.ts, launcher/ids.c): no caller groups inside, and for a
// root caller a host uid/gid pair of each run's own — read back from the host, attacked for real.
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import {
  euid,
  hostProcesses,
  isRoot,
  kernelTest,
  LAUNCHER,
  marker,
  sandbox,
  sh,
  waitFor,
} from "./_helpers.ts";
import { DEFAULT_HOST_IDS, validateHostIds } from "../lib/host_ids.ts";
import { staticOps, validateConfig } from "../lib/policy.ts";
import {
  type HostIdsConfig,
  Sandbox,
  SandboxBuilder,
  type SandboxConfig,
  SandboxSetupError,
} from "../mod.ts";

/** A range of `count` ids of this test's own (random, so that concurrent suites do not meet). */
function testRange(count: number): { start: number; count: number } {
  return { start: 0x7f500000 + Math.floor(Math.random() * 0xf000), count };
}

/** uid and gid (real) of a host process. */
function hostIds(pid: number): [number, number] {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
  const gid = Number(/^Gid:\s+(\d+)/m.exec(status)![1]);
  return [uid, gid];
}

function hasSetpriv(): boolean {
  try {
    return new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether a setuid file in a fresh temporary directory takes effect (its mount is not nosuid). */
function tmpAllowsSetuid(): boolean {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  Deno.removeSync(dir);
  let point = "", options: string[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const f = line.split(" ");
    const at = f[4]?.replaceAll("\\040", " ");
    if (!at || at.length < point.length) continue;
    if (dir === at || dir.startsWith(at === "/" ? "/" : `${at}/`)) {
      [point, options] = [at, f[5]!.split(",")];
    }
  }
  return !options.includes("nosuid");
}

/** Why a test of host ids attacked by a local user cannot run here, or false. */
const attackSkip = !isRoot
  ? "unprivileged callers' runs are all the caller by design"
  : !hasSetpriv()
  ? "setpriv (util-linux) is missing"
  : false;

/** Runs a host command as uid:gid (setpriv, no groups); its exit code. */
async function runAs(uid: number, cmd: string[]): Promise<number> {
  const out = await new Deno.Command("setpriv", {
    args: ["--reuid", String(uid), "--regid", String(uid), "--clear-groups", "--", ...cmd],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.code;
}

// ---- pure: validation, the default range, ops ----

Deno.test("hostIds is validated naming the field; the default range avoids the usual ones", () => {
  assertEquals(validateHostIds(undefined), DEFAULT_HOST_IDS);
  assertEquals(validateHostIds({ start: 200000, count: 5 }), {
    start: 200000,
    gidStart: 200000,
    count: 5,
  });
  assertThrows(() => new Sandbox({ hostIds: { start: 0, count: 1 } }), RangeError, "hostIds.start");
  assertThrows(
    () => new Sandbox({ hostIds: { start: 1, count: 0 } }),
    RangeError,
    "hostIds.count",
  );
  assertThrows(
    () => new Sandbox({ hostIds: { start: 1, count: 1, gidStart: -1 } }),
    RangeError,
    "hostIds.gidStart",
  );
  assertThrows(
    () => new Sandbox({ hostIds: "100000:65536" as unknown as HostIdsConfig }),
    TypeError,
    "hostIds",
  );
  assertThrows(
    () => new Sandbox({ hostIds: { start: 1, count: 1, end: 2 } as HostIdsConfig }),
    RangeError,
    'Unknown hostIds field "end"',
  );
  assertThrows(() => validateHostIds({ start: 65000, count: 1000 }), RangeError, "65534");
  assertThrows(() => validateHostIds({ start: 0x7fffff00, count: 0x1000 }), RangeError, "2^31");
  // systemd: nspawn containers end at 0x6FFFFFFF, the foreign range starts at 0x7FFE0000.
  const d = DEFAULT_HOST_IDS;
  assert(d.start > 0x6fffffff && d.start + d.count <= 0x7ffe0000, JSON.stringify(d));
});

Deno.test("the default range is fixed, never root's /etc/subuid entry; a named one is used", () => {
  // Root's subordinate ids serve LXC and rootful podman containers: a default taken from them
  // would give sandboxes the uids of containers. Only a range the config names replaces it.
  const host = { arch: "x86_64" as const, system: { "/usr": { dir: true as const } } };
  const op = (config: SandboxConfig) =>
    staticOps(validateConfig(config), {
      mode: "privileged",
      caller: { euid: 0, egid: 0 },
      host,
    }).find((o) => o[0] === "host-ids");
  assertEquals(op({}), ["host-ids", "2130706432", "2130706432", "65536"]);
  assertEquals(new Sandbox({}).config.hostIds, DEFAULT_HOST_IDS);
  // Opting in to a subordinate range, e.g. root:1000000:65536 and root:2000000:65536.
  const sub = { start: 1000000, count: 65536, gidStart: 2000000 };
  assertEquals(op({ hostIds: sub }), ["host-ids", "1000000", "2000000", "65536"]);
});

// ---- item 2: no supplementary groups of the caller ----

kernelTest("a root caller's supplementary groups never reach the sandbox", {
  skip: !isRoot
    ? "only root can give the launcher groups to drop (setpriv --groups)"
    : !hasSetpriv() && "setpriv (util-linux) is missing",
}, async () => {
  // The launcher started with groups 0 (root) and 4 (adm), like a root shell's.
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-groups-" });
  Deno.chmodSync(dir, 0o755);
  const wrapper = `${dir}/launcher`;
  Deno.writeTextFileSync(wrapper, `#!/bin/sh\nexec setpriv --groups 0,4 -- ${LAUNCHER} "$@"\n`);
  Deno.chmodSync(wrapper, 0o755);
  Deno.mkdirSync(`${dir}/data`, { mode: 0o755 });
  Deno.writeTextFileSync(`${dir}/data/secret`, "group root only\n");
  Deno.chmodSync(`${dir}/data/secret`, 0o640); // root:root rw-r-----
  try {
    const check = await new Deno.Command(wrapper, { args: ["--version"] }).output();
    assert(check.success, "the wrapper does not run the launcher");
    const sb = new SandboxBuilder("groups", {
      mounts: [{ type: "bind", source: `${dir}/data`, target: "/data", readOnly: true }],
      // Not id-mapped: through the mapping root's file would be the sandbox user's own.
      idmap: "off",
    }).launcherPath(wrapper).build();
    const r = await sb.run("sh", [
      "-c",
      "cat /data/secret 2>/dev/null && exit 71; id -G; grep '^Groups:' /proc/self/status",
    ]);
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assertEquals(r.stdout.split("\n")[0], "1000");
    assertMatch(r.stdout, /^Groups:[ \t]*$/m);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

kernelTest("root that cannot drop its groups fails closed instead of passing them on", {
  skip: !isRoot
    ? "only root can start the launcher with groups and without CAP_SETGID (setpriv)"
    : !hasSetpriv() && "setpriv (util-linux) is missing",
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-groups-" });
  Deno.chmodSync(dir, 0o755);
  const wrapper = `${dir}/launcher`;
  Deno.writeTextFileSync(
    wrapper,
    `#!/bin/sh\nexec setpriv --groups 0,4 --bounding-set -setgid -- ${LAUNCHER} "$@"\n`,
  );
  Deno.chmodSync(wrapper, 0o755);
  try {
    const sb = new SandboxBuilder("groups").launcherPath(wrapper).build();
    const e = await assertRejects(() => sb.run("true"), SandboxSetupError);
    assertEquals([e.step, e.errno], ["setgid", "EPERM"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

kernelTest(
  "an unprivileged caller's own groups are all that remain (overflow gid inside)",
  async () => {
    const own = /^Groups:[ \t]*(.*)$/m.exec(Deno.readTextFileSync("/proc/self/status"))![1]!.trim();
    const r = await sh("grep '^Groups:' /proc/self/status");
    const inside = /^Groups:[ \t]*(.*)$/m.exec(r.stdout)![1]!.trim();
    // Root drops them; an unprivileged caller cannot (setgroups is denied in a user namespace it
    // maps itself): its groups stay, unmapped, shown as 65534.
    const expected = isRoot ? "" : own.split(/\s+/).filter(Boolean).map(() => "65534").join(" ");
    assertEquals(inside, expected);
  },
);

// ---- item 3: a host uid/gid pair per run ----

kernelTest(
  "two concurrent runs have different host uids (never 65534 or root), read from the host",
  async () => {
    const tag = marker();
    const sb = sandbox();
    const a = sb.spawn("sleep", [tag]);
    const b = sb.spawn("sleep", [tag]);
    try {
      assert(
        await waitFor(() => hostProcesses(`sleep ${tag}`).length === 2, 10_000),
        "not started",
      );
      const ids = hostProcesses(`sleep ${tag}`).map(hostIds);
      a.kill();
      b.kill();
      const [ra, rb] = [await a.status, await b.status];
      const reported = [ra, rb].map((r) => [r.enforced.hostUid, r.enforced.hostGid]);
      assertEquals(
        [...ids].sort((x, y) => x[0]! - y[0]!),
        [...reported].sort((x, y) => x[0]! - y[0]!),
      );
      if (!isRoot) {
        // An unprivileged caller's sandboxes are the caller (the only ids it can map).
        for (const [uid] of ids) assertEquals(uid, euid);
        return;
      }
      assert(ids[0]![0] !== ids[1]![0] && ids[0]![1] !== ids[1]![1], JSON.stringify(ids));
      // From the default range, whatever /etc/subuid says.
      const { start, count } = DEFAULT_HOST_IDS;
      for (const [uid, gid] of ids) {
        assert(uid! >= start && uid! < start + count, JSON.stringify(ids));
        assert(gid! >= start && gid! < start + count, JSON.stringify(ids));
      }
      assertEquals(sb.enforced.hostUid, undefined); // known per run only
    } finally {
      await a.status.catch(() => {});
      await b.status.catch(() => {});
    }
  },
);

kernelTest("a process running as one run's host uid cannot signal another run", {
  skip: attackSkip,
}, async () => {
  const tag = marker();
  const sb = sandbox();
  const a = sb.spawn("sleep", [tag]);
  const b = sb.spawn("sleep", [tag]);
  try {
    assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 2, 10_000), "not started");
    const [pa, pb] = hostProcesses(`sleep ${tag}`);
    const [ua] = hostIds(pa!);
    assertEquals(await runAs(ua!, ["kill", "-0", String(pa)]), 0); // its own run: allowed
    assert((await runAs(ua!, ["kill", "-0", String(pb)])) !== 0, "signalled the other run");
    assert((await runAs(65534, ["kill", "-0", String(pb)])) !== 0, "nobody signalled a run");
  } finally {
    a.kill();
    b.kill();
    await a.status.catch(() => {});
    await b.status.catch(() => {});
  }
});

kernelTest("a setuid file planted in a rw bind reaches only its own run's uid", {
  skip: attackSkip ||
    (!tmpAllowsSetuid() && "the temporary directory is on a nosuid filesystem"),
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-plant-" });
  Deno.chmodSync(dir, 0o777); // each run is a host uid of its own: the bind is open to all
  const tag = marker();
  // Run A plants a setuid copy of kill (the bind is nosuid inside; on the host it is not). The
  // seccomp profiles refuse set-id modes: only a run without a filter can plant one.
  const sb = sandbox({ mounts: [{ type: "bind", source: dir, target: "/w" }], seccomp: "none" });
  const a = sb.spawn("sh", ["-c", `cp /bin/kill /w/k && chmod 4755 /w/k && exec sleep ${tag}`]);
  const b = sandbox().spawn("sleep", [tag]);
  try {
    const planted = () => {
      try {
        return (Deno.statSync(`${dir}/k`).mode! & 0o4000) !== 0;
      } catch {
        return false;
      }
    };
    assert(
      await waitFor(() => hostProcesses(`sleep ${tag}`).length === 2 && planted(), 10_000),
      "not started",
    );
    const pids = hostProcesses(`sleep ${tag}`);
    const mine = pids.find((p) => hostIds(p)[0] === Deno.statSync(`${dir}/k`).uid);
    const other = pids.find((p) => p !== mine);
    assert(mine !== undefined && other !== undefined, `runs ${pids.map(hostIds)}`);
    // Any local user (here nobody) running it is run A's uid: A's own processes only.
    assertEquals(await runAs(65534, [`${dir}/k`, "-0", String(mine)]), 0, "the file is not setuid");
    assert((await runAs(65534, [`${dir}/k`, "-0", String(other)])) !== 0, "reached run B");
  } finally {
    a.kill();
    b.kill();
    await a.status.catch(() => {});
    await b.status.catch(() => {});
    Deno.removeSync(dir, { recursive: true });
  }
});

kernelTest("a full range is a clear setup error; a killed launcher's id is free again", {
  skip: !isRoot && "host id ranges are a root caller's",
}, async () => {
  const range = testRange(1);
  // No cgroup (no limits): the launcher killed below could not remove it, and a name left
  // behind would be refused to a later run.
  const sb = sandbox({ hostIds: range, maxPids: null });
  const tag = marker();
  const holder = sb.spawn("sleep", [tag]);
  assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 1, 10_000), "not started");
  const e = await assertRejects(() => sb.run("true"), SandboxSetupError, "No free host id");
  assertEquals([e.step, e.errno, e.exitCode], ["host-ids", "EUSERS", 125]);
  assertMatch(e.message, new RegExp(`hostIds ${range.start}\\+1`));
  // A crash of the launcher (SIGKILL: no cleanup of its own) releases the id with it.
  Deno.kill(holder.pid, "SIGKILL");
  await holder.status.catch(() => {});
  assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 0, 5000), "run survived");
  const again = await sb.run("sh", ["-c", "cat /proc/self/uid_map"]);
  assertEquals(again.exitCode, 0, again.stderr);
  assertEquals(again.enforced.hostUid, range.start);
  assertMatch(again.stdout, new RegExp(`^\\s*1000\\s+${range.start}\\s+1$`, "m"));
});

kernelTest("without namespaces a root caller's target runs as the run's own host uid", async () => {
  const r = await sh("id -u; id -g; grep '^Groups:' /proc/self/status", { namespaces: false });
  assertEquals(r.exitCode, 0, r.stderr);
  const [uid, gid] = r.stdout.split("\n").map(Number);
  assertEquals([uid, gid], [r.enforced.hostUid, r.enforced.hostGid]);
  assertEquals(r.enforced.uid, uid);
  if (isRoot) assert(uid! >= DEFAULT_HOST_IDS.start && uid! !== 65534, `uid ${uid}`);
  else assertEquals(uid, euid);
});

kernelTest(
  "kept overlay changes: each run owns the upper dir; earlier runs' files stay theirs",
  { skip: !isRoot && "an unprivileged caller's runs are all the caller" },
  async () => {
    const base = Deno.makeTempDirSync({ prefix: "sandbox-ts-keep-" });
    Deno.chmodSync(base, 0o755);
    Deno.mkdirSync(`${base}/lower`, { mode: 0o755 });
    const range = testRange(1);
    const earlier = range.start + 100; // as if a run with another id had written it
    try {
      const upper = `${base}/upper`;
      const sb = sandbox({
        hostIds: range,
        idmap: "off", // the fallback: runs own the upper (tests/ownership_test.ts: id-mapped)
        mounts: [{ type: "overlay", source: `${base}/lower`, target: "/o", upper }],
      });
      const first = await sb.run("sh", ["-c", "echo one > /o/f"]);
      assertEquals(first.exitCode, 0, first.stderr);
      Deno.chownSync(`${upper}/f`, earlier, earlier);
      const r = await sb.run("sh", [
        "-c",
        'test "$(cat /o/f)" = one || exit 71; (echo two >> /o/f) 2>/dev/null && exit 72; ' +
        "echo new > /o/g || exit 73; exit 0",
      ]);
      assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
      assertEquals(Deno.statSync(upper).uid, range.start); // handed to the run
      assertEquals(Deno.statSync(`${upper}/g`).uid, range.start);
      assertEquals(Deno.readTextFileSync(`${upper}/f`), "one\n");
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  },
);
