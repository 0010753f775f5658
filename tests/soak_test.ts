// A short soak in every test run (scripts/soak.ts --runs 1000 is the full one).
import { assert, assertEquals } from "./_assert.ts";
import { kernelTest } from "./_helpers.ts";

async function soak(runs: number, extra: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../scripts/soak.ts", import.meta.url).pathname,
      "--runs",
      String(runs),
      "--json",
      ...extra,
    ],
    stderr: "inherit",
  }).output();
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(report.unexpected, []);
  const { sockets: _a, ...after } = report.after;
  const { sockets: _b, ...before } = report.before;
  assertEquals(after, before);
  assert(
    report.after.sockets <= report.before.sockets + 2,
    `sockets grew: ${report.before.sockets} -> ${report.after.sockets}`,
  );
  assertEquals(Object.values(report.mix as Record<string, number>).reduce((a, b) => a + b), runs);
  assert(report.ok && out.code === 0);
}

kernelTest("soak: 120 mixed runs, 8 in flight, leave nothing behind", () => soak(120));

kernelTest(
  "soak: 120 mixed runs through warm launchers, closed, leave nothing behind",
  () => soak(120, ["--warm"]),
);
