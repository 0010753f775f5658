// Per-sandbox kernel budgets (lib/budgets.ts, launcher/budget.c): a run that grabs every inotify
// instance and pty it can leaves another live run and the host theirs.
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { isRoot, kernelTest, sandbox } from "./_helpers.ts";
import { budgetOps, DEFAULT_BUDGETS, validateBudgets } from "../lib/budgets.ts";
import { staticOps, validateConfig } from "../lib/policy.ts";
import { Sandbox, SandboxBuilder, type SandboxChild } from "../mod.ts";

const ABI = { arch: "x86_64" as const, system: { "/usr": { dir: true as const } }, etc: {} };

// Takes every inotify instance and pty it can, says how many, then holds them.
const HOG = `
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while libc.inotify_init() >= 0: n += 1
ino = ctypes.get_errno()
p = 0
try:
    while True:
        os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY); p += 1
except OSError as e:
    pty = e.errno
print(n, ino, p, pty, flush=True)
time.sleep(60)
`;

// One inotify instance and one pty, as an ordinary program would take them.
const ONE = `
import ctypes, os
fd = ctypes.CDLL(None, use_errno=True).inotify_init()
os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
print("ok" if fd >= 0 else "inotify errno %d" % ctypes.get_errno())
`;

/** The hog's first line: [inotify instances, errno, ptys, errno]. */
async function hogged(child: SandboxChild): Promise<number[]> {
  for await (const line of child.lines()) return line.split(" ").map(Number);
  throw new Error(`the hog printed nothing: ${(await child.status.catch((e) => e)).stderr}`);
}

/** The host (this test process) can still take an inotify instance and a pty. */
function hostUnaffected(): void {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.watchFs(dir).close(); // inotify_init1 + a watch
    Deno.openSync("/dev/ptmx", { read: true, write: true }).close();
  } finally {
    Deno.removeSync(dir);
  }
}

Deno.test("budgets are validated naming the field; ops skip what the kernel lacks", () => {
  assertEquals(validateBudgets(undefined), DEFAULT_BUDGETS);
  assertThrows(() => new Sandbox({ budgets: { ptys: 0 } }), RangeError, "budgets.ptys");
  assertThrows(
    () => new Sandbox({ budgets: { inotifyWatches: -1 } }),
    RangeError,
    "budgets.inotifyWatches",
  );
  assertThrows(
    () => new Sandbox({ budgets: { inotify: 1 } as Record<string, number> }),
    RangeError,
    'Unknown budgets field "inotify"',
  );
  assertThrows(
    () => new Sandbox({ budgets: { mqueueBytes: "lots" } }),
    RangeError,
    "budgets.mqueueBytes",
  );
  assertThrows(
    () => new Sandbox({ budgets: { mqueueBytes: 0 } }),
    RangeError,
    "budgets.mqueueBytes 0: must not be 0",
  );
  const ops = budgetOps(validateBudgets({ namespaces: 3 }), { dev: false });
  assertEquals(ops.filter((o) => o[0] === "userns-limit").length, 12);
  assert(ops.some((o) => o.join(" ") === "userns-limit time_namespaces 3"));
  assert(!ops.some((o) => o[0] === "pty-max"));
  // In the frame with namespaces; without them only the message-queue rlimit stays.
  const frame = (namespaces: boolean) =>
    staticOps(validateConfig({ namespaces }), {
      mode: "unprivileged",
      caller: { euid: 1000, egid: 1000 },
      host: { ...ABI, landlockAbi: 7, usernsLimits: ["inotify_instances"] },
    }).map((o) => o.join(" "));
  assert(frame(true).includes("userns-limit inotify_instances 128"));
  assert(frame(true).includes("pty-max 64"));
  assert(!frame(true).some((o) => o.startsWith("userns-limit fanotify")));
  assert(!frame(false).some((o) => o.startsWith("userns-limit") || o.startsWith("pty-max")));
  assert(!frame(false).some((o) => o.startsWith("rlimit msgqueue"))); // the caller's own
  const withMq = staticOps(validateConfig({ namespaces: false, budgets: { mqueueBytes: "64K" } }), {
    mode: "unprivileged",
    caller: { euid: 1000, egid: 1000 },
    host: { ...ABI, landlockAbi: 7 },
  });
  assert(withMq.some((o) => o.join(" ") === "rlimit msgqueue 65536 65536"));
});

kernelTest("the sandbox sees its budgets and cannot raise them", async () => {
  const budgets = { inotifyWatches: 1234, fanotifyGroups: 3, mqueueBytes: "64K" };
  const r = await sandbox({ budgets }).run("bash", [
    "-c",
    "cat /proc/sys/user/max_inotify_watches /proc/sys/user/max_fanotify_groups; " +
    "(echo 99999 > /proc/sys/user/max_inotify_watches) 2>/dev/null && exit 71; " +
    'test "$(cat /proc/sys/user/max_inotify_watches)" = 1234 || exit 72; ulimit -q',
  ]);
  assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
  assertEquals(r.stdout, "1234\n3\n65536\n"); // bash reports RLIMIT_MSGQUEUE in bytes
});

kernelTest(
  "an inotify and pty hog stays within its budget; another run and the host are unaffected",
  async () => {
    const hog = sandbox({ budgets: { inotifyInstances: 16, ptys: 8 } }).spawn("python3", [
      "-c",
      HOG,
    ]);
    try {
      const [instances, inoErr, ptys, ptyErr] = await hogged(hog);
      assertEquals([instances, inoErr, ptys, ptyErr], [16, 24, 8, 28]); // EMFILE, ENOSPC
      const other = await sandbox().run("python3", ["-c", ONE]);
      assertEquals(other.stdout, "ok\n", other.stderr);
      hostUnaffected();
    } finally {
      hog.kill();
      await hog.status.catch(() => {});
    }
  },
);

kernelTest(
  "with the default budgets a root caller's hog leaves host root its inotify instances",
  // An unprivileged caller's sandboxes are charged to the caller's own per-user budget too, so a
  // sandbox given the host's whole default (128) could take the caller's all.
  { skip: !isRoot && "the default equals an unprivileged caller's whole host budget" },
  async () => {
    const hog = sandbox().spawn("python3", ["-c", HOG]);
    try {
      const [instances, , ptys] = await hogged(hog);
      assertEquals([instances, ptys], [DEFAULT_BUDGETS.inotifyInstances, DEFAULT_BUDGETS.ptys]);
      // Charged to the run's own host uid, not to root: this process (root) still has all of its.
      hostUnaffected();
      const other = await sandbox().run("python3", ["-c", ONE]);
      assertEquals(other.stdout, "ok\n", other.stderr);
    } finally {
      hog.kill();
      await hog.status.catch(() => {});
    }
  },
);

kernelTest("a run that cannot get its budgets says so in enforced.budgetsDropped", async () => {
  // This kernel has every /proc/sys/user entry: with namespaces nothing is dropped.
  assertEquals((await sandbox().run("true")).enforced.budgetsDropped, []);
  // Landlock alone has no user namespace of its own: every budget is dropped, and listed.
  const alone = new SandboxBuilder("b", { namespaces: false, landlock: "best-effort" }).build();
  assert(alone.enforced.budgetsDropped?.includes("inotifyInstances"), "not listed");
  assert(alone.enforced.budgetsDropped?.includes("ptys"), "not listed");
});
