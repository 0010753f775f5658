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

/** The controllers limits use, and the limit each enforces. */
const LIMIT_CONTROLLERS = ["memory", "pids", "cpu"] as const;
const CONTROLLER_LIMIT: Record<string, string> = {
  memory: "--memory",
  pids: "--pids",
  cpu: "--cpu",
};

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
  // Whether this user can create the cgroups that memory, pids and CPU limits need — each
  // controller on its own: a subtree delegated without one is not "usable" for that limit.
  const usable = cgroupHost(euid, launcher);
  const reaching = usable.version === 2
    ? usable.controllers
    : usable.version === 1
    ? Object.keys(usable.parents)
    : [];
  const missing = LIMIT_CONTROLLERS.filter((c) => !reaching.includes(c));
  const where = usable.version === 2
    ? `runs get a cgroup under ${usable.parent}`
    : `runs get cgroups in the v1 hierarchies`;
  checks.push({
    name: "Cgroup limits",
    ok: usable.version !== null && missing.length === 0,
    detail: usable.version === null
      ? `not usable by uid ${euid}: ${usable.reason}`
      : missing.length === 0
      ? `usable: ${where} (${reaching.join(" ")})`
      : `partly usable: ${where} with ${reaching.join(" ") || "no controller"}; missing ${
        missing.join(" ")
      } (${missing.map((c) => CONTROLLER_LIMIT[c]).join(", ")}: refused under strict limits, ` +
        `approximated or dropped under best effort)`,
    ...(usable.version !== null && missing.length === 0 ? {} : {
      fix: usable.version === 1
        ? `mount the cgroup v1 hierarchy of ${missing.join(" ")} writable for uid ${euid}`
        : euid === 0
        ? `enable ${missing.join(" ")} in the cgroup v2 root: echo "${
          missing.map((c) => `+${c}`).join(" ")
        }" > /sys/fs/cgroup/cgroup.subtree_control (inside a container: give it its own cgroup namespace with the controllers delegated)`
        : usable.version === 2
        ? `delegate ${
          missing.join(" ")
        } to your user: a drop-in for user@.service with [Service] Delegate=pids memory cpu (systemctl daemon-reload, then log in again)`
        : 'run inside a delegated cgroup v2 scope of its own (systemd-run --user --scope -p Delegate=yes deno ...), or accept rlimit approximations with limits "best-effort"',
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
