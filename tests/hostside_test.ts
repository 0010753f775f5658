// The host side never follows a path a sandbox could have changed (SECURITY.md, "Host paths and
// symlinks"). Each attack is planted for real — by a first sandbox run with a read-write bind of a
// shared workspace — and the next run must refuse with an error naming the link, leaving the host
// as it was. Positive tests show that symlinks nobody untrusted can write keep working.
import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import {
  euid,
  isRoot,
  kernelTest,
  LAUNCHER,
  pinned,
  PINNED_UID,
  removeTree,
  sandbox as anySandbox,
} from "./_helpers.ts";
import { launcherFeatures } from "../lib/launcher.ts";
import {
  type MountConfig,
  type SandboxConfig,
  type SandboxResult,
  SandboxSetupError,
} from "../mod.ts";
import { filesystemPlan } from "../lib/mounts.ts";
import { validateConfig } from "../lib/policy.ts";
import { decodeResult } from "../lib/status.ts";

/** The host uid the sandbox maps to (root callers: one pinned id; others: themselves). */
const MAPPED_UID = PINNED_UID;
const sandbox = (config?: SandboxConfig) => anySandbox(pinned(config));

const landlockAbi = launcherFeatures(LAUNCHER).landlockAbi;

/** What a test made on the host; removed after it. */
const made: string[] = [];

/** A kernel test (see kernelTest) that removes what it made on the host afterwards. */
function hostTest(name: string, fn: () => Promise<void>, skip: string | false = false): void {
  kernelTest(name, { skip }, async () => {
    try {
      await fn();
    } finally {
      for (const p of made.splice(0)) removeTree(p);
    }
  });
}

/** A fresh host directory with this mode, owned by `owner` (root can choose; others own it). */
function dirOf(mode: number, owner = euid): string {
  const d = Deno.makeTempDirSync({ prefix: "sandbox-ts-hostside-" });
  made.push(d);
  Deno.chmodSync(d, mode);
  if (owner !== euid) Deno.chownSync(d, owner, owner);
  return d;
}

/**
 * A workspace that sandboxes can write and that the rule must not trust: as root, owned by the
 * uid sandboxes map to; as another caller (whose sandboxes run as the caller, so ownership cannot
 * tell them apart) writable by others.
 */
function workspace(): string {
  return isRoot ? dirOf(0o755, MAPPED_UID) : dirOf(0o777);
}

/** A directory standing for a host location the run must not reach (root's when we are). */
function victim(mode = 0o755, owner = euid): string {
  const d = dirOf(mode, owner);
  Deno.writeTextFileSync(`${d}/keep`, "host\n");
  return d;
}

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** Runs `sh -c script` with mounts: the result, or the setup error if the run could not start. */
async function run(
  mounts: MountConfig[],
  script = "true",
): Promise<SandboxResult & { stdout: string; stderr: string } | SandboxSetupError> {
  try {
    return await sandbox({ mounts }).run("sh", ["-c", script]);
  } catch (e) {
    if (e instanceof SandboxSetupError) return e;
    throw e;
  }
}

/** The run started and its script succeeded; its stdout. */
function ran(r: Awaited<ReturnType<typeof run>>): string {
  assert(!(r instanceof SandboxSetupError), String(r));
  assertEquals(r.exitCode, 0, r.stderr);
  return r.stdout;
}

/** The run was refused at `step`, naming `link` and the fix. */
function refused(r: unknown, step: "host-link" | "dest-link", link?: string): SandboxSetupError {
  assert(r instanceof SandboxSetupError, `expected a refusal, got ${JSON.stringify(r)}`);
  assertEquals([r.step, r.errno], [step, "ELOOP"], r.message);
  if (link) assert(r.message.includes(`symlink "${link}"`), r.message);
  assertMatch(r.message, /Name the real path/);
  return r;
}

/** A first run with the workspace bound read-write plants links in it, as an attacker would. */
async function plant(ws: string, links: Record<string, string>): Promise<void> {
  const script = Object.entries(links).map(([name, to]) => `ln -s '${to}' /ws/${name}`);
  ran(await run([{ type: "bind", source: ws, target: "/ws" }], script.join(" && ")));
}

hostTest(
  "(b) a planted link makes neither a bind source nor its parent reach the host",
  async () => {
    const ws = workspace();
    const v = victim(0o1777); // like host /tmp
    await plant(ws, { cache: "/etc", out: v });
    const etc = await run([{ type: "bind", source: `${ws}/cache`, target: "/c", readOnly: true }]);
    const e = refused(etc, "host-link", `${ws}/cache`);
    assertEquals(e.path, `${ws}/cache`);
    assert(e.message.includes(`host path "${ws}/cache"`), e.message);
    // A link on the way, not at the end, is refused the same.
    const below = await run([{ type: "bind", source: `${ws}/cache/passwd`, target: "/p" }]);
    refused(below, "host-link", `${ws}/cache`);
    const out = await run([{ type: "bind", source: `${ws}/out`, target: "/o" }], "echo x > /o/x");
    assertEquals(entries(v), ["keep"]);
    refused(out, "host-link", `${ws}/out`);
  },
);

hostTest("(b) a planted upper dir link cannot send an overlay's writes to the host", async () => {
  const ws = workspace();
  const v = victim(0o755, MAPPED_UID); // say, another job's directory
  await plant(ws, { up: `../${v.split("/").pop()}` });
  const r = await run(
    [{ type: "overlay", source: dirOf(0o755), target: "/o", upper: `${ws}/up` }],
    "echo pwned > /o/x",
  );
  assertEquals(entries(v), ["keep"]);
  refused(r, "host-link", `${ws}/up`);
});

hostTest("(a) an upper dir is never made or chowned through a link a sandbox planted", async () => {
  const ws = workspace();
  const v = victim(); // root's 0755 as root: the old code made v/changes and gave it to nobody
  const lower = dirOf(0o755);
  await plant(ws, { link: v, "fresh.work": v });
  const before = Deno.statSync(v);
  const via = await run(
    [{ type: "overlay", source: lower, target: "/o", upper: `${ws}/link/changes` }],
    "echo pwned > /o/x",
  );
  // The upper is new, its work dir a planted link: refused before anything is written.
  const work = await run([{ type: "overlay", source: lower, target: "/o", upper: `${ws}/fresh` }]);
  const after = Deno.statSync(v);
  assertEquals([after.uid, after.gid, after.mode], [before.uid, before.gid, before.mode]);
  assertEquals(entries(v), ["keep"]);
  refused(via, "host-link", `${ws}/link`);
  refused(work, "host-link", `${ws}/fresh.work`);
});

hostTest("(c) a destination through a link planted in a shared rw bind is refused", async () => {
  const ws = workspace();
  const data = dirOf(0o755);
  Deno.writeTextFileSync(`${data}/passwd`, "attacker\n");
  await plant(ws, { out: "/etc", rel: "../../etc" });
  const shared: MountConfig = { type: "bind", source: ws, target: "/ws" };
  for (const via of ["out", "rel"]) {
    const over: MountConfig = { type: "bind", source: data, target: `/ws/${via}`, readOnly: true };
    const r = await run([shared, over], "cat /etc/passwd");
    if (!(r instanceof SandboxSetupError)) assert(r.stdout !== "attacker\n", "/etc replaced");
    assertEquals(refused(r, "dest-link").path, `/ws/${via}`);
  }
  // Nothing is created through the link either.
  refused(await run([shared, { type: "dir", target: "/ws/out/made" }]), "dest-link");
});

hostTest("a link in sticky, world-writable /tmp is not followed", async () => {
  const link = `/tmp/sandbox-ts-hostside-link-${crypto.randomUUID()}`;
  Deno.symlinkSync(dirOf(0o755), link);
  made.push(link);
  const r = await run([{ type: "bind", source: link, target: "/d", readOnly: true }]);
  refused(r, "host-link", link);
});

hostTest(
  "root: links in another user's or a group-writable directory are not followed",
  async () => {
    const data = dirOf(0o755);
    for (const [mode, owner] of [[0o755, 12345], [0o775, 0]] as const) {
      const d = dirOf(mode, owner);
      Deno.symlinkSync(data, `${d}/l`);
      const r = await run([{ type: "bind", source: `${d}/l`, target: "/d", readOnly: true }]);
      refused(r, "host-link", `${d}/l`);
    }
  },
  !isRoot && "only root can make directories of another owner",
);

hostTest(
  "a bind source through a trusted link still works (/bin, the caller's own link)",
  async () => {
    const data = dirOf(0o755);
    Deno.writeTextFileSync(`${data}/f`, "data\n");
    Deno.chmodSync(`${data}/f`, 0o644);
    const trusted = dirOf(0o755); // root's as root; the caller's own otherwise
    Deno.symlinkSync(data, `${trusted}/l`);
    Deno.symlinkSync("l", `${trusted}/rel`); // relative, and a link to a link
    Deno.symlinkSync(`../${data.split("/").pop()}`, `${trusted}/up`); // ".." in a link
    const r = await run(
      [
        { type: "bind", source: "/bin", target: "/b", readOnly: true },
        { type: "bind", source: `${trusted}/rel`, target: "/d", readOnly: true },
        { type: "bind", source: `${trusted}/up/f`, target: "/f", readOnly: true },
      ],
      "/b/sh -c 'cat /d/f /f'",
    );
    assertEquals(ran(r), "data\ndata\n");
  },
);

hostTest("a loop of trusted links ends at 40 links (ELOOP), not in a hang", async () => {
  const d = dirOf(0o755);
  Deno.symlinkSync("b", `${d}/a`);
  Deno.symlinkSync("a", `${d}/b`);
  const r = await run([{ type: "bind", source: `${d}/a`, target: "/d", readOnly: true }]);
  assert(r instanceof SandboxSetupError, String(r));
  assertEquals([r.step, r.errno, r.path], ["bind", "ELOOP", `${d}/a`]);
});

hostTest(
  "destinations through the launcher's own links and read-only mounts still work",
  async () => {
    const h = dirOf(0o755);
    Deno.mkdirSync(`${h}/d`);
    Deno.symlinkSync("d", `${h}/l`);
    const r = await run(
      [
        { type: "tmpfs", target: "/data" },
        { type: "symlink", source: "/data", target: "/alias" },
        { type: "tmpfs", target: "/alias/sub" },
        { type: "bind", source: h, target: "/h", readOnly: true },
        { type: "tmpfs", target: "/h/l" },
      ],
      "echo x > /alias/sub/f && test -f /data/sub/f && stat -f -c %T /data/sub /h/d",
    );
    assertEquals(ran(r), "tmpfs\ntmpfs\n");
  },
);

hostTest(
  "an overlay's upper and work dirs are made owned by the mapped uid, mode 0700",
  async () => {
    const upper = `${dirOf(0o755)}/changes`; // in a dir only the caller (root: root) writes
    ran(
      await run([{ type: "overlay", source: dirOf(0o755), target: "/o", upper }], "echo k > /o/n"),
    );
    for (const d of [upper, `${upper}.work`]) {
      const st = Deno.lstatSync(d);
      assert(st.isDirectory, d);
      assertEquals([st.uid, st.mode! & 0o7777], [MAPPED_UID, 0o700], d);
    }
    assertEquals(Deno.readTextFileSync(`${upper}/n`), "k\n");
  },
);

Deno.test("an overlay's kept dirs are host-dir ops, before every mount", () => {
  const config = validateConfig({
    mounts: [{ type: "overlay", source: "/srv/src", target: "/src", upper: "/srv/up" }],
  });
  const ops = filesystemPlan(config, { system: { "/usr": { dir: true } } }).mountOps;
  assertEquals(ops.slice(0, 2).map((op) => op.join(" ")), [
    "host-dir /srv/up 700",
    "host-dir /srv/up.work 700",
  ]);
  assert(ops.some((op) => op.join(" ") === "overlay-keep /srv/src /srv/up /srv/up.work /src"));
});

Deno.test("a refused host link is reported naming the path, the link and the fix", () => {
  const hex = (s: string) =>
    [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const status = `{"type":"host-path","path":"${hex("/ws/cache/é")}","link":"${hex("/ws/cache")}"}
{"type":"error","step":"host-link","op":3,"errno":40}
`;
  const ctx = {
    mode: "privileged" as const,
    enforced: {
      namespaces: [],
      seccomp: null,
      landlock: null,
      landlockDropped: [],
      limits: { backend: "none" as const, maxOutputBytes: 1, approximated: [], dropped: [] },
      uid: 1000,
    },
    opPath: () => "/from-the-op",
    launcherCode: 125,
    launcherSignal: null,
    aborted: false,
  };
  const e = assertThrows(() => decodeResult(status, ctx), SandboxSetupError);
  assertEquals([e.step, e.errno, e.path], ["host-link", "ELOOP", "/ws/cache/é"]);
  assertMatch(e.message, /symlink "\/ws\/cache" on the host path "\/ws\/cache\/é".*real path/);
});

hostTest(
  "Landlock alone: a planted link cannot widen a later run's rules to a host directory",
  async () => {
    const ws = workspace();
    const v = victim(0o777); // writable by anyone: only Landlock keeps the run out of it
    await plant(ws, { out: v });
    let r: SandboxResult & { stdout: string; stderr: string } | SandboxSetupError;
    try {
      r = await sandbox({ namespaces: false, mounts: [{ type: "bind", source: `${ws}/out` }] })
        .run("sh", ["-c", `echo pwned > ${v}/x`]);
    } catch (e) {
      if (!(e instanceof SandboxSetupError)) throw e;
      r = e;
    }
    assertEquals(entries(v), ["keep"]);
    assert(r instanceof SandboxSetupError, `expected a refusal, got ${JSON.stringify(r)}`);
    assertEquals([r.step, r.errno], ["landlock", "ELOOP"], r.message);
  },
  landlockAbi < 1 && "needs Landlock (the wall without namespaces)",
);
