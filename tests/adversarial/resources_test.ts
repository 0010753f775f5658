// Resource attacks: each is attempted from inside, then the outcome inside and the state of
// the host afterwards are both checked.
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { exists, hostProcesses, kernelTest, marker, sandbox, waitFor } from "../_helpers.ts";
import { cgroupHost } from "../../lib/cgroups.ts";
import type { SandboxConfig } from "../../mod.ts";

const cgroup = cgroupHost(Deno.uid() ?? 0).version !== null;
// Without a writable cgroup (unprivileged here) memory and pids are rlimit approximations.
const limited = (c: SandboxConfig): SandboxConfig => cgroup ? c : { ...c, limits: "best-effort" };

kernelTest(
  "adversarial: fork bomb: stopped by the pids limit; no process survives on the host",
  async () => {
    const tag = marker();
    const r = await sandbox(limited({ maxPids: 32, timeout: "5s" })).run("sh", [
      "-c",
      `b() { sleep ${tag} & b & }; b; wait`,
    ]);
    assert(r.reason === "pids" || r.reason === "exited" || r.reason === "timeout", r.reason);
    assertMatch(r.stderr, /fork|resource/i);
    assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 0, 2000));
  },
);

kernelTest(
  "adversarial: memory bomb: killed (cgroup) or refused (rlimit); the host keeps its memory",
  async () => {
    const r = await sandbox(limited({ memory: "64M" })).run("python3", [
      "-c",
      "x = []\nwhile True: x.append(bytearray(16 << 20))",
    ]);
    if (cgroup) assertEquals([r.reason, r.oomKilled], ["memory", true]);
    else assertMatch(r.stderr, /MemoryError/);
    assert(r.memoryPeakBytes <= 80 << 20, `${r.memoryPeakBytes}`);
  },
);

kernelTest(
  "adversarial: disk fill of /tmp: ENOSPC at the tmpfs size; nothing lands on the host",
  async () => {
    // A name no one else uses: host /tmp itself changes all the time under other processes.
    const fill = `/tmp/sandbox-ts-fill-${crypto.randomUUID()}`;
    const r = await sandbox({ tmpSize: "8M" }).run("sh", [
      "-c",
      `dd if=/dev/zero of=${fill} bs=1M count=100 2>&1; ls ${fill} >&2; df -k /tmp | tail -1`,
    ]);
    assertMatch(r.stdout, /No space left on device/);
    assertMatch(r.stdout, /\s8192\s/);
    assertEquals(r.stderr.trim(), fill, "the file was written inside");
    assertEquals(exists(fill), false, "the fill landed in host /tmp");
  },
);

kernelTest(
  "adversarial: fd exhaustion: EMFILE at the open-files limit, the run ends normally",
  async () => {
    const r = await sandbox({ openFiles: 64 }).run("python3", [
      "-c",
      "import os\nn=0\ntry:\n  while True: os.open('/dev/null', 0); n+=1\nexcept OSError as e: print(e.errno)",
    ]);
    assertEquals([r.stdout, r.exitCode], ["24\n", 0]);
  },
);

kernelTest(
  "adversarial: output flood: stopped at max-output with Deno's memory bounded",
  async () => {
    const r = await sandbox({ maxOutput: "1M" }).run("sh", ["-c", "cat /dev/zero"]);
    assertEquals(r.reason, "output-limit");
    assertEquals(r.stdout.length, 1 << 20);
  },
);

kernelTest("adversarial: busy loop: killed at the CPU-time limit", async () => {
  const r = await sandbox({ cpuTime: "1s", timeout: "10s" }).run("python3", [
    "-c",
    "while True: pass",
  ]);
  assertEquals(r.reason, "cpu-time");
});

kernelTest("adversarial: sleep past the timeout: killed on time", async () => {
  const r = await sandbox({ timeout: "200ms" }).run("sleep", ["60"]);
  assertEquals(r.reason, "timeout");
  assert(r.wallTimeMs < 1000, `${r.wallTimeMs}`);
});

kernelTest("adversarial: setsid + double fork daemon: dies with the run", async () => {
  const tag = marker();
  const r = await sandbox().run("sh", [
    "-c",
    `setsid sh -c '(trap "" HUP TERM; sleep ${tag}) & exit 0' & sleep 0.1; exit 0`,
  ]);
  assertEquals(r.exitCode, 0);
  assert(await waitFor(() => hostProcesses(`sleep ${tag}`).length === 0, 2000));
});
