/**
 * The warm launcher's part of `deno task bench` (bench/bench.ts): its sandboxes, the memory of
 * the warm launcher and of each prepared run, and the first run of a new warm sandbox.
 *
 * @module
 */

import { SandboxBuilder } from "../mod.ts";
import type { Sandbox } from "../mod.ts";

/** Prepared runs kept by the bench's warm sandboxes: enough for 8 runs in flight. */
export const WARM_POOL = 8;

/** The default sandbox with a warm launcher. */
export function warmSandbox(): Sandbox {
  return new SandboxBuilder("bench-warm", {}, { warm: { pool: WARM_POOL, idleMs: 600_000 } })
    .build();
}

/** The (d) sandbox (memory, pids and CPU limits) with a warm launcher. */
export function warmLimitedSandbox(): Sandbox {
  return new SandboxBuilder("bench-warm-limits", {}, {
    warm: { pool: WARM_POOL, idleMs: 600_000 },
  }).memoryLimit("256M").maxPids(64).cpuLimitPercent(50).build();
}

function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function children(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
    return text ? text.split(" ").map(Number) : [];
  } catch {
    return [];
  }
}

/** What the warm launcher and its prepared runs hold, once the pool is full and idle. */
export interface WarmMemory {
  /** The warm launcher process itself. */
  launcherKiB: number | null;
  /** Prepared runs seen. */
  prepared: number;
  /** Per prepared run: its monitor, its init and its waiting target (RSS: shared pages count in each). */
  perPreparedKiB: number | null;
}

/** Measures the warm launcher of `sandbox` (whose runs' pid is the warm launcher's). */
export async function warmMemory(sandbox: Sandbox): Promise<WarmMemory> {
  // A full pool first: the run then goes through the warm launcher, and its pid is the launcher's.
  await sandbox.warmUp();
  const run = sandbox.spawn("true");
  const pid = run.pid;
  await Promise.all([run.stdout, run.stderr].map((s) => new Response(s).arrayBuffer()));
  await run.status;
  await sandbox.warmUp();
  const full = async () => {
    for (let i = 0; i < 100 && children(pid).length < WARM_POOL; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await full();
  await new Promise((r) => setTimeout(r, 200));
  const runs = children(pid);
  const tree = (pid: number): number =>
    (rssKiB(pid) ?? 0) + children(pid).reduce((n, c) => n + tree(c), 0);
  const per = runs.map(tree);
  return {
    launcherKiB: rssKiB(pid),
    prepared: runs.length,
    perPreparedKiB: per.length ? Math.round(per.reduce((a, b) => a + b, 0) / per.length) : null,
  };
}

/**
 * The first run of a new warm sandbox (its pool still empty: the warm launcher starts and
 * prepares while the run waits), `n` times, in ms; and the same for a new cold sandbox.
 */
export async function firstRuns(n: number): Promise<{ warm: number[]; cold: number[] }> {
  const out = { warm: [] as number[], cold: [] as number[] };
  for (let i = 0; i < n; i++) {
    for (const warm of [true, false]) {
      const sb = new SandboxBuilder("bench-first", {}, { warm }).build();
      const t0 = performance.now();
      const r = await sb.run("/bin/true");
      const dt = performance.now() - t0;
      await sb.close();
      if (r.exitCode !== 0) throw new Error(`first run: exit ${r.exitCode} ${r.stderr}`);
      (warm ? out.warm : out.cold).push(dt);
    }
  }
  return out;
}
