// A short soak in every test run (scripts/soak.ts --runs 1000 is the full one).
import { assert, assertEquals } from "./_assert.ts";
import { kernelTest } from "./_helpers.ts";

kernelTest("soak: 120 mixed runs, 8 in flight, leave nothing behind", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../scripts/soak.ts", import.meta.url).pathname,
      "--runs",
      "120",
      "--json",
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
  assertEquals(Object.values(report.mix as Record<string, number>).reduce((a, b) => a + b), 120);
  assert(report.ok && out.code === 0);
});
