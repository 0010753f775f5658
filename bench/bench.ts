/**
 * `deno task bench`: start-up cost, throughput, timeout precision and memory of the sandbox,
 * measured side by side with a bare `Deno.Command` and with bubblewrap in one process.
 *
 * Measurements (a)–(d) are interleaved run by run (the order rotates every iteration), so a noisy
 * machine slows all of them alike and the ratios stay meaningful. Writes `bench/results.json`.
 *
 * Flags: `--iterations N` (a–d, default 200), `--quick` (tiny numbers, for the test),
 * `--out PATH` (default `bench/results.json`), `--json` (print the results JSON to stdout too).
 *
 * @module
 */

import { SYSTEM_DIRS } from "../lib/mounts.ts";
import { bwrapDefaults } from "./_bwrap_defaults.ts";
import { firstRuns, WARM_POOL, warmLimitedSandbox, warmMemory, warmSandbox } from "./_warm.ts";
import { SandboxBuilder } from "../mod.ts";
import type { Sandbox } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LAUNCHER = `${ROOT}launcher/sandbox-launcher`;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  iterations: number;
  warmup: number;
  throughputRuns: number;
  concurrency: number;
  throughputRounds: number;
  timeoutRuns: number;
  rssRuns: number;
  quick: boolean;
  out: string;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes("--quick");
  const o: Options = {
    iterations: quick ? 5 : 200,
    warmup: quick ? 1 : 10,
    throughputRuns: quick ? 16 : 240,
    concurrency: 8,
    throughputRounds: quick ? 1 : 5,
    timeoutRuns: quick ? 2 : 30,
    rssRuns: quick ? 1 : 5,
    quick,
    out: `${ROOT}bench/results.json`,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") continue;
    if (a === "--json") o.json = true;
    else if (a === "--iterations" || a === "-n") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) usage(`--iterations needs a positive integer`);
      o.iterations = n;
    } else if (a === "--out") {
      const p = argv[++i];
      if (!p) usage("--out needs a path");
      o.out = p;
    } else if (a === "--help" || a === "-h") usage();
    else usage(`unknown flag "${a}"`);
  }
  return o;
}

function usage(error?: string): never {
  if (error) console.error(`bench: ${error}`);
  console.error("usage: deno task bench [--iterations N] [--quick] [--out PATH] [--json]");
  Deno.exit(error ? 2 : 0);
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Summary of one series, in its unit (ms unless stated). */
export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  // Nearest rank: the smallest value with at least p% of the series at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

function stats(values: number[]): Stats | null {
  if (values.length === 0) return null;
  const s = [...values].sort((x, y) => x - y);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    n: s.length,
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    mean: r(s.reduce((x, y) => x + y, 0) / s.length),
    min: r(s[0]!),
    max: r(s[s.length - 1]!),
  };
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------------------------------------
// Host facts

function which(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      const p = `${dir}/${name}`;
      const st = Deno.statSync(p);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

function hostInfo() {
  const cgroupV2Only = readText("/sys/fs/cgroup/cgroup.controllers") !== null;
  return {
    kernel: (readText("/proc/sys/kernel/osrelease") ?? "?").trim(),
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    uid: Deno.uid(),
    cgroup: cgroupV2Only ? "v2" : "v1",
  };
}

/** `--ro-bind`/`--symlink` args mirroring this host's top-level system dirs (merged /usr). */
function bwrapRootArgs(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = Deno.lstatSync(dir);
      if (st.isSymlink) args.push("--symlink", Deno.readLinkSync(dir), dir);
      else if (st.isDirectory) args.push("--ro-bind", dir, dir);
    } catch {
      // absent
    }
  }
  return args;
}

function bwrapArgs(program: string, args: string[]): string[] {
  return [
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    ...bwrapRootArgs(),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--",
    program,
    ...args,
  ];
}

/** Checks bwrap can actually build the sandbox here (not only that it is installed). */
async function probeBwrap(path: string | null): Promise<string | null> {
  if (!path) {
    return "bwrap not found in PATH (install it: apt-get install -y bubblewrap)";
  }
  try {
    const out = await new Deno.Command(path, {
      args: bwrapArgs("/bin/true", []),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      return `bwrap failed here (exit ${out.code}): ${new TextDecoder().decode(out.stderr).trim()}`;
    }
    return null;
  } catch (e) {
    return `bwrap cannot be started: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The runners: each resolves when the run is over and throws when it did not succeed.

type Runner = () => Promise<void>;

/**
 * The sandboxes of (b), (d), (e) "ours" and (f) run the cold way (`warm: false`), as every run did
 * before the warm launcher was on by default: (w), (x) and (h) measure that one, side by side.
 */
const COLD = { warm: false } as const;

async function commandOk(path: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(path, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  checkExit(path, out);
}

/** As commandOk, with `input` written to the command's stdin (bwrap's `--seccomp 0`). */
async function commandWithInput(path: string, args: string[], input: Uint8Array): Promise<void> {
  const child = new Deno.Command(path, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input).catch(() => {});
  await writer.close().catch(() => {});
  checkExit(path, await child.output());
}

function checkExit(path: string, out: Deno.CommandOutput): void {
  if (out.code !== 0) {
    throw new Error(
      `${path} exited ${out.code}: ${new TextDecoder().decode(out.stderr).trim().slice(0, 300)}`,
    );
  }
}

function sandboxRunner(sandbox: Sandbox): Runner {
  return async () => {
    const r = await sandbox.run("/bin/true");
    if (r.exitCode !== 0) {
      throw new Error(`sandbox run: exit ${r.exitCode} (${r.reason}) ${r.stderr.slice(0, 300)}`);
    }
  };
}

/** Builds the (d) sandbox if this build of the library has the limit setters, else a reason. */
function limitedSandbox(): Sandbox | string {
  const proto = SandboxBuilder.prototype as unknown as Record<string, unknown>;
  const missing = ["memoryLimit", "maxPids", "cpuLimitPercent"].filter(
    (m) => typeof proto[m] !== "function",
  );
  if (missing.length) return "limits not implemented in this build";
  type Setter = (v: unknown) => unknown;
  try {
    // The cold way, as (b): (x) is the same with a warm launcher.
    let b = new SandboxBuilder("bench-limits", {}, COLD) as unknown as Record<string, Setter>;
    b = (b.memoryLimit as Setter).call(b, "256M") as Record<string, Setter>;
    b = (b.maxPids as Setter).call(b, 64) as Record<string, Setter>;
    b = (b.cpuLimitPercent as Setter).call(b, 50) as Record<string, Setter>;
    return (b as unknown as SandboxBuilder).build();
  } catch (e) {
    return `limits could not be configured: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// (a)-(d): interleaved start-up latency

interface Series {
  key: string;
  label: string;
  run: Runner;
  samples: number[];
  errors: number;
  lastError?: string;
}

async function latency(series: Series[], iterations: number, warmup: number): Promise<void> {
  const total = warmup + iterations;
  for (let i = 0; i < total; i++) {
    // Rotate the order so no measurement always follows the same neighbour.
    for (let k = 0; k < series.length; k++) {
      const s = series[(i + k) % series.length]!;
      const t0 = performance.now();
      try {
        await s.run();
        const dt = performance.now() - t0;
        if (i >= warmup) s.samples.push(dt);
      } catch (e) {
        s.errors++;
        s.lastError = (e as Error).message;
      }
    }
    if (!Deno.stdout.isTerminal()) continue;
    if (i % 20 === 0 || i === total - 1) {
      await Deno.stdout.write(new TextEncoder().encode(`\r  latency ${i + 1}/${total}`));
    }
  }
  if (Deno.stdout.isTerminal()) console.log();
}

/**
 * (s): a runner for bwrap doing the defaults' work (bench/_bwrap_defaults.ts), checked once; or
 * why there is none.
 */
async function bwrapDefaultsRunner(
  bwrap: string,
  dir: string,
): Promise<{ run: Runner; missing: string[]; approximated: string[] } | string> {
  const { argv, source } = await defaultLauncherArgv(dir, `${dir}/status`, ["/bin/true"]);
  if (source !== "the library's frame") return "the library's frame could not be captured";
  try {
    const b = bwrapDefaults(argv, dir, "/bin/true");
    const run: Runner = b.seccomp
      ? () => commandWithInput(bwrap, b.args, b.seccomp!)
      : () => commandOk(bwrap, b.args);
    await run();
    return { run, missing: b.missing, approximated: b.approximated };
  } catch (e) {
    return `bwrap with the defaults' work: ${(e as Error).message.slice(0, 300)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// (e): throughput

async function throughputRound(run: Runner, runs: number, concurrency: number) {
  let next = 0;
  let errors = 0;
  let lastError: string | undefined;
  const t0 = performance.now();
  const worker = async () => {
    while (next < runs) {
      next++;
      try {
        await run();
      } catch (e) {
        errors++;
        lastError = (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = (performance.now() - t0) / 1000;
  return {
    seconds: round(s),
    rps: round(runs / s, 1),
    errors,
    ...(lastError ? { lastError } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// (g): launcher memory

/**
 * The default sandbox's launcher argv, exactly as the library builds it: a stand-in launcher
 * (a shell script) saves the frame the library writes on its stdin, and the frame's tokens become
 * argv with the status path replaced. Falls back to a hand-built mirror of the embedded defaults.
 */
async function defaultLauncherArgv(
  dir: string,
  statusPath: string,
  program: string[],
): Promise<{ argv: string[]; source: string }> {
  const frame = `${dir}/frame-${Math.random().toString(36).slice(2)}`;
  const script = `${frame}.sh`;
  try {
    // It answers the library's --version and --features through the real launcher.
    Deno.writeTextFileSync(
      script,
      `#!/bin/sh\ncase "$1" in --*) exec '${LAUNCHER}' "$@";; esac\nexec cat > '${frame}'\n`,
      { mode: 0o755 },
    );
    Deno.chmodSync(script, 0o755);
    const capture = new SandboxBuilder("bench", {}, COLD).launcherPath(script).build();
    await capture.run(program[0]!, program.slice(1)).catch(() => {});
    const bytes = Deno.readFileSync(frame);
    const text = new TextDecoder().decode(bytes.subarray(8));
    const tokens = text.split("\0").slice(0, -1);
    const i = tokens.indexOf("status");
    if (new TextDecoder().decode(bytes.subarray(0, 4)) === "SBX1" && i >= 0) {
      tokens[i + 1] = statusPath;
      return { argv: tokens, source: "the library's frame" };
    }
  } catch {
    // fall back below
  } finally {
    for (const p of [frame, script]) {
      try {
        Deno.removeSync(p);
      } catch {
        // never created
      }
    }
  }
  return { argv: handBuiltArgv(statusPath, program), source: "hand-built defaults" };
}

function handBuiltArgv(statusPath: string, program: string[]): string[] {
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  const hostUid = uid === 0 ? 65534 : uid;
  const hostGid = uid === 0 ? 65534 : gid;
  const t: string[] = ["status", statusPath];
  for (const ns of ["user", "pid", "mount", "uts", "ipc", "net", "cgroup"]) t.push("unshare", ns);
  t.push("uid-map", "1000", String(hostUid), "gid-map", "1000", String(hostGid));
  t.push("uid", "1000", "gid", "1000", "hostname", "sandbox", "loopback", "newroot");
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = Deno.lstatSync(dir);
      if (st.isSymlink) t.push("symlink", Deno.readLinkSync(dir), dir);
      else if (st.isDirectory) t.push("ro-bind", dir, dir);
    } catch {
      // absent
    }
  }
  t.push("proc", "/proc", "dev", "/dev", "tmpfs", "/tmp", String(64 << 20), "1777");
  t.push("rlimit", "core", "0", "0", "chdir", "/", "env", "PATH=/usr/bin:/bin");
  t.push("exec", program[0]!);
  for (const a of program) t.push("arg", a);
  return t;
}

function kib(status: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) : null;
}

async function launcherMemory(runs: number) {
  const timeBin = ["/usr/bin/time", "/bin/time"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  const out: {
    method: string;
    argvSource: string;
    timeMaxRssKiB: Stats | null;
    monitorHwmKiB: number | null;
    initHwmKiB: number | null;
    note: string;
    error?: string;
  } = {
    method: timeBin ? `${timeBin} -f %M` : "none",
    argvSource: "",
    timeMaxRssKiB: null,
    monitorHwmKiB: null,
    initHwmKiB: null,
    note: "time -f %M is the max RSS over the launcher and the children it waited for " +
      "(init, and through it /bin/true); VmHWM is read from /proc while the sandbox sleeps",
  };
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-bench-" });
  try {
    if (timeBin) {
      const values: number[] = [];
      for (let i = 0; i < runs; i++) {
        const status = `${dir}/status-${i}`;
        const { argv, source } = await defaultLauncherArgv(dir, status, ["/bin/true"]);
        out.argvSource = source;
        const res = await new Deno.Command(timeBin, {
          args: ["-f", "BENCH_RSS=%M", LAUNCHER, ...argv],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(res.stderr);
        const m = /BENCH_RSS=(\d+)/.exec(err);
        if (res.code !== 0 || !m) {
          out.error = `launcher exited ${res.code}: ${err.trim().slice(0, 300)}`;
          break;
        }
        values.push(Number(m[1]));
      }
      out.timeMaxRssKiB = stats(values);
    }
    // Per process: the monitor (the launcher itself) and init, while the target sleeps.
    const { argv } = await defaultLauncherArgv(dir, `${dir}/status-hwm`, ["/bin/sleep", "0.4"]);
    const child = new Deno.Command(LAUNCHER, {
      args: argv,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await new Promise((r) => setTimeout(r, 200));
    const mon = readText(`/proc/${child.pid}/status`);
    out.monitorHwmKiB = mon ? kib(mon, "VmHWM") : null;
    const kids = readText(`/proc/${child.pid}/task/${child.pid}/children`)?.trim().split(/\s+/);
    const init = kids?.[0] ? readText(`/proc/${kids[0]}/status`) : null;
    out.initHwmKiB = init ? kib(init, "VmHWM") : null;
    await child.status;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Output

function fmt(v: number | null | undefined, d = 2): string {
  return v === null || v === undefined ? "-" : v.toFixed(d);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")
  ).join("\n");
}

interface Target {
  name: string;
  value: number | null;
  op: "<=" | ">=";
  target: number;
  stretch?: number;
  unit: string;
  pass: boolean | null;
  stretchPass?: boolean | null;
}

function target(
  name: string,
  value: number | null,
  op: "<=" | ">=",
  goal: number,
  unit: string,
  stretch?: number,
): Target {
  const ok = (g: number) => value === null ? null : op === "<=" ? value <= g : value >= g;
  const t: Target = { name, value, op, target: goal, unit, pass: ok(goal) };
  if (stretch !== undefined) {
    t.stretch = stretch;
    t.stretchPass = ok(stretch);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const opts = parseArgs(Deno.args);
  const host = hostInfo();
  console.log(
    `sandbox-ts bench — Linux ${host.kernel}, ${host.cpus} CPUs, Deno ${host.deno}, uid ${host.uid}, ` +
      `cgroup ${host.cgroup}${opts.quick ? " (quick)" : ""}`,
  );
  const skipped: Record<string, string> = {};

  const bwrapPath = which("bwrap");
  const bwrapReason = await probeBwrap(bwrapPath);
  if (bwrapReason) {
    skipped.c = bwrapReason;
    console.log(`(c) skipped: ${bwrapReason}`);
  }

  // (s): bwrap doing the defaults' work, from the library's own frame (bench/_bwrap_defaults.ts).
  const bwrapDir = scratchDir = Deno.makeTempDirSync({ prefix: "sandbox-bench-bwrap-" });
  const heavy = bwrapReason ? bwrapReason : await bwrapDefaultsRunner(bwrapPath!, bwrapDir);
  if (typeof heavy === "string") {
    skipped.s = heavy;
    console.log(`(s) skipped: ${heavy}`);
  }

  const sandbox = new SandboxBuilder("bench", {}, COLD).build();
  // Fail early and clearly if the default sandbox cannot run here at all.
  await sandboxRunner(sandbox)();

  const limited = limitedSandbox();
  if (typeof limited === "string") {
    skipped.d = limited;
    console.log(`(d) skipped: ${limited}`);
  } else {
    await sandboxRunner(limited)();
  }

  // (w), (x): the same two sandboxes with a warm launcher (bench/_warm.ts).
  const warm = warmSandbox();
  await sandboxRunner(warm)();
  const warmLimited = typeof limited === "string" ? null : warmLimitedSandbox();
  if (warmLimited) await sandboxRunner(warmLimited)();

  const series: Series[] = [
    {
      key: "a",
      label: "Deno.Command /bin/true (bare)",
      run: () => commandOk("/bin/true", []),
      samples: [],
      errors: 0,
    },
    {
      key: "b",
      label: "sandbox.run /bin/true (default config, cold way)",
      run: sandboxRunner(sandbox),
      samples: [],
      errors: 0,
    },
  ];
  if (!bwrapReason) {
    const args = bwrapArgs("/bin/true", []);
    series.push({
      key: "c",
      label: "bwrap /bin/true (light: /usr, /proc, /dev, /tmp)",
      run: () => commandOk(bwrapPath!, args),
      samples: [],
      errors: 0,
    });
  }
  if (typeof heavy !== "string") {
    series.push({
      key: "s",
      label: "bwrap /bin/true (the defaults' mounts, ids, seccomp)",
      run: heavy.run,
      samples: [],
      errors: 0,
    });
  }
  if (typeof limited !== "string") {
    series.push({
      key: "d",
      label: "sandbox.run /bin/true (mem/pids/cpu limits)",
      run: sandboxRunner(limited),
      samples: [],
      errors: 0,
    });
  }

  series.push({
    key: "w",
    label: `sandbox.run /bin/true (warm, pool ${WARM_POOL})`,
    run: sandboxRunner(warm),
    samples: [],
    errors: 0,
  });
  if (warmLimited) {
    series.push({
      key: "x",
      label: `sandbox.run /bin/true (warm, limits)`,
      run: sandboxRunner(warmLimited),
      samples: [],
      errors: 0,
    });
  }

  console.log(
    `(a-d) ${opts.iterations} interleaved iterations (+${opts.warmup} warm-up) of ${
      series.map((s) => s.key).join(", ")
    }`,
  );
  await latency(series, opts.iterations, opts.warmup);

  const latencyOut: Record<string, unknown> = {};
  for (const key of ["a", "b", "c", "d", "s"]) {
    const s = series.find((x) => x.key === key);
    latencyOut[key] = s
      ? {
        label: s.label,
        unit: "ms",
        ...stats(s.samples),
        errors: s.errors,
        ...(s.lastError ? { lastError: s.lastError } : {}),
      }
      : null;
  }
  const get = (k: string) => series.find((s) => s.key === k);
  const sa = get("a"), sb = get("b"), sc = get("c");
  const pa = stats(sa!.samples)?.p50 ?? null;
  const pb = stats(sb!.samples)?.p50 ?? null;
  const pc = sc ? stats(sc.samples)?.p50 ?? null : null;
  const ss = get("s");
  const ps = ss ? stats(ss.samples)?.p50 ?? null : null;
  // Per-iteration ratios, from runs taken side by side.
  const pairRatio = (x: Series, y: Series) => {
    const n = Math.min(x.samples.length, y.samples.length);
    return stats(Array.from({ length: n }, (_, i) => x.samples[i]! / y.samples[i]!));
  };
  const pairDiff = (x: Series, y: Series) => {
    const n = Math.min(x.samples.length, y.samples.length);
    return stats(Array.from({ length: n }, (_, i) => x.samples[i]! - y.samples[i]!));
  };
  const ratios = {
    bOverC_p50: pb !== null && pc !== null ? round(pb / pc) : null,
    bOverC_paired: sc ? pairRatio(sb!, sc) : null,
    bOverS_p50: pb !== null && ps !== null ? round(pb / ps) : null,
    bMinusA_p50: pb !== null && pa !== null ? round(pb - pa) : null,
    bMinusA_paired: pairDiff(sb!, sa!),
    dMinusB_p50: null as number | null,
  };
  const sd = get("d");
  if (sd) {
    const pd = stats(sd.samples)?.p50 ?? null;
    if (pd !== null && pb !== null) ratios.dMinusB_p50 = round(pd - pb);
  }

  // (e) throughput: alternating rounds, ours and bwrap (and bare for reference).
  console.log(
    `(e) throughput: ${opts.throughputRuns} runs, ${opts.concurrency} at a time, ${opts.throughputRounds} alternating round(s)`,
  );
  const tpRunners: [string, Runner][] = [
    ["ours", sandboxRunner(sandbox)],
    ["warm", sandboxRunner(warm)],
    ["bare", () => commandOk("/bin/true", [])],
  ];
  if (!bwrapReason) {
    const args = bwrapArgs("/bin/true", []);
    tpRunners.splice(1, 0, ["bwrap", () => commandOk(bwrapPath!, args)]);
  }
  if (typeof heavy !== "string") tpRunners.splice(2, 0, ["bwrapDefaults", heavy.run]);
  const tpRounds: Record<string, Awaited<ReturnType<typeof throughputRound>>[]> = {};
  for (let r = 0; r < opts.throughputRounds; r++) {
    const order = r % 2 === 0 ? tpRunners : [...tpRunners].reverse();
    for (const [name, run] of order) {
      (tpRounds[name] ??= []).push(
        await throughputRound(run, opts.throughputRuns, opts.concurrency),
      );
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.floor((s.length - 1) / 2)]!;
  };
  // A ratio is the median of the rounds' own ratios: the two runners of a round ran next to each
  // other (the order alternates, warm and (s) stay adjacent), so a slow stretch of the machine
  // weighs on both sides of one ratio rather than on one side of a ratio of medians.
  const pairedRatio = (a: string, b: string) => {
    const xs = tpRounds[a], ys = tpRounds[b];
    if (!xs || !ys) return null;
    return round(median(xs.map((x, i) => x.rps / ys[i]!.rps)));
  };
  const throughput = {
    runs: opts.throughputRuns,
    concurrency: opts.concurrency,
    ours: { rps: median(tpRounds.ours!.map((x) => x.rps)), rounds: tpRounds.ours! },
    bwrap: tpRounds.bwrap
      ? { rps: median(tpRounds.bwrap.map((x) => x.rps)), rounds: tpRounds.bwrap }
      : null,
    bare: { rps: median(tpRounds.bare!.map((x) => x.rps)), rounds: tpRounds.bare! },
    bwrapDefaults: tpRounds.bwrapDefaults
      ? {
        rps: median(tpRounds.bwrapDefaults.map((x) => x.rps)),
        rounds: tpRounds.bwrapDefaults,
      }
      : null,
    oursOverBwrap: null as number | null,
    oursOverBwrapDefaults: null as number | null,
  };
  throughput.oursOverBwrap = pairedRatio("ours", "bwrap");
  throughput.oursOverBwrapDefaults = pairedRatio("ours", "bwrapDefaults");

  // (h) the warm launcher: latency (w, x above), throughput, memory, a new sandbox's first run.
  console.log(`(h) warm launcher: memory with a full pool of ${WARM_POOL}; first runs`);
  const warmMem = await warmMemory(warm);
  const first = await firstRuns(opts.quick ? 1 : 10);
  await warm.close();
  await warmLimited?.close();
  const pw = stats(get("w")!.samples)?.p50 ?? null;
  const sx = get("x");
  const px = sx ? stats(sx.samples)?.p50 ?? null : null;
  const warmRps = median(tpRounds.warm!.map((x) => x.rps));
  const warmOut = {
    pool: WARM_POOL,
    latency: {
      w: {
        label: get("w")!.label,
        unit: "ms",
        ...stats(get("w")!.samples),
        errors: get("w")!.errors,
      },
      x: sx ? { label: sx.label, unit: "ms", ...stats(sx.samples), errors: sx.errors } : null,
    },
    wOverC_p50: pw !== null && pc !== null ? round(pw / pc) : null,
    xOverC_p50: px !== null && pc !== null ? round(px / pc) : null,
    wOverB_p50: pw !== null && pb !== null ? round(pw / pb) : null,
    wOverS_p50: pw !== null && ps !== null ? round(pw / ps) : null,
    xOverS_p50: px !== null && ps !== null ? round(px / ps) : null,
    throughput: {
      rps: warmRps,
      rounds: tpRounds.warm!,
      overBwrap: pairedRatio("warm", "bwrap"),
      overBwrapDefaults: pairedRatio("warm", "bwrapDefaults"),
    },
    memory: warmMem,
    firstRun: { warm: stats(first.warm), cold: stats(first.cold) },
  };

  // (f) timeout precision.
  console.log(`(f) timeout precision: ${opts.timeoutRuns} runs of sleep 10 with .timeout(100)`);
  const timed = new SandboxBuilder("bench-timeout", {}, COLD).timeout(100).build();
  const wallOver: number[] = [];
  const jsOver: number[] = [];
  let notTimedOut = 0;
  for (let i = 0; i < opts.timeoutRuns; i++) {
    const t0 = performance.now();
    const r = await timed.run("sleep", ["10"]);
    const js = performance.now() - t0;
    if (!r.timedOut) notTimedOut++;
    wallOver.push(r.wallTimeMs - 100);
    jsOver.push(js - 100);
  }
  const timeout = {
    timeoutMs: 100,
    runs: opts.timeoutRuns,
    notTimedOut,
    wallTimeOvershoot: stats(wallOver),
    jsOvershoot: stats(jsOver),
  };

  // (g) launcher memory.
  console.log(`(g) launcher peak RSS: ${opts.rssRuns} run(s) driven by argv`);
  const rss = await launcherMemory(opts.rssRuns);

  const targets: Target[] = [
    target("(b)/(c) p50", ratios.bOverC_p50, "<=", 0.75, "x", 0.6),
    target("(b)-(a) p50", ratios.bMinusA_p50, "<=", 2.5, "ms"),
    target(
      "timeout overshoot p90 (wallTimeMs)",
      timeout.wallTimeOvershoot?.p90 ?? null,
      "<=",
      10,
      "ms",
    ),
    target("timeout overshoot p90 (JS-observed)", timeout.jsOvershoot?.p90 ?? null, "<=", 10, "ms"),
    target("throughput ours/bwrap", throughput.oursOverBwrap, ">=", 1, "x"),
    target("launcher peak RSS (time %M p50)", rss.timeMaxRssKiB?.p50 ?? null, "<=", 2048, "KiB"),
    target("(w)/(c) p50, warm", warmOut.wOverC_p50, "<=", 0.6, "x"),
    target("(x)/(c) p50, warm with limits", warmOut.xOverC_p50, "<=", 0.75, "x"),
    target("throughput warm/bwrap", warmOut.throughput.overBwrap, ">=", 1.5, "x"),
    target(
      "(w)/(s) p50, warm vs bwrap doing the defaults' work",
      warmOut.wOverS_p50,
      "<=",
      0.6,
      "x",
    ),
    target("(x)/(s) p50, warm with limits vs (s)", warmOut.xOverS_p50, "<=", 0.75, "x"),
    target(
      "throughput warm/bwrap doing the defaults' work",
      warmOut.throughput.overBwrapDefaults,
      ">=",
      1.5,
      "x",
    ),
  ];

  // ---- print
  const rows = [["measurement", "n", "p50 ms", "p90 ms", "p99 ms", "mean", "min", "max", "err"]];
  for (const key of ["a", "b", "c", "s", "d", "w", "x"]) {
    const s = get(key);
    if (!s) {
      rows.push([`(${key}) skipped: ${skipped[key] ?? "-"}`, "", "", "", "", "", "", "", ""]);
      continue;
    }
    const st = stats(s.samples);
    rows.push([
      `(${key}) ${s.label}`,
      String(st?.n ?? 0),
      fmt(st?.p50),
      fmt(st?.p90),
      fmt(st?.p99),
      fmt(st?.mean),
      fmt(st?.min),
      fmt(st?.max),
      String(s.errors),
    ]);
  }
  for (
    const [label, st] of [
      ["(f) timeout overshoot, wallTimeMs-100", timeout.wallTimeOvershoot],
      ["(f) timeout overshoot, JS elapsed-100", timeout.jsOvershoot],
    ] as const
  ) {
    rows.push([
      label,
      String(st?.n ?? 0),
      fmt(st?.p50),
      fmt(st?.p90),
      fmt(st?.p99),
      fmt(st?.mean),
      fmt(st?.min),
      fmt(st?.max),
      String(notTimedOut),
    ]);
  }
  console.log();
  console.log(table(rows));
  console.log();
  console.log(
    `(e) throughput (${throughput.runs} runs, ${throughput.concurrency} at a time, median of rounds; ` +
      `ratios: median of the rounds' ratios): ` +
      `ours ${fmt(throughput.ours.rps, 1)}/s, ` +
      (throughput.bwrap ? `bwrap ${fmt(throughput.bwrap.rps, 1)}/s, ` : "bwrap skipped, ") +
      (throughput.bwrapDefaults
        ? `bwrap with the defaults' work ${fmt(throughput.bwrapDefaults.rps, 1)}/s, `
        : "") +
      `bare ${fmt(throughput.bare.rps, 1)}/s`,
  );
  for (const [name, rounds] of Object.entries(tpRounds)) {
    const errors = rounds.reduce((n, x) => n + x.errors, 0);
    const last = rounds.findLast((x) => x.lastError)?.lastError;
    if (errors) {
      console.log(
        `WARNING (e) ${name}: ${errors} of ${rounds.length * opts.throughputRuns} runs failed ` +
          `under concurrency ${opts.concurrency}; last: ${last}`,
      );
    }
  }
  console.log(
    `(g) launcher peak RSS: time %M p50 ${fmt(rss.timeMaxRssKiB?.p50, 0)} KiB ` +
      `(max ${fmt(rss.timeMaxRssKiB?.max, 0)}); VmHWM monitor ${fmt(rss.monitorHwmKiB, 0)} KiB, ` +
      `init ${fmt(rss.initHwmKiB, 0)} KiB; argv from ${rss.argvSource}` +
      (rss.error ? ` — error: ${rss.error}` : ""),
  );
  console.log(
    `(h) warm: throughput ${fmt(warmRps, 1)}/s; warm launcher RSS ${
      fmt(warmMem.launcherKiB, 0)
    } KiB, per prepared run (monitor, init, target) ${
      fmt(warmMem.perPreparedKiB, 0)
    } KiB (${warmMem.prepared} seen); ` +
      `first run of a new sandbox p50: warm ${fmt(warmOut.firstRun.warm?.p50)} ms, cold ${
        fmt(warmOut.firstRun.cold?.p50)
      } ms`,
  );
  console.log(
    `ratios: (b)/(c) p50 ${fmt(ratios.bOverC_p50, 3)} (paired median ${
      fmt(ratios.bOverC_paired?.p50, 3)
    }); (b)-(a) p50 ${fmt(ratios.bMinusA_p50)} ms (paired median ${
      fmt(ratios.bMinusA_paired?.p50)
    } ms)` + (ratios.dMinusB_p50 !== null ? `; (d)-(b) p50 ${fmt(ratios.dMinusB_p50)} ms` : ""),
  );
  console.log();
  for (const t of targets) {
    const verdict = t.pass === null ? "SKIP" : t.pass ? "PASS" : "MISS";
    const stretch = t.stretch === undefined
      ? ""
      : ` (stretch ${t.op} ${t.stretch}: ${
        t.stretchPass === null ? "SKIP" : t.stretchPass ? "PASS" : "MISS"
      })`;
    console.log(
      `${verdict}  ${t.name}: ${
        fmt(t.value, t.unit === "KiB" ? 0 : 3)
      } ${t.unit}, target ${t.op} ${t.target}${stretch}`,
    );
  }

  const results = {
    version: 1,
    date: new Date().toISOString(),
    host,
    options: {
      iterations: opts.iterations,
      warmup: opts.warmup,
      quick: opts.quick,
      throughputRuns: opts.throughputRuns,
      concurrency: opts.concurrency,
      throughputRounds: opts.throughputRounds,
      timeoutRuns: opts.timeoutRuns,
      rssRuns: opts.rssRuns,
    },
    bwrap: { path: bwrapPath, available: !bwrapReason, reason: bwrapReason },
    bwrapDefaults: typeof heavy === "string"
      ? { available: false, reason: heavy }
      : { available: true, missing: heavy.missing, approximated: heavy.approximated },
    skipped,
    latency: latencyOut,
    ratios,
    throughput,
    timeout,
    launcherRss: rss,
    warm: warmOut,
    targets,
  };
  const text = JSON.stringify(results, null, 2) + "\n";
  Deno.writeTextFileSync(opts.out, text);
  console.log(`\nwrote ${opts.out}`);
  if (opts.json) console.log(text);
}

/** (s)'s files (bench/_bwrap_defaults.ts), removed however main() ends. */
let scratchDir: string | null = null;

if (import.meta.main) {
  try {
    await main();
  } finally {
    if (scratchDir) Deno.removeSync(scratchDir, { recursive: true });
  }
}
