import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { filesystemFromFlags, splitColons } from "../lib/cli_args.ts";
import { filesystemPlan } from "../lib/mounts.ts";
import { validateConfig } from "../lib/policy.ts";

const host = {
  system: { "/usr": { dir: true as const }, "/bin": { link: "usr/bin" } },
  landlockAbi: 7,
};

Deno.test("bad mounts are rejected naming the field and what is allowed", () => {
  const cases: [unknown, string][] = [
    [[{ type: "nfs", target: "/x" }], 'Invalid mounts[0].type "nfs"'],
    [[{ type: "bind", source: "rel" }], 'Invalid mounts[0].source "rel"'],
    [[{ type: "bind", source: "/a/../etc" }], "without"],
    [[{ type: "bind", source: "/a", target: "/" }], "cannot replace"],
    [[{ type: "tmpfs", target: "/proc/x" }], "/proc or /dev"],
    [[{ type: "tmpfs", target: "/dev" }], "/proc or /dev"],
    [[{ type: "tmpfs", target: "/t", size: "0" }], "must not be 0"],
    [[{ type: "tmpfs", target: "/t", mode: 0o10000 }], "Invalid mounts[0].mode"],
    [[{ type: "bind", source: "/a", ro: true }], 'Unknown mounts[0] field "ro"'],
    [[{ type: "overlay", source: "/a", upper: "/a/up" }], "must not contain or be inside"],
    [[{ type: "symlink", source: "", target: "/l" }], "Invalid mounts[0].source"],
    [{ type: "bind" }, "Invalid mounts"],
  ];
  for (const [mounts, msg] of cases) {
    const e = assertThrows(() => validateConfig({ mounts } as never), Error, msg);
    assert(e instanceof TypeError || e instanceof RangeError, String(e));
  }
  assertThrows(() => validateConfig({ namespaces: "yes" } as never), RangeError, "namespaces");
  assertThrows(() => validateConfig({ landlock: "strict" } as never), RangeError, "landlock");
  assertThrows(() => validateConfig({ rootfs: "r" }), RangeError, "rootfs");
});

Deno.test("mounts: depth order, defaults replaced below a user mount, proc hardened", () => {
  const config = validateConfig({
    mounts: [
      { type: "bind", source: "/srv/a", target: "/data/a/b" },
      { type: "bind", source: "/srv", target: "/data", readOnly: true },
      { type: "tmpfs", target: "/tmp", size: "1M" },
      { type: "bind", source: "/my/etc", target: "/etc", readOnly: true },
    ],
  });
  const { mountOps } = filesystemPlan(config, host);
  const dst = (o: readonly string[]) =>
    ["ro-bind", "bind", "ro-bind-try", "symlink"].includes(o[0]!) ? o[2]! : o[1]!;
  const depths = mountOps.map((o) => dst(o).split("/").length);
  assertEquals(depths, [...depths].sort((a, b) => a - b));
  assert(
    mountOps.findIndex((o) => dst(o) === "/data") <
      mountOps.findIndex((o) => dst(o) === "/data/a/b"),
  );
  // The user's /tmp and /etc replace the defaults.
  assertEquals(mountOps.filter((o) => dst(o) === "/tmp"), [["tmpfs", "/tmp", "1048576", "755"]]);
  assert(!mountOps.some((o) => dst(o).startsWith("/etc/")));
  for (const p of ["/proc/kcore", "/proc/sysrq-trigger", "/proc/keys"]) {
    assert(mountOps.some((o) => o[0] === "mask" && o[1] === p), p);
  }
  assert(mountOps.some((o) => o[0] === "remount-ro" && o[1] === "/proc/sys"));
  assert(!mountOps.some((o) => dst(o).startsWith("/sys")));
});

Deno.test("rootfs: its entries replace the system dirs; proc, dev, tmp stay fresh", () => {
  const config = validateConfig({ rootfs: "/srv/root" });
  const plan = filesystemPlan(config, {
    ...host,
    rootfs: {
      usr: { dir: true },
      bin: { link: "usr/bin" },
      proc: { dir: true },
      "init.sh": { file: true },
    },
  });
  const ops = plan.mountOps.map((o) => o.join(" "));
  assert(ops.includes("ro-bind /srv/root/usr /usr"));
  assert(ops.includes("ro-bind /srv/root/init.sh /init.sh"));
  assert(ops.includes("symlink usr/bin /bin"));
  assert(ops.includes("proc /proc") && !ops.includes("ro-bind /srv/root/proc /proc"));
  assert(!ops.some((o) => o.includes("/etc/")));
  const rw = filesystemPlan(validateConfig({ rootfs: { path: "/srv/root", writable: true } }), {
    ...host,
    rootfs: { usr: { dir: true } },
  });
  assert(rw.mountOps.some((o) => o.join(" ") === "bind /srv/root/usr /usr"));
});

Deno.test("Landlock view inside namespaces follows the mounts", () => {
  const config = validateConfig({
    mounts: [
      { type: "bind", source: "/srv", target: "/data", readOnly: true },
      { type: "overlay", source: "/src", target: "/src" },
    ],
  });
  const ll = filesystemPlan(config, host).landlock.ops.map((o) => o.join(" "));
  assert(ll.includes("landlock-path / 8"), "the root: list only");
  assert(ll.includes("landlock-path /data 13"));
  assert(ll.includes("landlock-path /usr 13"));
  assert(ll.some((o) => o.startsWith("landlock-path /src ")));
  assert(ll.some((o) => o.startsWith("landlock-path /tmp ")));
  assert(ll.some((o) => o.startsWith("landlock-path /dev/null ")));
  // The default /etc (identity files, copies, read-only binds): one read rule, none per entry;
  // a user mount below it keeps its own.
  assert(ll.includes("landlock-path /etc 13"));
  assert(
    !ll.some((o) => o.startsWith("landlock-path /etc/") || o.startsWith("landlock-path-try /etc/")),
  );
  const own = filesystemPlan(
    validateConfig({ mounts: [{ type: "bind", source: "/srv", target: "/etc/app" }] }),
    host,
  ).landlock.ops.map((o) => o.join(" "));
  assert(own.includes("landlock-path /etc 13"));
  assert(
    own.some((o) => o.startsWith("landlock-path /etc/app ") && o !== "landlock-path /etc/app 13"),
  );
  // A user mount over /etc itself replaces the default entries, and the rule is its own.
  const whole = filesystemPlan(
    validateConfig({ mounts: [{ type: "bind", source: "/srv", target: "/etc" }] }),
    host,
  ).landlock.ops.map((o) => o.join(" ")).filter((o) => o.startsWith("landlock-path /etc"));
  assertEquals(whole.length, 1);
  assert(whole[0] !== "landlock-path /etc 13", whole[0]);
});

Deno.test("CLI flags: SRC[:DST], escaped colons, overlay upper, dir mode, symlink", () => {
  assertEquals(splitColons("a:b:c", 2), ["a", "b:c"]);
  assertEquals(splitColons("a\\:b\\\\:c", 3), ["a:b\\", "c"]);
  const c = filesystemFromFlags(
    new Map([
      ["bind", ["/w"]],
      ["ro-bind", ["/srv:/data"]],
      ["tmpfs", ["/s:1M"]],
      ["overlay", ["/a\\:b:/o:/keep"]],
      ["dir", ["/d:700"]],
      ["symlink", ["usr/bin:/sbin2"]],
      ["rootfs", ["/r"]],
      ["no-namespaces", [""]],
      ["landlock", ["required"]],
    ]),
    { mounts: [{ type: "tmpfs", target: "/from-file" }] },
  );
  assertEquals(c.mounts, [
    { type: "tmpfs", target: "/from-file" },
    { type: "bind", source: "/w", target: "/w", readOnly: false },
    { type: "bind", source: "/srv", target: "/data", readOnly: true },
    { type: "tmpfs", target: "/s", size: "1M" },
    { type: "overlay", source: "/a:b", target: "/o", upper: "/keep" },
    { type: "dir", target: "/d", mode: 0o700 },
    { type: "symlink", source: "usr/bin", target: "/sbin2" },
  ]);
  assertEquals([c.rootfs, c.namespaces, c.landlock], [
    { path: "/r", writable: false },
    false,
    "required",
  ]);
  assertThrows(() => filesystemFromFlags(new Map([["dir", ["/d:9"]]])), RangeError, "--dir");
  assertThrows(() => filesystemFromFlags(new Map([["symlink", ["x"]]])), RangeError, "--symlink");
});
