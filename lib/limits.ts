/**
 * Resource limits: validation, the backend that enforces each limit, and the launcher ops.
 * Pure: what the host offers comes in as {@linkcode CgroupHost}.
 *
 * | limit | cgroup v2 | cgroup v1 | rlimit fallback |
 * |---|---|---|---|
 * | memory | `memory.max`, `memory.swap.max` 0 | `memory.limit_in_bytes`, `memsw` | `RLIMIT_DATA` per process (best effort) |
 * | pids (default 2048) | `pids.max` | `pids.max` | `RLIMIT_NPROC` of uid 1000 in the sandbox's user namespace (best effort; always for the default) |
 * | cpu share | `cpu.max` | `cpu.cfs_quota_us`/`cfs_period_us` | none (dropped in best effort) |
 * | cpu time | `RLIMIT_CPU` per process, every backend (whole seconds only, others refused: SIGXCPU, then SIGKILL 1 s later) |
 * | open files | `RLIMIT_NOFILE`, every backend |
 * | file size | `RLIMIT_FSIZE`, every backend (SIGXFSZ) |
 * | output | counted by the library; past it the sandbox is killed (`output-limit`) |
 *
 * @module
 */

import type { Op } from "./config.ts";
import { describeValue, parseDuration, parseNonZeroSize, parseSize, validateInt } from "./parse.ts";
import { LimitUnavailableError } from "./errors.ts";
import type { AppliedLimits, Limits, SandboxConfig } from "./types.ts";

/** The cgroup facilities of this host, as found by `lib/cgroups.ts`. */
export type CgroupHost =
  | { version: 2; parent: string; controllers: string[]; swapUnlimited?: boolean }
  | { version: 1; parents: Partial<Record<V1Controller, string>>; swapUnlimited?: boolean }
  | { version: null; reason: string };

/** The cgroup v1 controllers the launcher uses. */
export type V1Controller = "memory" | "pids" | "cpu" | "cpuacct";

/** The default cap on captured output (stdout + stderr) per run. */
export const DEFAULT_MAX_OUTPUT = 64 << 20;

/**
 * The default cap on processes and threads per sandbox, so that a fork bomb under the defaults
 * is bounded by the sandbox and not by the host. Podman's default `pids_limit`: room for
 * `make -j$(nproc)` (about four tasks a job) on a 128-CPU machine, a JVM's or node's few hundred
 * threads, and a multiprocessing pool per CPU; a config's `maxPids` replaces it (`null`: none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MAX_PIDS, validateLimits } from "./limits.ts";
 * assert.equal(validateLimits({}, 2).pids, DEFAULT_MAX_PIDS);
 * assert.equal(validateLimits({ maxPids: null }, 2).pids, null);
 * ```
 */
export const DEFAULT_MAX_PIDS = 2048;

/** The limit fields of a config (documented on {@linkcode SandboxConfig}). */
export type LimitsConfig = Pick<
  SandboxConfig,
  | "memory"
  | "maxPids"
  | "cpuPercent"
  | "cpuQuota"
  | "cpuTime"
  | "openFiles"
  | "fileSize"
  | "maxOutput"
  | "limits"
>;

/**
 * Validates limit fields. `cpus` bounds `cpuPercent` (100 × CPUs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateLimits } from "./limits.ts";
 * const l = validateLimits({ memory: "256M", cpuPercent: 150, maxPids: 64 }, 2);
 * assert(l.memoryBytes === 256 << 20 && l.cpu?.quotaUs === 150_000);
 * ```
 */
export function validateLimits(c: LimitsConfig, cpus: number): Limits {
  let memoryBytes: number | null = null;
  if (c.memory !== undefined) {
    memoryBytes = parseSize(c.memory, "memory");
    if (memoryBytes < 1 << 20) {
      throw new RangeError(`Invalid memory ${describeValue(c.memory)}: expected at least 1M`);
    }
  }
  if (c.cpuPercent !== undefined && c.cpuQuota !== undefined) {
    throw new RangeError(`Conflicting cpuPercent and cpuQuota: set one of them`);
  }
  let cpu: Limits["cpu"] = null;
  if (c.cpuPercent !== undefined) {
    const max = 100 * cpus;
    const p = c.cpuPercent;
    if (typeof p !== "number" || !Number.isFinite(p) || p <= 0 || p > max) {
      throw new (typeof p === "number" ? RangeError : TypeError)(
        `Invalid cpuPercent ${
          describeValue(p)
        }: expected a number above 0 and at most ${max} (100 × ${cpus} CPUs)`,
      );
    }
    cpu = { quotaUs: Math.max(1000, Math.round(p * 1000)), periodUs: 100_000 };
  }
  if (c.cpuQuota !== undefined) {
    if (typeof c.cpuQuota !== "object" || c.cpuQuota === null) {
      throw new TypeError(
        `Invalid cpuQuota ${describeValue(c.cpuQuota)}: expected { quota, period }`,
      );
    }
    const periodUs = c.cpuQuota.period === undefined
      ? 100_000
      : validateInt(c.cpuQuota.period, "cpuQuota.period", 1, 1_000_000);
    if (periodUs < 1000) {
      throw new RangeError(`Invalid cpuQuota.period ${periodUs}: expected 1000 to 1000000 µs`);
    }
    const quotaUs = validateInt(c.cpuQuota.quota, "cpuQuota.quota", 1, 1_000_000_000);
    if (quotaUs < 1000) {
      throw new RangeError(`Invalid cpuQuota.quota ${quotaUs}: expected at least 1000 µs`);
    }
    cpu = { quotaUs, periodUs };
  }
  const mode = c.limits ?? "strict";
  if (mode !== "strict" && mode !== "best-effort") {
    throw new RangeError(
      `Invalid limits ${describeValue(mode)}: expected one of "strict", "best-effort"`,
    );
  }
  return {
    memoryBytes,
    pids: c.maxPids === undefined
      ? DEFAULT_MAX_PIDS
      : c.maxPids === null
      ? null
      : validateInt(c.maxPids, "maxPids", 1, 4_194_304),
    pidsIsDefault: c.maxPids === undefined,
    cpu,
    cpuTimeMs: c.cpuTime === undefined ? null : wholeSeconds(c.cpuTime),
    openFiles: c.openFiles === undefined ? null : validateInt(c.openFiles, "openFiles", 1, 1 << 20),
    fileSizeBytes: c.fileSize === undefined ? null : parseNonZeroSize(c.fileSize, "fileSize"),
    maxOutputBytes: c.maxOutput === undefined
      ? DEFAULT_MAX_OUTPUT
      : parseNonZeroSize(c.maxOutput, "maxOutput"),
    mode,
  };
}

/**
 * A CPU-time limit, which the kernel enforces in whole seconds only (RLIMIT_CPU; neither cgroup
 * version can stop a run at a CPU-time budget): anything else is refused, never rounded.
 */
function wholeSeconds(value: unknown): number {
  const ms = parseDuration(value, "cpuTime");
  if (ms % 1000 !== 0) {
    const down = Math.floor(ms / 1000);
    throw new RangeError(
      `Invalid cpuTime ${
        describeValue(value)
      }: the kernel enforces CPU time in whole seconds only (RLIMIT_CPU); use ${
        down ? `"${down}s" or ` : ""
      }"${down + 1}s"`,
    );
  }
  return ms;
}

/**
 * Chooses the backend and produces the static ops for the limits. `userNamespace` (default
 * true) says whether the run has its own user namespace, where RLIMIT_NPROC counts only the
 * sandbox's processes: the default pids limit falls back to it only then, and is otherwise
 * dropped (it never fails a strict build; `applied.defaults` names it). Each limit is decided on
 * its own: one whose cgroup controller does not reach us falls back (or, strict, throws) without
 * taking the others out of the cgroup.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { limitOps, validateLimits } from "./limits.ts";
 * const { ops, applied } = limitOps(validateLimits({ maxPids: 32 }, 2), {
 *   version: 2,
 *   parent: "/sys/fs/cgroup/sandbox-ts",
 *   controllers: ["memory", "pids", "cpu"],
 * });
 * assert(applied.backend === "cgroup-v2" && ops.some((o) => o[0] === "pids-max"));
 * ```
 */
export function limitOps(
  limits: Limits,
  host: CgroupHost,
  options: { userNamespace?: boolean } = {},
): { ops: Op[]; applied: AppliedLimits } {
  const applied: AppliedLimits = {
    backend: "none",
    maxOutputBytes: limits.maxOutputBytes,
    approximated: [],
    dropped: [],
  };
  // Each limit on its own: a controller that reaches us (inside a container, or in a subtree
  // delegated without it, some may not) enforces it; a missing one makes that limit alone fall
  // back — the rlimit approximation where one exists — never the other limits.
  const has = (ctl: V1Controller): boolean =>
    host.version === 2
      ? host.controllers.includes(ctl)
      : host.version === 1 && host.parents[ctl] !== undefined;
  const missing = (ctl: V1Controller): string =>
    host.version === 2
      ? `the cgroup v2 "${ctl}" controller is not enabled for ${host.parent} (under systemd: ` +
        "start Deno in a unit with Delegate=yes, e.g. systemd-run [--user] --scope -p Delegate=yes; " +
        "sandbox doctor names the fix)"
      : host.version === 1
      ? `the cgroup v1 "${ctl}" hierarchy is not writable`
      : host.reason;
  const knobs: Op[] = [];
  const rlimits: Op[] = [];
  const used: V1Controller[] = [];
  if (limits.memoryBytes !== null) {
    applied.memoryBytes = limits.memoryBytes;
    if (has("memory")) {
      used.push("memory");
      knobs.push(["memory-max", String(limits.memoryBytes)]);
      if (host.version !== null && host.swapUnlimited) {
        // The host swaps and this cgroup cannot limit swap: the memory limit is not hard.
        unavailable(
          limits,
          applied,
          "memory",
          "the host has swap and the cgroup has no swap limit (enable swap accounting: swapaccount=1 / memory.swap.max)",
          true,
        );
      }
    } else {
      unavailable(limits, applied, "memory", missing("memory"), true);
      // Private writable memory per process (RLIMIT_AS would break V8/JVM/Go reservations).
      const v = String(limits.memoryBytes);
      rlimits.push(["rlimit", "data", v, v]);
    }
  }
  // Counted per uid in the sandbox's own user namespace (kernel >= 5.14 ucounts); + init.
  const nproc = (pids: number): Op => ["rlimit", "nproc", String(pids + 1), String(pids + 1)];
  if (limits.pids !== null) {
    if (limits.pidsIsDefault) applied.defaults = ["pids"];
    if (has("pids")) {
      used.push("pids");
      knobs.push(["pids-max", String(limits.pids)]);
      applied.pids = limits.pids;
    } else if (limits.pidsIsDefault && !(options.userNamespace ?? true)) {
      // Without a user namespace RLIMIT_NPROC would count every process of the uid on the
      // host. The default never fails a strict build: it is dropped, and said so.
      applied.dropped.push("pids");
    } else {
      // The default is approximated even under strict (`applied.defaults` names it).
      if (limits.pidsIsDefault) applied.approximated.push("pids");
      else unavailable(limits, applied, "pids", missing("pids"), true);
      rlimits.push(nproc(limits.pids));
      applied.pids = limits.pids;
    }
  }
  if (limits.cpu !== null) {
    if (has("cpu")) {
      used.push("cpu");
      knobs.push(["cpu-max", String(limits.cpu.quotaUs), String(limits.cpu.periodUs)]);
      applied.cpu = limits.cpu;
    } else {
      unavailable(limits, applied, "cpu", missing("cpu")); // no rlimit can share a CPU
    }
  }
  // A cgroup only when a cgroup limit applies: without one, init's rusage already counts every
  // process of the run (init reaps them all), and a per-run cgroup costs ~0.3-0.6 ms. On v1,
  // only the hierarchies of those limits: each costs a mkdir, a join and an rmdir per run.
  const ops: Op[] = [];
  if (used.length && host.version === 2) {
    ops.push(["cgroup-v2", host.parent]);
    applied.backend = "cgroup-v2";
  } else if (used.length && host.version === 1) {
    for (const ctl of used) ops.push(["cgroup-v1", ctl, host.parents[ctl]!]);
    // With a cgroup, its CPU time from cpuacct too: it counts every process of the run, even
    // one whose parent never waited for it. Co-mounted with cpu ("cpu,cpuacct") it is the same
    // directory, already joined (the launcher reads cpuacct.usage wherever the run has it).
    const acct = host.parents.cpuacct;
    if (acct && !ops.some((op) => op[2] === acct)) ops.push(["cgroup-v1", "cpuacct", acct]);
    applied.backend = "cgroup-v1";
  } else if (rlimits.length) {
    applied.backend = "rlimit";
  }
  ops.push(...knobs, ...rlimits);
  if (limits.cpuTimeMs !== null) {
    // SIGXCPU at the soft limit, SIGKILL one second later if it is ignored.
    const soft = limits.cpuTimeMs / 1000; // whole seconds (wholeSeconds)
    ops.push(["rlimit", "cpu", String(soft), String(soft + 1)]);
    applied.cpuTimeMs = soft * 1000;
    if (applied.backend === "none") applied.backend = "rlimit";
  }
  if (limits.openFiles !== null) {
    ops.push(["rlimit", "nofile", String(limits.openFiles), String(limits.openFiles)]);
    applied.openFiles = limits.openFiles;
  }
  if (limits.fileSizeBytes !== null) {
    const v = String(limits.fileSizeBytes);
    ops.push(["rlimit", "fsize", v, v]);
    applied.fileSizeBytes = limits.fileSizeBytes;
  }
  return { ops, applied };
}

function unavailable(
  limits: Limits,
  applied: AppliedLimits,
  what: string,
  reason: string,
  approximated = false,
): void {
  if (limits.mode === "strict") {
    throw new LimitUnavailableError(
      `Cannot enforce the ${what} limit: ${reason || "no writable cgroup"}. ` +
        `Run as root, or with a delegated cgroup v2 subtree (systemd-run --user --scope -p Delegate=yes ...), ` +
        `or accept approximations with limits "best-effort" (CLI: --limits best-effort)`,
    );
  }
  (approximated ? applied.approximated : applied.dropped).push(what);
}
