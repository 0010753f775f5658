// The launcher's status records decoded into results and typed errors (lib/status.ts).
import { assertEquals, assertThrows } from "./_assert.ts";
import { decodeResult, exitCodeFor } from "../lib/status.ts";
import { ProgramNotFoundError, SandboxError, SandboxSetupError } from "../lib/errors.ts";

const ctx = {
  mode: "unprivileged" as const,
  enforced: {
    namespaces: [],
    seccomp: null,
    landlock: null,
    limits: { backend: "none" as const, maxOutputBytes: 1, approximated: [], dropped: [] },
    uid: 1000,
  },
  opPath: (i: number) => (i === 3 ? "/srv/data" : i === 9 ? "nope" : null),
  launcherCode: 0,
  launcherSignal: null,
  aborted: false,
};

Deno.test("status records decode into results and typed errors", () => {
  const exit = (extra: string) =>
    `{"type":"started"}\n{"type":"exit","code":-1,"signal":9,${extra}"wallUs":1500,"userUs":3,"sysUs":4,"maxRssKb":2}\n`;
  const timeout = decodeResult(exit('"timedOut":true,"killed":false,'), ctx);
  assertEquals([timeout.reason, timeout.timedOut, timeout.exitCode, timeout.signal], [
    "timeout",
    true,
    null,
    "SIGKILL",
  ]);
  assertEquals(exitCodeFor(timeout), 124);
  assertEquals([timeout.wallTimeMs, timeout.cpuTimeUs, timeout.memoryPeakBytes], [1.5, 7, 2048]);
  const killed = decodeResult(exit('"timedOut":false,"killed":true,'), ctx);
  assertEquals([killed.reason, killed.aborted], ["signaled", true]);
  assertEquals(exitCodeFor(killed), 137);
  const err = assertThrows(
    () => decodeResult('{"type":"error","step":"bind","op":3,"errno":2}\n', ctx),
    SandboxSetupError,
    'step "bind" for "/srv/data": ENOENT',
  );
  assertEquals([err.exitCode, err.errno, err.path], [125, "ENOENT", "/srv/data"]);
  const nf = assertThrows(
    () => decodeResult('{"type":"error","step":"exec","op":9,"errno":2}\n', ctx),
    ProgramNotFoundError,
  );
  assertEquals(nf.exitCode, 127);
  assertThrows(
    () => decodeResult("", { ...ctx, launcherCode: 137 }),
    SandboxError,
    "without a result",
  );
  // A cut last line (launcher killed mid-write) is ignored, not fatal.
  assertThrows(() => decodeResult('{"type":"exi', ctx), SandboxError, "without a result");
});

Deno.test("memoryPeakSource says where the peak comes from, never silently", () => {
  const v2 = { ...ctx.enforced, limits: { ...ctx.enforced.limits, backend: "cgroup-v2" as const } };
  const cgCtx = { ...ctx, enforced: v2 };
  const exit =
    `{"type":"exit","code":0,"signal":0,"timedOut":false,"killed":false,"wallUs":1000,"userUs":600,"sysUs":400,"maxRssKb":2048}\n`;
  const cgroup = (peak: number) =>
    `{"type":"cgroup","version":2,"memoryPeak":${peak},"oomKills":0,"pidsMaxHits":0,"cpuUs":900,"userUs":500,"sysUs":400}\n`;
  const withPeak = decodeResult(exit + cgroup(5 << 20), cgCtx);
  assertEquals([withPeak.memoryPeakBytes, withPeak.memoryPeakSource], [5 << 20, "cgroup"]);
  // cgroup v2 before Linux 5.19 has no memory.peak (the launcher reads 0): the largest process.
  const before519 = decodeResult(exit + cgroup(0), cgCtx);
  assertEquals([before519.memoryPeakBytes, before519.memoryPeakSource], [2 << 20, "rusage"]);
  assertEquals(before519.cpuTimeUs, 900);
  const noCgroup = decodeResult(exit, cgCtx);
  assertEquals([noCgroup.memoryPeakSource, noCgroup.cpuTimeUs], ["rusage", 1000]);
  const lost = decodeResult("", { ...cgCtx, aborted: true });
  assertEquals([lost.memoryPeakBytes, lost.memoryPeakSource], [0, "none"]);
});
