// bench/bench.ts in quick mode: it runs to the end and writes a well-formed results JSON with every
// section. No timing assertions (the machine is noisy); only shape and sanity.
import { assert, assertEquals } from "./_assert.ts";
import { kernelTest, ROOT } from "./_helpers.ts";

kernelTest("bench --quick writes a well-formed results JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sandbox-bench-test-" });
  try {
    const out = `${dir}/results.json`;
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}bench/bench.ts`, "--quick", "--iterations", "3", "--out", out],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(res.stdout);
    const stderr = new TextDecoder().decode(res.stderr);
    assertEquals(res.code, 0, `bench failed:\n${stdout}\n${stderr}`);
    for (const word of ["p50", "(a)", "(b)", "(e)", "(f)", "(g)", "ratios"]) {
      assert(stdout.includes(word), `table lacks "${word}":\n${stdout}`);
    }
    assert(/^(PASS|MISS|SKIP) {2}\(b\)\/\(c\) p50/m.test(stdout), `no target verdicts:\n${stdout}`);

    const r = JSON.parse(await Deno.readTextFile(out));
    for (
      const key of [
        "version",
        "host",
        "options",
        "bwrap",
        "bwrapDefaults",
        "skipped",
        "latency",
        "ratios",
        "throughput",
        "timeout",
        "launcherRss",
        "targets",
      ]
    ) {
      assert(key in r, `results lack "${key}"`);
    }
    assertEquals(r.options.quick, true);
    assertEquals(Object.keys(r.latency).sort(), ["a", "b", "c", "d", "s"]);
    for (const key of ["a", "b"]) {
      const s = r.latency[key];
      assertEquals(s.n, 3, `latency.${key}.n`);
      assertEquals(s.errors, 0, `latency.${key} errors: ${s.lastError}`);
      for (const p of ["p50", "p90", "p99"]) {
        assert(typeof s[p] === "number" && s[p] > 0, `latency.${key}.${p} = ${s[p]}`);
      }
      assert(s.p50 <= s.p90 && s.p90 <= s.p99, `latency.${key} percentiles out of order`);
    }
    // (c) is there exactly when bwrap is; (d) is there exactly when the limits are.
    assertEquals(r.latency.c === null, !r.bwrap.available);
    assertEquals(r.latency.c === null, "c" in r.skipped);
    assertEquals(r.latency.d === null, "d" in r.skipped);
    // (s), bwrap doing the defaults' work, is there exactly when it could be built, and says
    // what bwrap cannot do.
    assertEquals(r.latency.s === null, "s" in r.skipped);
    assertEquals(r.latency.s === null, !r.bwrapDefaults.available);
    if (!r.bwrap.available) assertEquals(r.latency.s, null);
    if (r.bwrapDefaults.available) {
      assert(r.bwrapDefaults.missing.includes("Landlock"), "missing: " + r.bwrapDefaults.missing);
      assert(r.throughput.bwrapDefaults.rps > 0);
      assert(r.warm.wOverS_p50 > 0);
    } else {
      assert(stdout.includes("(s) skipped:"), "a skipped (s) must say why");
      assertEquals(r.throughput.bwrapDefaults, null);
    }
    if (r.latency.d === null) {
      assert(stdout.includes("(d) skipped:"), "a skipped (d) must say why");
    }
    if (!r.bwrap.available) {
      assertEquals(r.ratios.bOverC_p50, null);
      assertEquals(r.throughput.bwrap, null);
    } else {
      assert(r.ratios.bOverC_p50 > 0);
      assert(r.throughput.bwrap.rps > 0);
    }
    assert(typeof r.ratios.bMinusA_p50 === "number");
    assert(r.throughput.ours.rps > 0 && r.throughput.bare.rps > 0);
    // Errors under concurrency are counted and reported by the bench, not asserted here.
    assert(typeof r.throughput.ours.rounds[0].errors === "number");
    assertEquals(r.timeout.notTimedOut, 0, "every sleep 10 must time out");
    assert(r.timeout.wallTimeOvershoot.n > 0 && r.timeout.jsOvershoot.n > 0);
    assert(r.timeout.wallTimeOvershoot.p50 >= 0, "a timed-out run cannot end before its timeout");
    assert(!r.launcherRss.error, `launcher RSS: ${r.launcherRss.error}`);
    assert(r.launcherRss.monitorHwmKiB > 0 || r.launcherRss.timeMaxRssKiB?.p50 > 0);
    // (h) the warm launcher: its latency, throughput, memory and first runs.
    assertEquals(r.warm.latency.w.n, 3, "latency.w.n");
    assertEquals(r.warm.latency.w.errors, 0, `warm errors: ${r.warm.latency.w.lastError}`);
    assertEquals(r.warm.latency.x === null, r.latency.d === null);
    assert(r.warm.throughput.rps > 0);
    assert(r.warm.memory.launcherKiB > 0 && r.warm.memory.perPreparedKiB > 0, "warm memory");
    assert(r.warm.firstRun.warm.n > 0 && r.warm.firstRun.cold.n > 0);
    assert(stdout.includes("(w)") && stdout.includes("(h)"), "no warm rows");
    assert(Array.isArray(r.targets) && r.targets.length >= 5);
    for (const t of r.targets) {
      assert(typeof t.name === "string" && [true, false, null].includes(t.pass), t.name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
