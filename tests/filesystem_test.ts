// The filesystem policy on the real kernel: binds, tmpfs, overlay, rootfs, the hardened default
// root. Each probe attempts the forbidden thing and exits with a sentinel only when it held.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  exists,
  isRoot,
  kernelTest,
  pinned,
  PINNED_UID,
  sandbox as anySandbox,
  sh as anySh,
} from "./_helpers.ts";
import { type MountConfig, type SandboxConfig, SandboxSetupError } from "../mod.ts";

// Root's runs are pinned to one host uid (PINNED_UID) that the tests hand host files to: an
// overlay copies up only files of a mapped owner, and binds are not id-mapped yet.
const sandbox = (config?: SandboxConfig) => anySandbox(pinned(config));
const sh = (script: string, config?: SandboxConfig) => anySh(script, pinned(config));

/** A host directory the sandbox may write to (owned by the uid it maps to). */
function hostDir(files: Record<string, string> = {}, name = "fs"): string {
  const dir = Deno.makeTempDirSync({ prefix: `sandbox-ts-${name}-` });
  Deno.chmodSync(dir, 0o755);
  for (const [f, text] of Object.entries(files)) {
    Deno.mkdirSync(`${dir}/${f}`.replace(/\/[^/]*$/, ""), { recursive: true });
    Deno.writeTextFileSync(`${dir}/${f}`, text);
  }
  if (isRoot) chownR(dir, PINNED_UID);
  return dir;
}

function chownR(path: string, uid: number): void {
  Deno.chownSync(path, uid, uid);
  if (Deno.lstatSync(path).isDirectory) {
    for (const e of Deno.readDirSync(path)) chownR(`${path}/${e.name}`, uid);
  }
}

function rm(...paths: string[]): void {
  for (const p of paths) {
    makeRemovable(p);
    Deno.removeSync(p, { recursive: true });
  }
}

/** overlayfs leaves a mode-0 "work" directory in its work dir. */
function makeRemovable(path: string): void {
  const st = Deno.lstatSync(path);
  if (!st.isDirectory) return;
  try {
    Deno.chmodSync(path, 0o700);
  } catch {
    // not ours: removal reports it
  }
  for (const e of Deno.readDirSync(path)) makeRemovable(`${path}/${e.name}`);
}

function shWith(mounts: MountConfig[], script: string, extra = {}) {
  return sh(script, { mounts, ...extra });
}

kernelTest("a read-only bind is not writable, and its files are readable", async () => {
  const dir = hostDir({ "f": "host" });
  try {
    const r = await shWith(
      [{ type: "bind", source: dir, target: "/data", readOnly: true }],
      'test "$(cat /data/f)" = host || exit 71; echo x > /data/f 2>/dev/null && exit 72; ' +
        "touch /data/new 2>/dev/null && exit 73; rm /data/f 2>/dev/null && exit 74; exit 0",
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assertEquals(Deno.readTextFileSync(`${dir}/f`), "host");
  } finally {
    rm(dir);
  }
});

kernelTest("writes to a read-write bind reach the host; binds are nosuid,nodev", async () => {
  const dir = hostDir();
  try {
    const r = await shWith(
      [{ type: "bind", source: dir, target: "/work" }],
      "echo from-sandbox > /work/out && grep -q ' /work [^ ]* rw,nosuid,nodev' /proc/self/mounts",
    );
    assertEquals(r.exitCode, 0, r.stderr);
    assertEquals(Deno.readTextFileSync(`${dir}/out`), "from-sandbox\n");
  } finally {
    rm(dir);
  }
});

kernelTest("a rw bind under a ro parent works, and the reverse (depth order)", async () => {
  const ro = hostDir({ "sub/keep": "k" }, "ro");
  const rw = hostDir({ "sub/keep": "k" }, "rw");
  try {
    // Given deepest-first: the launcher still mounts parents first.
    const r = await shWith(
      [
        { type: "bind", source: `${ro}/sub`, target: "/p/sub" },
        { type: "bind", source: ro, target: "/p", readOnly: true },
        { type: "bind", source: `${rw}/sub`, target: "/q/sub", readOnly: true },
        { type: "bind", source: rw, target: "/q" },
      ],
      "echo a > /p/sub/w || exit 71; touch /p/x 2>/dev/null && exit 72; " +
        "echo b > /q/w || exit 73; touch /q/sub/x 2>/dev/null && exit 74; exit 0",
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assertEquals(Deno.readTextFileSync(`${ro}/sub/w`), "a\n");
    assertEquals(Deno.readTextFileSync(`${rw}/w`), "b\n");
  } finally {
    rm(ro, rw);
  }
});

kernelTest(
  "overlay: writes are visible inside, invisible on the host (paths with , : \\)",
  async () => {
    const parent = hostDir({}, "ovl");
    const lower = `${parent}/low,er:x\\y`;
    Deno.mkdirSync(lower);
    Deno.writeTextFileSync(`${lower}/f`, "lower\n");
    if (isRoot) chownR(parent, PINNED_UID);
    try {
      const r = await shWith(
        [{ type: "overlay", source: lower, target: "/o" }],
        "echo more >> /o/f && echo new > /o/n && mkdir /o/d && rm /o/f && echo again > /o/f && " +
          'test "$(cat /o/f /o/n)" = "again\nnew" && stat -f -c %T /o',
      );
      assertEquals(r.exitCode, 0, r.stderr);
      assertEquals(r.stdout.trim(), "overlayfs");
      assertEquals([...Deno.readDirSync(lower)].map((e) => e.name), ["f"]);
      assertEquals(Deno.readTextFileSync(`${lower}/f`), "lower\n");
    } finally {
      rm(parent);
    }
  },
);

kernelTest("overlay with an upper dir keeps the changes there, not in the lower dir", async () => {
  const lower = hostDir({ f: "lower\n" }, "low");
  const parent = hostDir({}, "up");
  const upper = `${parent}/changes`;
  try {
    const sb = sandbox({ mounts: [{ type: "overlay", source: lower, target: "/o", upper }] });
    const r = await sb.run("sh", ["-c", "echo kept > /o/n && echo v2 > /o/f"]);
    assertEquals(r.exitCode, 0, r.stderr);
    assertEquals(Deno.readTextFileSync(`${upper}/n`), "kept\n");
    assertEquals(Deno.readTextFileSync(`${upper}/f`), "v2\n");
    assertEquals(Deno.readTextFileSync(`${lower}/f`), "lower\n");
    assert(!exists(`${lower}/n`));
    // The next run sees the kept state.
    const again = await sb.run("cat", ["/o/n", "/o/f"]);
    assertEquals(again.stdout, "kept\nv2\n");
  } finally {
    rm(lower, parent);
  }
});

kernelTest("a tmpfs size is enforced (ENOSPC)", async () => {
  const r = await shWith(
    [{ type: "tmpfs", target: "/small", size: "1M" }],
    "head -c 2000000 /dev/zero > /small/big && exit 71; " +
      'test "$(stat -c %s /small/big)" -le 1048576 || exit 72; exit 0',
  );
  assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
  assertMatch(r.stderr, /No space left on device/);
});

kernelTest("dirs and symlinks are created inside the root; cwd can be a mount", async () => {
  const dir = hostDir({ "x": "y" });
  try {
    const r = await sandbox({
      cwd: "/srv/app",
      mounts: [
        { type: "bind", source: dir, target: "/srv/app", readOnly: true },
        { type: "dir", target: "/var/cache/a", mode: 0o700 },
        { type: "symlink", source: "/srv/app/x", target: "/opt/link" },
      ],
    }).run("sh", ["-c", "pwd; cat x /opt/link; echo; stat -c %a /var/cache/a"]);
    assertEquals(r.stdout, "/srv/app\nyy\n700\n", r.stderr);
  } finally {
    rm(dir);
  }
});

/** Copies a host program and the libraries ldd names into root, at the same paths. */
async function copyWithLibs(root: string, program: string): Promise<void> {
  const out = await new Deno.Command("ldd", { args: [program], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const paths = [program, ...[...text.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!)];
  for (const p of paths) {
    Deno.mkdirSync(`${root}${p.replace(/\/[^/]*$/, "")}`, { recursive: true });
    Deno.copyFileSync(p, `${root}${p}`);
    Deno.chmodSync(`${root}${p}`, 0o755);
  }
}

kernelTest("a rootfs built from host binaries replaces the system dirs, read-only", async () => {
  const root = Deno.makeTempDirSync({ prefix: "sandbox-ts-rootfs-" });
  Deno.chmodSync(root, 0o755);
  try {
    await copyWithLibs(root, "/bin/sh");
    Deno.mkdirSync(`${root}/etc`);
    Deno.writeTextFileSync(`${root}/etc/marker`, "rootfs\n");
    Deno.mkdirSync(`${root}/proc`); // replaced by a fresh proc
    const sb = sandbox({ rootfs: root });
    const r = await sb.run("/bin/sh", [
      "-c",
      'read m < /etc/marker; test "$m" = rootfs || exit 71; test -e /usr/bin/python3 && exit 72; ' +
      "test -e /etc/passwd && exit 73; (echo x > /etc/new) 2>/dev/null && exit 74; " +
      "test -d /proc/self || exit 75; (echo x > /tmp/ok) || exit 76; exit 0",
    ]);
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assert(!exists(`${root}/etc/new`));
    if (isRoot) chownR(root, PINNED_UID);
    const rw = await sandbox({ rootfs: { path: root, writable: true } }).run("/bin/sh", [
      "-c",
      "echo w > /etc/new",
    ]);
    assertEquals(rw.exitCode, 0, rw.stderr);
    assertEquals(Deno.readTextFileSync(`${root}/etc/new`), "w\n");
  } finally {
    rm(root);
  }
});

kernelTest(
  "a symlink planted in a writable bind cannot redirect a write or a mount to the host",
  async () => {
    const work = hostDir({}, "work");
    const victim = hostDir({}, "victim");
    Deno.chmodSync(victim, 0o777); // the attack would have the permission: only the walls stop it
    try {
      const plant = await shWith(
        [{ type: "bind", source: work, target: "/w" }],
        `ln -s ${victim} /w/esc && ln -s /oldroot${victim} /w/esc2 && ln -s ../../../..${victim} /w/esc3 && ` +
          `(echo x > /w/esc/pwn) 2>/dev/null && exit 71; (echo x > /w/esc3/pwn) 2>/dev/null && exit 72; exit 0`,
      );
      assertEquals(plant.exitCode, 0, `probe ${plant.exitCode}: ${plant.stderr}`);
      // A later run whose mounts go through the planted links: resolved inside the new root.
      for (const via of ["esc", "esc2", "esc3"]) {
        for (
          const m of [
            { type: "tmpfs", target: `/w/${via}/inner` },
            { type: "dir", target: `/w/${via}/made` },
            { type: "symlink", source: "x", target: `/w/${via}/link` },
            { type: "bind", source: work, target: `/w/${via}/bound` },
          ] as MountConfig[]
        ) {
          try {
            await shWith([{ type: "bind", source: work, target: "/w" }, m], "true");
          } catch (e) {
            assert(e instanceof SandboxSetupError, String(e));
          }
        }
      }
      assertEquals([...Deno.readDirSync(victim)].map((e) => e.name), []);
    } finally {
      rm(work, victim);
    }
  },
);

kernelTest("a hard link to /etc/passwd and mknod fail (fs walls, seccomp off)", async () => {
  const dir = hostDir();
  try {
    const r = await shWith(
      [{ type: "bind", source: dir, target: "/w" }],
      "ln /etc/passwd /tmp/p 2>/dev/null && exit 71; ln /etc/passwd /w/p 2>/dev/null && exit 72; " +
        "mknod /tmp/n c 1 3 2>/dev/null && exit 73; mknod /w/n c 1 3 2>/dev/null && exit 74; " +
        "mknod /dev/n c 1 3 2>/dev/null && exit 75; mkfifo /w/fifo || exit 76; exit 0",
      { seccomp: "none" },
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assert(!exists(`${dir}/p`) && !exists(`${dir}/n`));
  } finally {
    rm(dir);
  }
});

kernelTest(
  "/proc: kcore, sysrq-trigger and keys unusable, /proc/sys read-only; /sys absent",
  async () => {
    const r = await sh(
      "cat /proc/kcore > /dev/null 2>&1 && exit 71; (echo h > /proc/sysrq-trigger) 2>/dev/null && exit 72; " +
        "cat /proc/keys > /dev/null 2>&1 && exit 73; (echo x > /proc/sys/kernel/hostname) 2>/dev/null && exit 74; " +
        "grep -q ' /proc/sys proc ro,' /proc/self/mounts || exit 75; test -e /sys/kernel && exit 76; " +
        "cat /proc/self/status > /dev/null || exit 77; cat /proc/meminfo > /dev/null || exit 78; exit 0",
      { seccomp: "none" },
    );
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
  },
);

kernelTest("a missing bind source fails the setup naming the path", async () => {
  try {
    await shWith([{ type: "bind", source: "/no/such/dir", target: "/x" }], "true");
    throw new Error("expected a setup error");
  } catch (e) {
    assert(e instanceof SandboxSetupError, String(e));
    assertEquals([e.step, e.errno, e.exitCode], ["bind", "ENOENT", 125]);
  }
});

kernelTest("the /etc view: what /usr links into /etc resolves, secrets are absent", async () => {
  // Every symlink under /usr into /etc that resolves on the host, except the two secrets' paths.
  const find = await new Deno.Command("find", {
    args: ["/usr", "-maxdepth", "7", "-type", "l", "-lname", "/etc/*"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const secret = ["/etc/ssl/private", "/etc/environment"];
  const links = new TextDecoder().decode(find.stdout).split("\n").filter((l) => {
    if (!l) return false;
    try {
      Deno.statSync(l);
      return !secret.some((s) => Deno.readLinkSync(l).startsWith(s));
    } catch {
      return false; // dangling on the host too
    }
  });
  const r = await sandbox().run("sh", [
    "-c",
    'for l in "$@"; do test -e "$l" || echo "missing $l"; done; ' +
    "for s in shadow gshadow sudoers sudoers.d ssh ssl/private environment subuid; do " +
    'test -e "/etc/$s" && echo "leak $s"; done; true',
    "sh",
    ...links,
  ]);
  assertEquals([r.exitCode, r.stdout], [0, ""], r.stderr);
  // What Debian links there, where installed: the JDK's security files, certificates, alternatives.
  const r2 = await sh(
    "test -e /etc/ssl/certs/ca-certificates.crt -a -e /etc/ld.so.cache -a -e /etc/localtime || exit 71; " +
      "test ! -e /usr/lib/jvm/default-java/conf/security/java.security -o " +
      "-r /usr/lib/jvm/default-java/conf/security/java.security || exit 72; exit 0",
  );
  assertEquals(r2.exitCode, 0, `probe ${r2.exitCode}`);
});
