/**
 * What this machine supports, probed for real, and which mode `auto` picks — with the fix for
 * each missing piece.
 *
 * @module
 */

import { findLauncher } from "./launcher.ts";
import { resolveMode } from "./policy.ts";
import {
  cgroupHost,
  type CgroupMounts,
  cgroupMounts,
  ROOT_DELEGATE_FIX,
  systemdCgroup,
} from "./cgroups.ts";
import { hostProbe } from "./host_facts.ts";
import type { ResolvedMode } from "./types.ts";
import {
  containerCgroupFix,
  type ContainerContext,
  containerFix,
  containerRootIdsFix,
  detectContainer,
} from "./container.ts";
import { SandboxBuilder } from "./builder.ts";
import { SandboxSetupError } from "./errors.ts";

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
  /** The container this runs in (a runtime's marker file), or null. */
  container: ContainerContext | null;
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
  const container = detectContainer(features);
  if (container) {
    checks.push({
      name: "Container",
      ok: true,
      detail: `${container.runtime} (${container.markers.join(", ")}${
        container.cgroupNamespaceRoot ? "; at the root of its cgroup namespace" : ""
      }): the runtime decides what a sandbox may do here; see "Sandbox run"`,
    });
  }
  checks.push({
    name: "User namespaces",
    ok: features.userns,
    detail: features.userns
      ? "a user namespace with id maps, mount, pid and net namespaces, a hostname, a procfs and its budgets works"
      : `failed at ${features.usernsStep} (errno ${features.usernsErrno})`,
    ...(features.userns ? {} : {
      fix: features.apparmorRestrictUserns === 1
        ? "Ubuntu's AppArmor restricts unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or add an AppArmor profile granting userns to the deno binary"
        : features.maxUserNamespaces === 0
        ? "sysctl -w user.max_user_namespaces=15000"
        : container
        ? containerFix(container, euid)
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
  const selfV2 = features.selfCgroup.find((c) => c.controllers === "")?.path ?? "/";
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
      fix: container
        ? `${missing.join(" ")} not writable in this container: ${
          containerCgroupFix(container, cg.version)
        }`
        : usable.version === 1
        ? `mount the cgroup v1 hierarchy of ${missing.join(" ")} writable for uid ${euid}`
        : euid === 0 && usable.version === 2 && systemdCgroup(selfV2)
        ? `systemd enables ${
          missing.join(" ")
        } only for the units that ask: run it in a unit with Delegate=yes, once per process: ${ROOT_DELEGATE_FIX}`
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
    container,
    checks,
  };
}

/**
 * {@linkcode doctor}'s report plus a real run of `true` with the defaults ("Sandbox run"): the
 * probes test each feature alone, but a container's settings (a read-only `/proc/sys`, masked
 * `/proc` paths, a seccomp profile that refuses `sethostname`) can still stop a whole run — the
 * trial says which step failed, and inside a container the runtime flags that fix it.
 */
export async function doctorWithTrial(launcherPath?: string): Promise<DoctorReport> {
  const report = doctor(launcherPath);
  const launcher = findLauncher(launcherPath);
  const fix = report.container ? containerFix(report.container, report.euid) : undefined;
  let check: DoctorCheck;
  try {
    const sandbox = new SandboxBuilder("doctor").launcherPath(launcher).timeout("20s").build();
    const r = await sandbox.run("true");
    const ns = sandbox.enforced.namespaces;
    check = r.exitCode !== 0
      ? { name: "Sandbox run", ok: false, detail: `a default run of "true" exited ${r.exitCode}` }
      : ns.length === 0
      ? {
        name: "Sandbox run",
        ok: false,
        detail:
          'a default run of "true" works under Landlock alone: no namespaces (no private /proc, /tmp, network or pid space)',
        fix: fix ?? "see the User namespaces check",
      }
      : {
        name: "Sandbox run",
        ok: true,
        detail: `a default run of "true" works (${r.mode}; namespaces ${ns.join(" ")})`,
      };
  } catch (e) {
    const detail = e instanceof SandboxSetupError
      ? `a default run of "true" fails at step "${e.step}"${
        e.path ? ` for "${e.path}"` : ""
      }: ${e.errno}`
      : `a default run of "true" fails: ${e instanceof Error ? e.message : String(e)}`;
    const rootIds = report.container && report.euid === 0 && e instanceof SandboxSetupError &&
      e.step === "setuid" && e.errno === "EINVAL";
    check = {
      name: "Sandbox run",
      ok: false,
      detail,
      fix: (rootIds ? containerRootIdsFix(report.container!) : fix) ??
        'see README "When something fails inside"; --no-namespaces runs under Landlock alone',
    };
  }
  report.checks.push(check);
  return report;
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
    lines.push(
      'Warning: without user namespaces, runs with namespaces "auto" (the default) get Landlock alone — no private /proc, /tmp, network or pid space — and runs that ask for namespaces fail with a setup error (see the fix above)',
    );
  }
  return lines.join("\n");
}
