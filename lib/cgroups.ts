/**
 * Finds where this process may create cgroups, once per process: a `sandbox-ts` directory of
 * our own (created here) under which the launcher creates one cgroup per run. Also sweeps the
 * per-run cgroups of processes that died (a launcher killed with SIGKILL cannot remove its own).
 *
 * - cgroup v2, root: `<mount>/sandbox-ts`, with memory/pids/cpu enabled in its subtree_control
 *   (they must be enabled in the mount root's; we never change a cgroup we did not create).
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
import { type Mount, mounts, readText as read, rethrowPermission } from "./_host.ts";

const CONTAINER = "sandbox-ts";
const V1_CONTROLLERS: V1Controller[] = ["memory", "pids", "cpu", "cpuacct"];
/** The controllers limits use (cgroup v2 names); a hierarchy without any is no use to us. */
const RESOURCE_CONTROLLERS = ["memory", "pids", "cpu"];

function writable(path: string): boolean {
  try {
    const f = Deno.openSync(path, { write: true });
    f.close();
    return true;
  } catch (e) {
    rethrowPermission(e, path);
    return false;
  }
}

function exists(path: string): boolean {
  return read(path) !== null;
}

/** Whether any swap area is active (the first line of /proc/swaps is a header). */
function hostSwaps(): boolean {
  return (read("/proc/swaps") ?? "").trim().split("\n").length > 1;
}

function ensureDir(path: string): boolean {
  try {
    Deno.mkdirSync(path, { mode: 0o755 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) return false;
  }
  return writable(`${path}/cgroup.procs`);
}

/**
 * Removes per-run cgroups (`<pid>-<n>-<id>`) that no launcher holds: each launcher keeps an
 * flock on its cgroup directory until it has removed it, so a lock taken here means the run is
 * over (no guess from /proc, which a narrow `--allow-read` hides). rmdir also fails (EBUSY)
 * while a cgroup is populated.
 */
export function sweepCgroups(container: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(container)];
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory || !/^\d+-\d+-/.test(e.name)) continue;
    let dir: Deno.FsFile;
    try {
      dir = Deno.openSync(`${container}/${e.name}`, { read: true });
    } catch {
      continue; // raced with its launcher's own removal, or not ours to open
    }
    try {
      // Removed while this lock is held: its launcher, if it just made it, sees the name gone
      // and makes it again.
      if (dir.tryLockSync(true)) Deno.removeSync(`${container}/${e.name}`);
    } catch {
      // busy or raced: leave it
    } finally {
      dir.close();
    }
  }
}

/** Our own cgroup path per v1 controller, and the v2 path ("" key). */
function selfCgroups(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (read("/proc/self/cgroup") ?? "").split("\n")) {
    const [, ctls, path] = line.split(":");
    if (ctls === undefined || path === undefined) continue;
    if (ctls === "") out.set("", path);
    for (const c of ctls.split(",")) if (c) out.set(c, path);
  }
  return out;
}

/**
 * Where our own processes go when we work inside our own delegated cgroup: cgroup v2 lets a
 * cgroup with processes in it enable no controller for its children ("no internal processes"),
 * so the caller moves itself into this leaf beside the runs' `sandbox-ts` — as systemd's
 * delegation rules ask of a delegated scope's owner.
 */
export const CALLER_LEAF = "sandbox-ts-caller";

/** The pids listed in a `cgroup.procs` file. */
function procs(path: string): number[] {
  return (read(path) ?? "").split("\n").filter(Boolean).map(Number);
}

/**
 * The cgroup delegated to an unprivileged caller, following systemd's rules
 * (https://systemd.io/CGROUP_DELEGATION/): only the cgroup of a unit with `Delegate=yes` is the
 * caller's to create cgroups in — e.g. the scope `systemd-run --user --scope -p Delegate=yes CMD`
 * starts CMD in — never an ancestor such as `user@UID.service`, which belongs to the user's
 * systemd manager. So: our own cgroup, when it is ours (its `cgroup.procs` and
 * `cgroup.subtree_control` writable) and holds no process but ours; or its parent when we
 * moved ourselves into {@linkcode CALLER_LEAF} before (this process earlier, or the one that
 * started us). Returns the directory, or why there is none.
 */
function delegatedToUs(
  mount: string,
  caller: { self: string; euid: number; pid?: number },
): string | { reason: string } {
  const { self, euid } = caller;
  const pid = caller.pid ?? Deno.pid;
  const fix = "start it in a delegated scope of its own: systemd-run --user --scope " +
    "-p Delegate=yes deno ...";
  const own = `${mount}${self === "/" ? "" : self}`;
  const leaf = self.endsWith(`/${CALLER_LEAF}`);
  const dir = leaf ? own.slice(0, -CALLER_LEAF.length - 1) : own;
  if (
    self === "/" || !writable(`${dir}/cgroup.procs`) || !writable(`${dir}/cgroup.subtree_control`)
  ) {
    return { reason: `our cgroup "${self}" is not delegated to uid ${euid}: ${fix}` };
  }
  if (leaf) return dir;
  const others = procs(`${dir}/cgroup.procs`).filter((p) => p !== pid);
  if (others.length) {
    return {
      reason: `our cgroup "${self}" also holds other processes (${
        others.slice(0, 5).join(" ")
      }), so it cannot enable controllers for the runs: ${fix}`,
    };
  }
  if (!ensureDir(`${dir}/${CALLER_LEAF}`)) {
    return { reason: `cannot create "${dir}/${CALLER_LEAF}"` };
  }
  try {
    Deno.writeTextFileSync(`${dir}/${CALLER_LEAF}/cgroup.procs`, String(pid));
  } catch (e) {
    return { reason: `cannot move this process into "${dir}/${CALLER_LEAF}": ${e}` };
  }
  return dir;
}

/** Detects a usable cgroup v2 parent under `mount` (exported for tests on a fake tree). */
export function detectV2(
  mount: string,
  caller: { self: string; euid: number; pid?: number },
): CgroupHost | null {
  const { euid } = caller;
  const ctl = (read(`${mount}/cgroup.controllers`) ?? "").trim().split(/\s+/);
  if (!RESOURCE_CONTROLLERS.some((c) => ctl.includes(c))) return null;
  let base: string;
  if (euid === 0) {
    base = mount;
  } else {
    const found = delegatedToUs(mount, caller);
    if (typeof found !== "string") return { version: null, reason: found.reason };
    base = found;
    try {
      // Our own delegated cgroup, now free of processes, passes its controllers down.
      enableControllers(base);
    } catch (e) {
      return { version: null, reason: `cannot enable controllers in "${base}": ${e}` };
    }
  }
  const container = `${base}/${CONTAINER}`;
  if (!ensureDir(container)) {
    return { version: null, reason: `cannot create "${container}"` };
  }
  try {
    enableControllers(container);
  } catch (e) {
    return { version: null, reason: `cannot enable controllers in "${container}": ${e}` };
  }
  sweepCgroups(container);
  const enabled = controllers(`${container}/cgroup.subtree_control`);
  return {
    version: 2,
    parent: container,
    controllers: RESOURCE_CONTROLLERS.filter((c) => enabled.includes(c)),
    swapUnlimited: hostSwaps() && !exists(`${container}/memory.swap.max`),
  };
}

function controllers(path: string): string[] {
  return (read(path) ?? "").trim().split(/\s+/).filter(Boolean).map((c) => c.replace(/^\+/, ""));
}

/**
 * Enables in `dir`'s subtree_control every resource controller that reaches `dir`. A write
 * that fails is left to the caller to notice (in `controllers`): what did not reach the runs is
 * reported per limit, not a reason to give up the others.
 */
function enableControllers(dir: string): void {
  const wanted = RESOURCE_CONTROLLERS.filter((c) =>
    controllers(`${dir}/cgroup.controllers`).includes(c)
  );
  if (!wanted.length) return;
  const done = controllers(`${dir}/cgroup.subtree_control`);
  if (wanted.every((c) => done.includes(c))) return;
  Deno.writeTextFileSync(`${dir}/cgroup.subtree_control`, wanted.map((c) => `+${c}`).join(" "));
}

function detectV1(all: Mount[], self: Map<string, string>, euid: number): CgroupHost | null {
  const parents: Partial<Record<V1Controller, string>> = {};
  let found = false;
  for (const ctl of V1_CONTROLLERS) {
    const m = all.find((x) => x.type === "cgroup" && x.opts.includes(ctl));
    if (!m) continue;
    found = true;
    const path = self.get(ctl) ?? "/";
    const container = `${m.dir}${path === "/" ? "" : path}/${CONTAINER}`;
    if (euid !== 0 && !writable(`${m.dir}${path === "/" ? "" : path}/cgroup.procs`)) continue;
    if (!ensureDir(container)) continue;
    sweepCgroups(container);
    parents[ctl] = container;
  }
  if (!found) return null;
  if (!Object.keys(parents).length) {
    return { version: null, reason: `the cgroup v1 hierarchies are not writable by uid ${euid}` };
  }
  const mem = parents.memory;
  return {
    version: 1,
    parents,
    swapUnlimited: mem !== undefined && hostSwaps() &&
      !exists(`${mem}/memory.memsw.limit_in_bytes`),
  };
}

let cached: CgroupHost | undefined;

/** The cgroup facilities for this process (detected once; sweeps stale runs). */
export function cgroupHost(euid: number): CgroupHost {
  if (cached) return cached;
  const all = mounts();
  const self = selfCgroups();
  let host: CgroupHost | null = null;
  for (const m of all.filter((x) => x.type === "cgroup2")) {
    host = detectV2(m.dir, { self: self.get("") ?? "/", euid });
    if (host) break;
  }
  if (!host || host.version === null) host = detectV1(all, self, euid) ?? host;
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

/** Finds cgroup mounts: v2 with a resource controller wins; else the v1 controllers. */
export function cgroupMounts(all: Mount[] = mounts()): CgroupMounts {
  const v1: string[] = [];
  let v2root: string | null = null;
  let v1root: string | null = null;
  for (const m of all) {
    if (m.type === "cgroup2") {
      // A v2 hierarchy counts only with a resource controller (here it may hold only hugetlb).
      const ctl = (read(`${m.dir}/cgroup.controllers`) ?? "").trim().split(/\s+/).filter(Boolean);
      if (ctl.some((c) => RESOURCE_CONTROLLERS.includes(c))) {
        return { version: 2, controllers: ctl, root: m.dir };
      }
      v2root ??= m.dir;
    } else if (m.type === "cgroup") {
      for (const o of m.opts) {
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
