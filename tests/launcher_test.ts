// The launcher's input boundary: the frame and the ops. Everything malformed fails closed with
// exit 125 and a message naming the problem.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { kernelTest, LAUNCHER, sandbox, shTokens } from "./_helpers.ts";
import { encodeFrame } from "../lib/config.ts";
import { LAUNCHER_SOURCES } from "../lib/launcher.ts";

async function launch(input: Uint8Array | null, args: string[] = []) {
  const child = new Deno.Command(LAUNCHER, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  if (input) await w.write(input).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

function frameOf(tokens: string[]): Uint8Array {
  return encodeFrame(tokens.map((tok) => [tok] as const));
}

const status = () => `${Deno.makeTempDirSync()}/status`;

kernelTest("an unknown op fails closed naming it", async () => {
  const r = await launch(frameOf(["status", status(), "frobnicate", "exec", "/bin/true"]));
  assertEquals(r.code, 125);
  assertMatch(r.stderr, /unknown op: op "frobnicate"/);
});

kernelTest("a repeated single-use op fails closed", async () => {
  const r = await launch(frameOf(["status", status(), "exec", "/bin/true", "exec", "/bin/true"]));
  assertEquals(r.code, 125);
  assertMatch(r.stderr, /repeated single-use op: op "exec"/);
});

kernelTest("missing arguments, bad numbers, relative paths and bad BPF fail closed", async () => {
  const cases: [string[], RegExp][] = [
    [["status", status(), "exec", "/bin/true", "timeout"], /missing arguments for: op "timeout"/],
    [["status", status(), "timeout", "12x", "exec", "/bin/true"], /timeout must be/],
    [["status", status(), "timeout", "0", "exec", "/bin/true"], /timeout must be/],
    [["status", status(), "unshare", "time", "exec", "/bin/true"], /unknown namespace/],
    [["status", status(), "unshare", "pid", "unshare", "pid", "exec", "x"], /repeated namespace/],
    [
      ["status", status(), "unshare", "mount", "newroot", "ro-bind", "usr", "/usr", "exec", "x"],
      /source must be/,
    ],
    [[
      "status",
      status(),
      "unshare",
      "mount",
      "newroot",
      "tmpfs",
      "/a/../b",
      "0",
      "755",
      "exec",
      "x",
    ], /destination must be/],
    [["status", status(), "seccomp", "0011", "exec", "x"], /seccomp program/],
    [["status", status(), "seccomp", "zz".repeat(8), "exec", "x"], /seccomp program/],
    [["status", status(), "rlimit", "nofile", "10", "5", "exec", "x"], /soft <= hard/],
    [["status", status(), "env", "NOEQUALS", "exec", "x"], /env must be KEY=VALUE/],
    [["status", status(), "ro-bind", "/usr", "/usr", "exec", "x"], /mounts need: op "newroot"/],
    [["status", status()], /missing required op: op "exec"/],
    [["exec", "/bin/true"], /missing required op: op "status"/],
  ];
  for (const [tokens, re] of cases) {
    const r = await launch(frameOf(tokens));
    assertEquals(r.code, 125, tokens.join(" "));
    assertMatch(r.stderr, re);
  }
});

kernelTest("a malformed or oversized frame fails closed", async () => {
  const bad = await launch(new TextEncoder().encode("XXXX\x04\0\0\0abc\0"));
  assertEquals(bad.code, 125);
  assertMatch(bad.stderr, /malformed frame/);
  const huge = new Uint8Array(8);
  huge.set([0x53, 0x42, 0x58, 0x31, 0xff, 0xff, 0xff, 0x7f]);
  const big = await launch(huge);
  assertEquals(big.code, 125);
  assertMatch(big.stderr, /oversized frame/);
  const truncated = frameOf(["status", status(), "exec", "/bin/true"]).subarray(0, 20);
  assertMatch((await launch(truncated)).stderr, /truncated/);
  const unterminated = new Uint8Array([0x53, 0x42, 0x58, 0x31, 3, 0, 0, 0, 0x61, 0x62, 0x63]);
  assertMatch((await launch(unterminated)).stderr, /not terminated/);
  assertEquals((await launch(null)).code, 125);
});

kernelTest(
  "the same tokens work as argv, and bytes after the frame are the target's stdin",
  async () => {
    const dir = Deno.makeTempDirSync();
    const viaArgv = await launch(null, [
      "status",
      `${dir}/a`,
      ...shTokens("exit 5"),
    ]);
    assertEquals(viaArgv.code, 5);
    const frame = frameOf([
      "status",
      `${dir}/b`,
      ...shTokens('read x; test "$x" = after'),
    ]);
    const input = new Uint8Array([...frame, ...new TextEncoder().encode("after\n")]);
    assertEquals((await launch(input)).code, 0);
    const records = Deno.readTextFileSync(`${dir}/b`).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(records[0], { type: "started" });
    assertEquals(records[1].type, "exit");
    assertEquals(records[1].code, 0);
    Deno.removeSync(dir, { recursive: true });
  },
);

kernelTest(
  "the status file is created exclusively (no clobbering, no symlink following)",
  async () => {
    const dir = Deno.makeTempDirSync();
    Deno.symlinkSync("/tmp/should-not-exist", `${dir}/status`);
    const r = await launch(frameOf(["status", `${dir}/status`, "exec", "/bin/true"]));
    assertEquals(r.code, 125);
    assertMatch(r.stderr, /status/);
    Deno.removeSync(dir, { recursive: true });
  },
);

kernelTest("--features reports kernel facts as JSON", async () => {
  const out = await new Deno.Command(LAUNCHER, { args: ["--features"] }).output();
  const f = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(typeof f.userns, "boolean");
  assertEquals(f.euid, Deno.uid());
  assert(f.seccomp.includes("kill_process"));
});

kernelTest("LAUNCHER_SOURCES lists exactly the launcher's sources, in byte order", () => {
  const dir = new URL("../launcher/", import.meta.url).pathname;
  const files = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && /^(Makefile|.*\.[ch])$/.test(e.name))
    .map((e) => e.name)
    .sort();
  // Byte order, as the Makefile's $(sort) hashes them for the build id.
  assertEquals(files, LAUNCHER_SOURCES);
});

kernelTest("when fds cannot be closed the launcher refuses to run (no leaked fds)", async () => {
  // The launcher run inside a sandbox whose filter answers close_range with EPERM: it must stop
  // with exit 125 rather than hand fds on. (ENOSYS/EINVAL, old kernels, take the slow path.)
  const dir = new URL("../launcher/", import.meta.url).pathname;
  const r = await sandbox({
    mounts: [{ type: "bind", source: dir, target: "/l", readOnly: true }],
    seccomp: { profile: "compute", deny: ["close_range"], action: "errno" },
  }).run("/l/sandbox-launcher", ["status", "/tmp/s", "exec", "/bin/true"]);
  assertEquals(r.exitCode, 125);
  assertMatch(r.stderr, /close-fds: Operation not permitted/);
  assertEquals(r.seccompViolation?.syscall, "close_range");
});

kernelTest("stdio-fifos: a name in the stdio dir that is not a FIFO is refused", async () => {
  // FIFOs found there are used (a warm launcher makes them ahead, lib/warm.ts); anything else
  // would hand the target a file as its stdout.
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/stdout`, "");
    const r = await launch(
      frameOf(["status", status(), "stdio-fifos", dir, "null", "exec", "/bin/true"]),
    );
    assertEquals(r.code, 125);
    assertMatch(r.stderr, new RegExp(`stdio ${dir}: Invalid argument`));
    assertEquals(Deno.readTextFileSync(`${dir}/stdout`), "");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

kernelTest("a file made after a mount covered its directory lands on that mount", async () => {
  // Init looks a directory up once for consecutive files, symlinks and copies in it
  // (launcher/mount.c dst_parent()); a mount on that directory must end the reuse.
  const dir = Deno.makeTempDirSync();
  Deno.chmodSync(dir, 0o777);
  const uid = String(Deno.uid());
  const gid = String(Deno.gid());
  try {
    const out = await new Deno.Command(LAUNCHER, {
      args: [
        "status",
        `${dir}/status`,
        "unshare",
        "user",
        "unshare",
        "mount",
        "uid-map",
        "0",
        uid,
        "gid-map",
        "0",
        gid,
        "newroot",
        "ro-bind",
        "/usr",
        "/usr",
        "symlink",
        "usr/bin",
        "/bin",
        "symlink",
        "usr/lib",
        "/lib",
        "symlink",
        "usr/lib64",
        "/lib64",
        "file",
        "/opt/a",
        "A",
        "tmpfs",
        "/opt",
        "1048576",
        "755",
        "file",
        "/opt/b",
        "B",
        "symlink",
        "b",
        "/opt/c",
        ...shTokens("ls /opt; cat /opt/c"),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(new TextDecoder().decode(out.stdout), "b\nc\nB");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
