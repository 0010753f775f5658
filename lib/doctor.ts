/**
 * What this machine supports, probed for real, and which mode `auto` picks — with the fix for
 * each missing piece.
 *
 * @module
 */

import { findLauncher } from "./launcher.ts";
import { resolveMode } from "./policy.ts";
import { cgroupHost, type CgroupMounts, cgroupMounts } from "./cgroups.ts";
import { hostProbe } from "./host_facts.ts";
import type { ResolvedMode } from "./types.ts";

/** One line of the report. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
}

/** The whole report. */
export interface DoctorReport {
  euid: number;
  autoMode: ResolvedMode;
  userns: boolean;
  cgroup: CgroupMounts;
  /** The cgroup backend runs of this user get for memory, pids and CPU limits, or null. */
  cgroupLimits: "cgroup-v2" | "cgroup-v1" | null;
  landlockAbi: number | null;
  seccompActions: string[];
  overlay: boolean;
  checks: DoctorCheck[];
}

/**
 * Probes the machine (runs the launcher's `--features`, which creates a real user namespace).
 *
 * @example
 * ```ts ignore
 * import { doctor } from "./doctor.ts";
 * const report = doctor();
 * console.log(report.autoMode, report.userns);
 * ```
 */
export function doctor(launcherPath?: string): DoctorReport {
  // Every fact comes from the launcher's probe: Deno reads /proc and /sys only with -A.
  const launcher = findLauncher(launcherPath);
  const features = hostProbe(launcher);
  const euid = features.euid;
  const checks: DoctorCheck[] = [];
  checks.push({
    name: "User namespaces",
    ok: features.userns,
    detail: features.userns
      ? "a user namespace with id maps, mount, pid and net namespaces works"
      : `failed at ${features.usernsStep} (errno ${features.usernsErrno})`,
    ...(features.userns ? {} : {
      fix: features.apparmorRestrictUserns === 1
        ? "Ubuntu's AppArmor restricts unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or add an AppArmor profile granting userns to the deno binary"
        : features.maxUserNamespaces === 0
        ? "sysctl -w user.max_user_namespaces=15000"
        : "a container runtime's seccomp profile may block unshare/clone: run the container with --security-opt seccomp=unconfined or a profile that allows user namespaces",
    }),
  });
  const cg = cgroupMounts(features.cgroupMounts);
  checks.push({
    name: "Cgroups",
    ok: cg.version !== null && cg.controllers.length > 0,
    detail: cg.version
      ? `cgroup v${cg.version} at ${cg.root} (${cg.controllers.join(" ") || "no controllers"})`
      : "no cgroup hierarchy mounted",
    ...(cg.controllers.length ? {} : {
      fix:
        "mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup) and enable controllers",
    }),
  });
  // Whether this user can create the cgroups that memory, pids and CPU limits need.
  const usable = cgroupHost(euid, launcher);
  checks.push({
    name: "Cgroup limits",
    ok: usable.version !== null,
    detail: usable.version === 2
      ? `usable: runs get a cgroup under ${usable.parent}`
      : usable.version === 1
      ? `usable: runs get cgroups in the v1 hierarchies (${Object.keys(usable.parents).join(" ")})`
      : `not usable by uid ${euid}: ${usable.reason}`,
    ...(usable.version !== null ? {} : {
      fix: euid === 0
        ? "enable the memory, pids and cpu controllers (cgroup v2) or mount their v1 hierarchies"
        : 'run inside a delegated cgroup v2 subtree (systemd-run --user --scope -p Delegate=yes deno ...), or accept rlimit approximations with limits "best-effort"',
    }),
  });
  checks.push({
    name: "Landlock LSM",
    ok: features.landlockAbi > 0,
    detail: features.landlockAbi > 0
      ? `ABI ${features.landlockAbi}`
      : features.landlockErrno === 95
      ? "built in but disabled at boot"
      : "not available",
    ...(features.landlockAbi > 0 ? {} : {
      fix: features.landlockErrno === 95
        ? 'add "landlock" to the lsm= kernel boot parameter'
        : "needs Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK",
    }),
  });
  checks.push({
    name: "Seccomp BPF",
    ok: features.seccomp.includes("kill_process"),
    detail: `actions: ${features.seccomp.join(" ") || "none"}`,
    ...(features.seccomp.length ? {} : { fix: "needs a kernel with CONFIG_SECCOMP_FILTER" }),
  });
  const overlay = features.overlay;
  checks.push({
    name: "OverlayFS",
    ok: overlay,
    detail: overlay ? "available" : "not loaded",
    ...(overlay ? {} : { fix: "modprobe overlay" }),
  });
  checks.push({
    name: "Root privileges",
    ok: euid === 0,
    detail: euid === 0 ? "running as root" : `running as uid ${euid}`,
    ...(euid === 0 ? {} : { fix: "not needed: unprivileged mode uses user namespaces" }),
  });
  return {
    euid,
    autoMode: resolveMode("auto", euid),
    userns: features.userns,
    cgroup: cg,
    cgroupLimits: usable.version === null ? null : `cgroup-v${usable.version}`,
    landlockAbi: features.landlockAbi > 0 ? features.landlockAbi : null,
    seccompActions: features.seccomp,
    overlay,
    checks,
  };
}

/** The report as text, in the seed's `[ok]` / `[--]` style. */
export function formatDoctor(r: DoctorReport): string {
  const lines = ["Sandbox capabilities:"];
  for (const c of r.checks) {
    lines.push(`  ${c.ok ? "[ok]" : "[--]"} ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`       fix: ${c.fix}`);
  }
  lines.push("", `Resolved mode (auto): ${r.autoMode}`);
  if (!r.userns) {
    lines.push("Warning: without user namespaces runs fail with a setup error (see the fix above)");
  }
  return lines.join("\n");
}
