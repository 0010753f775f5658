/**
 * Finds where this process may create cgroups, once per process: a `sandbox-ts` directory of
 * our own (created by the launcher's `--cgroup-container`) under which the launcher creates one
 * cgroup per run. Also sweeps the per-run cgroups of processes that died (a launcher killed with
 * SIGKILL cannot remove its own). The decisions are made here; every read and write under the
 * cgroup mounts is the launcher's, so Deno needs no `--allow-all`.
 *
 * - cgroup v2, root: in a unit of its own that systemd delegated (`Delegate=yes`, marked with
 *   the xattr `trusted.delegate`), as an unprivileged caller does below — systemd owns the rest
 *   of the tree and enables `cpu` at the top only for units that ask; elsewhere (no systemd, a
 *   container's own cgroup namespace, or a unit without `Delegate=yes`)
 *   `<mount>/sandbox-ts`, with memory/pids/cpu enabled in its subtree_control (they must be
 *   enabled in the mount root's; we never change a cgroup we did not create).
 * - cgroup v2, unprivileged: our own cgroup when it is delegated to us (systemd's rules: a
 *   scope or service with `Delegate=yes`, never an ancestor that the user's manager owns). We
 *   move ourselves into its `sandbox-ts-caller` leaf and create `sandbox-ts` beside it; moving
 *   a run's child from one to the other needs write access to their common ancestor, our own
 *   delegated cgroup.
 * - cgroup v1: in each hierarchy, `sandbox-ts` under our own cgroup (so the container's or
 *   service's limits still apply), when writable.
 *
 * @module
 */

import type { CgroupHost, V1Controller } from "./limits.ts";
import {
  type CgroupDirInfo,
  findLauncher,
  launcherCgroups,
  type LauncherFeatures,
} from "./launcher.ts";
import { hostProbe } from "./host_facts.ts";

const CONTAINER = "sandbox-ts";
const V1_CONTROLLERS: V1Controller[] = ["memory", "pids", "cpu", "cpuacct"];
/** The controllers limits use (cgroup v2 names); a hierarchy without any is no use to us. */
const RESOURCE_CONTROLLERS = ["memory", "pids", "cpu"];

// Every read and write under the cgroup mounts goes through the launcher (Deno 2.x touches /sys
// only with --allow-all): `--cgroup-info` reads directories, `--cgroup-container` creates ours.

function words(text: string | null | undefined): string[] {
  return (text ?? "").trim().split(/\s+/).filter(Boolean).map((c) => c.replace(/^\+/, ""));
}

/** What the launcher says of each of `dirs` (a failed call: nothing is known, so nothing is usable). */
function info(launcher: string, dirs: string[]): Record<string, CgroupDirInfo> {
  if (!dirs.length) return {};
  const res = launcherCgroups(launcher, ["--cgroup-info", ...dirs]);
  return "dirs" in res ? res.dirs : {};
}

/**
 * Creates `dir` (when missing), enables `controllers` for its children (those that reach it),
 * and removes the per-run cgroups (`<pid>-<n>-<id>`) in it that no launcher holds: each launcher
 * keeps an flock on its cgroup directory until it has removed it, so a lock taken means the run
 * is over (no guess from /proc). Returns what the launcher then sees of `dir`, or why it failed.
 */
function container(
  launcher: string,
  dir: string,
  controllers: string[] = [],
): CgroupDirInfo | { error: string } {
  const res = launcherCgroups(launcher, ["--cgroup-container", dir, ...controllers]);
  if ("error" in res) return res;
  return res.dirs[dir] ?? { error: `the launcher did not report "${dir}"` };
}

/**
 * Removes the per-run cgroups in `container` that no launcher holds (see {@link cgroupHost}).
 */
export function sweepCgroups(dir: string, launcher: string = findLauncher()): void {
  container(launcher, dir); // a failure leaves everything in place: nothing to report
}

/** Our own cgroup path per v1 controller, and the v2 path ("" key). */
function selfCgroups(probe: LauncherFeatures): Map<string, string> {
  const out = new Map<string, string>();
  for (const { controllers, path } of probe.selfCgroup) {
    if (controllers === "") out.set("", path);
    for (const c of controllers.split(",")) if (c) out.set(c, path);
  }
  return out;
}

/**
 * How root gets a cgroup subtree of its own under systemd, with every controller (`cpu`
 * included): once per process, never per run — a transient scope around it, or a service with
 * `Delegate=yes` (deploy/sandbox-ts.service).
 */
export const ROOT_DELEGATE_FIX =
  "systemd-run --scope -p Delegate=yes deno ..., or Delegate=yes in its service (deploy/sandbox-ts.service)";

/**
 * Whether a cgroup v2 path is laid out by systemd (a unit under a slice, or systemd's own
 * `init.scope`): there systemd owns the tree but the subtrees it delegates.
 */
export function systemdCgroup(self: string): boolean {
  return /^\/(init\.scope|[^/]+\.slice\/.+)$/.test(self);
}

/**
 * Where our own processes go when we work inside our own delegated cgroup: cgroup v2 lets a
 * cgroup with processes in it enable no controller for its children ("no internal processes"),
 * so the caller moves itself into this leaf beside the runs' `sandbox-ts` — as systemd's
 * delegation rules ask of a delegated scope's owner.
 */
export const CALLER_LEAF = "sandbox-ts-caller";

/**
 * The cgroup delegated to an unprivileged caller, following systemd's rules
 * (https://systemd.io/CGROUP_DELEGATION/): only the cgroup of a unit with `Delegate=yes` is the
 * caller's to create cgroups in — e.g. the scope `systemd-run --user --scope -p Delegate=yes CMD`
 * starts CMD in — never an ancestor such as `user@UID.service`, which belongs to the user's
 * systemd manager. So: our own cgroup, when it is ours (its `cgroup.procs` and
 * `cgroup.subtree_control` writable) and holds no process but ours; or its parent when we
 * moved ourselves into {@linkcode CALLER_LEAF} before (this process earlier, or the one that
 * started us). Returns the directory, or why there is none.
 *
 * Root may write anywhere, so for root "ours" means what systemd's system manager marked as
 * delegated: the cgroup of a unit with `Delegate=yes` carries `trusted.delegate=1`.
 */
function delegatedToUs(
  mount: string,
  caller: { self: string; euid: number; pid?: number },
  launcher: string,
): string | { reason: string } {
  const { self, euid } = caller;
  const pid = caller.pid ?? Deno.pid;
  const fix = euid === 0
    ? `start it in a unit with Delegate=yes: ${ROOT_DELEGATE_FIX}`
    : "start it in a delegated scope of its own: systemd-run --user --scope " +
      "-p Delegate=yes deno ...";
  const own = `${mount}${self === "/" ? "" : self}`;
  const leaf = self.endsWith(`/${CALLER_LEAF}`);
  const dir = leaf ? own.slice(0, -CALLER_LEAF.length - 1) : own;
  const seen = self === "/" ? undefined : info(launcher, [dir])[dir];
  const ours = euid === 0 ? seen?.delegated : seen?.procsWritable && seen.subtreeWritable;
  if (!seen || !ours) {
    return { reason: `our cgroup "${self}" is not delegated to uid ${euid}: ${fix}` };
  }
  if (leaf) return dir;
  // The launcher asking is in our cgroup too: it leaves itself out of `procs`.
  const others = seen.procs.filter((p) => p !== pid);
  if (others.length) {
    return {
      reason: `our cgroup "${self}" also holds other processes (${
        others.slice(0, 5).join(" ")
      }), so it cannot enable controllers for the runs: ${fix}`,
    };
  }
  const res = launcherCgroups(launcher, ["--cgroup-move", `${dir}/${CALLER_LEAF}`, String(pid)]);
  if ("error" in res) {
    return { reason: `cannot move this process into "${dir}/${CALLER_LEAF}": ${res.error}` };
  }
  return dir;
}

/** Detects a usable cgroup v2 parent under `mount` (exported for tests on a fake tree). */
export function detectV2(
  mount: string,
  caller: { self: string; euid: number; pid?: number },
  launcher: string = findLauncher(),
): CgroupHost | null {
  const { euid } = caller;
  const ctl = words(info(launcher, [mount])[mount]?.controllers);
  if (!RESOURCE_CONTROLLERS.some((c) => ctl.includes(c))) return null;
  let base = mount;
  // Root outside a delegated unit keeps the top-level `sandbox-ts` (no systemd, or a container's
  // own cgroup namespace: the whole tree is ours; under systemd: see doctor's fix).
  const found = delegatedToUs(mount, caller, launcher);
  if (euid !== 0 && typeof found !== "string") return { version: null, reason: found.reason };
  if (typeof found === "string") {
    base = found;
    // Our own delegated cgroup, now free of processes, passes its controllers down. A write
    // that fails shows in what reaches the runs, reported per limit.
    const made = container(launcher, base, RESOURCE_CONTROLLERS);
    if ("error" in made) {
      return { version: null, reason: `cannot enable controllers in "${base}": ${made.error}` };
    }
  }
  const dir = `${base}/${CONTAINER}`;
  const made = container(launcher, dir, RESOURCE_CONTROLLERS);
  if ("error" in made) return { version: null, reason: `cannot prepare "${dir}": ${made.error}` };
  const available = words(made.controllers);
  const enabled = words(made.subtreeControl);
  return {
    version: 2,
    parent: dir,
    controllers: RESOURCE_CONTROLLERS.filter((c) => available.includes(c) && enabled.includes(c)),
    swapUnlimited: hostProbe(launcher).swaps && !made.swapMax,
  };
}

function detectV1(probe: LauncherFeatures, euid: number, launcher: string): CgroupHost | null {
  const self = selfCgroups(probe);
  const parents: Partial<Record<V1Controller, string>> = {};
  let found = false;
  let memsw = false;
  const hierarchies = V1_CONTROLLERS.flatMap((ctl) => {
    const m = probe.cgroupMounts.find((x) =>
      x.type === "cgroup" && x.opts.split(",").includes(ctl)
    );
    if (!m) return [];
    const path = self.get(ctl) ?? "/";
    return [{ ctl, dir: `${m.dir}${path === "/" ? "" : path}` }];
  });
  const seen = euid === 0 ? {} : info(launcher, [...new Set(hierarchies.map((h) => h.dir))]);
  for (const { ctl, dir } of hierarchies) {
    found = true;
    if (euid !== 0 && !seen[dir]?.procsWritable) continue;
    const made = container(launcher, `${dir}/${CONTAINER}`);
    if ("error" in made) continue;
    parents[ctl] = `${dir}/${CONTAINER}`;
    if (ctl === "memory") memsw = made.memsw;
  }
  if (!found) return null;
  if (!Object.keys(parents).length) {
    return { version: null, reason: `the cgroup v1 hierarchies are not writable by uid ${euid}` };
  }
  return {
    version: 1,
    parents,
    swapUnlimited: parents.memory !== undefined && probe.swaps && !memsw,
  };
}

let cached: CgroupHost | undefined;

/**
 * The cgroup facilities for this process (detected once, through `launcher`; sweeps stale runs).
 */
export function cgroupHost(euid: number, launcher: string = findLauncher()): CgroupHost {
  if (cached) return cached;
  const probe = hostProbe(launcher);
  const self = selfCgroups(probe);
  let host: CgroupHost | null = null;
  for (const m of probe.cgroupMounts.filter((x) => x.type === "cgroup2")) {
    host = detectV2(m.dir, { self: self.get("") ?? "/", euid }, launcher);
    if (host) break;
  }
  if (!host || host.version === null) host = detectV1(probe, euid, launcher) ?? host;
  cached = host ?? { version: null, reason: "no cgroup hierarchy with memory, pids or cpu" };
  return cached;
}

let counter = 0;

/**
 * A unique cgroup name for one run: `<deno pid>-<n>-<random>-<id>` (the sweep reads the pid). The
 * random part keeps names apart where the counter alone would not: a module loaded twice in one
 * process (each copy counts from 0) while a SIGKILLed launcher left its cgroup behind.
 */
export function runCgroupName(id: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `${Deno.pid}-${++counter}-${random}-${id}`;
}

/** What is mounted: the cgroup version, its controllers, and where (for `doctor`). */
export interface CgroupMounts {
  version: 1 | 2 | null;
  controllers: string[];
  root: string | null;
}

/** Finds cgroup mounts (as the launcher reports them): v2 with a resource controller wins; else the v1 controllers. */
export function cgroupMounts(all: LauncherFeatures["cgroupMounts"]): CgroupMounts {
  const v1: string[] = [];
  let v2root: string | null = null;
  let v1root: string | null = null;
  for (const m of all) {
    if (m.type === "cgroup2") {
      // A v2 hierarchy counts only with a resource controller (here it may hold only hugetlb).
      const ctl = words(m.controllers);
      if (ctl.some((c) => RESOURCE_CONTROLLERS.includes(c))) {
        return { version: 2, controllers: ctl, root: m.dir };
      }
      v2root ??= m.dir;
    } else if (m.type === "cgroup") {
      for (const o of m.opts.split(",")) {
        if (["memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "freezer"].includes(o)) {
          v1.push(o);
          v1root ??= m.dir.slice(0, m.dir.lastIndexOf("/")) || "/";
        }
      }
    }
  }
  if (v1.length) return { version: 1, controllers: [...new Set(v1)].sort(), root: v1root };
  return { version: v2root ? 2 : null, controllers: [], root: v2root };
}
