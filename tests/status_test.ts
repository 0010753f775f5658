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
