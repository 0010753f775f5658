// The synthesized identity: passwd, group and hosts with no host accounts, a writable home,
// /run and /var/tmp, and the environment that goes with them.
import { assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { kernelTest, sandbox } from "./_helpers.ts";
import { identityEnv, identityFiles } from "../lib/identity.ts";
import { validateConfig } from "../lib/policy.ts";

Deno.test("identityFiles: root, the sandbox user and nobody; localhost and the hostname", () => {
  const f = identityFiles({ user: "sandbox", hostname: "box" });
  assertEquals(f.passwd.trim().split("\n").map((l) => l.split(":")[0]), [
    "root",
    "sandbox",
    "nobody",
  ]);
  assertEquals(f.group.trim().split("\n").map((l) => l.split(":")[0]), [
    "root",
    "sandbox",
    "nogroup",
  ]);
  assertMatch(f.hosts, /^127\.0\.0\.1\tlocalhost\n127\.0\.1\.1\tbox\n/);
  assertEquals(identityEnv("bob"), {
    HOME: "/home/bob",
    USER: "bob",
    LOGNAME: "bob",
    SHELL: "/bin/sh",
  });
});

Deno.test("user: a POSIX user name, not root or nobody", () => {
  assertEquals(validateConfig({}).user, "sandbox");
  assertEquals(validateConfig({ user: "build_1" }).user, "build_1");
  for (const bad of ["root", "nobody", "Alice", "a b", "", "1x", "a".repeat(33)]) {
    assertThrows(() => validateConfig({ user: bad }), RangeError, "Invalid user");
  }
  assertThrows(() => validateConfig({ user: 7 as unknown as string }), TypeError);
});

kernelTest("passwd, group and hosts are synthesized: no host account is visible", async () => {
  const r = await sandbox({ hostname: "box" }).run("sh", [
    "-c",
    "cat /etc/passwd; echo --; cat /etc/group; echo --; cat /etc/hosts; echo --; " +
    "id; id -un; getent passwd 0 | cut -d: -f1; getent hosts box; " +
    "getent passwd daemon && exit 71; touch /etc/passwd 2>/dev/null && exit 72; exit 0",
  ]);
  assertEquals(r.exitCode, 0, r.stderr);
  const [passwd, group, hosts, rest] = r.stdout.split("--\n");
  assertEquals(passwd, identityFiles({ user: "sandbox", hostname: "box" }).passwd);
  assertEquals(group, identityFiles({ user: "sandbox", hostname: "box" }).group);
  assertEquals(hosts, identityFiles({ user: "sandbox", hostname: "box" }).hosts);
  assertMatch(rest!, /^uid=1000\(sandbox\) gid=1000\(sandbox\) groups=1000\(sandbox\)/);
  assertMatch(rest!, /\nsandbox\nroot\n127\.0\.1\.1 +box\n$/);
});

kernelTest("HOME is a private writable home; /run and /var/tmp are writable", async () => {
  const r = await sandbox({ user: "alice" }).run("sh", [
    "-c",
    'test "$HOME" = /home/alice -a "$USER" = alice -a "$LOGNAME" = alice -a "$SHELL" = /bin/sh || exit 71; ' +
    'cd && test "$(stat -c %U:%a .)" = alice:700 || exit 72; echo x > ~/.profile || exit 73; ' +
    "mkdir /run/app && echo 1 > /run/app/pid || exit 74; echo y > /var/tmp/f && test -f /tmp/f || exit 75; " +
    'test "$(ls -A /home)" = alice || exit 76; test "$(stat -f -c %T ~)" = tmpfs || exit 77; ' +
    "git config --global user.name A 2>/dev/null; exit 0",
  ]);
  assertEquals([r.exitCode, r.stderr], [0, ""]);
});

kernelTest("a rootfs or a bind over /etc keeps its own identity files", async () => {
  const r = await sandbox({
    mounts: [{ type: "bind", source: "/etc", target: "/etc", readOnly: true }],
  })
    .run("sh", ["-c", "grep -c . /etc/passwd"]);
  assertEquals(r.exitCode, 0, r.stderr);
  // The host's passwd (more than the three synthesized accounts).
  assertEquals(Number(r.stdout) > 3, true, r.stdout);
});
