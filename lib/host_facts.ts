/**
 * Reads the facts about this machine that a sandbox's policy depends on — through the launcher:
 * one `sandbox-launcher --features` call per launcher and process answers what `/proc`, `/sys`
 * and the host's root hold (Deno 2.x reads under `/proc` and `/sys` only with `--allow-all`),
 * so that the Deno side touches only the launcher, its own state dir and what the policy names.
 * Everything here only reads; what a run must create on the host is prepared by
 * `lib/sandbox.ts`.
 *
 * @module
 */

import { type LauncherFeatures, launcherFeatures } from "./launcher.ts";
import { type DirEntry, ETC_ENTRIES, SYSTEM_DIRS } from "./mounts.ts";
import type { HostLayout } from "./policy.ts";
import type { Arch } from "./syscalls.ts";
import { LauncherError, UnsupportedError } from "./errors.ts";
import { CONTAINER_MARKERS } from "./container.ts";
import { learnCallerUid, rethrowPermission } from "./_host.ts";
import type { ResolvedConfig } from "./types.ts";

/** The host's seccomp architecture; any other machine is refused, naming what is supported. */
export function hostArch(): Arch {
  const arch = Deno.build.arch;
  if (arch !== "x86_64" && arch !== "aarch64") {
    throw new UnsupportedError(`Unsupported architecture "${arch}": expected x86_64 or aarch64`);
  }
  return arch;
}

const probes = new Map<string, LauncherFeatures>();

/**
 * What `launcher --features` says of this machine, asked once per launcher and process: kernel
 * features, the caller's ids, `/proc` facts, cgroup mounts, and the kinds of
 * {@linkcode SYSTEM_DIRS}, the {@linkcode ETC_ENTRIES} (under `/etc`) and the container runtimes' marker files. Throws
 * `LauncherError` when the launcher does not answer.
 */
export function hostProbe(launcher: string): LauncherFeatures {
  let probe = probes.get(launcher);
  if (!probe) {
    probe = launcherFeatures(launcher, [
      ...SYSTEM_DIRS,
      ...ETC_ENTRIES.map((e) => `/etc/${e}`),
      ...CONTAINER_MARKERS, // for doctor's container-specific fixes
    ]);
    if (probe.exeDistrust) {
      throw new LauncherError(
        `Refusing to run the sandbox launcher "${launcher}": ${probe.exeDistrust}. Another user could replace it; use a launcher in a directory only you or root can write`,
      );
    }
    learnCallerUid(probe.euid);
    probes.set(launcher, probe);
  }
  return probe;
}

/**
 * Which system directories exist on the host, which are symlinks, the `/etc` entries, the
 * user-namespace budgets; the kernel's Landlock ABI and user-namespace support when `config`
 * depends on them.
 */
function hostLayout(probe: LauncherFeatures, config: ResolvedConfig): HostLayout {
  const system: HostLayout["system"] = {};
  for (const dir of SYSTEM_DIRS) {
    const p = probe.paths[dir];
    if (p?.link !== undefined) system[dir] = { link: p.link };
    else if (p?.type === "dir") system[dir] = { dir: true };
  }
  const etc: Record<string, "file" | "dir"> = {};
  const found = Object.keys(probe.paths).filter((p) => p.startsWith("/etc/")).sort();
  for (const entry of ETC_ENTRIES) {
    const prefix = `/etc/${entry.replace(/\*$/, "")}`;
    const names = entry.endsWith("*") ? found.filter((p) => p.startsWith(prefix)) : [prefix];
    for (const path of names) {
      const type = probe.paths[path]?.type;
      if (type === "file" || type === "dir") etc[path.slice(5)] = type;
    }
  }
  return {
    system,
    etc,
    arch: hostArch(),
    ...(probe.usernsLimits ? { usernsLimits: probe.usernsLimits } : {}),
    ...(config.landlock !== "off" || config.namespaces === "auto"
      ? { landlockAbi: probe.landlockAbi, userns: probe.userns }
      : {}),
  };
}

/**
 * The host facts one sandbox needs: which system directories and `/etc` entries exist, which
 * per-user-namespace budgets the kernel keeps, the kernel's Landlock ABI and user-namespace
 * support (all asked of `launcher`, once), and the top-level entries of its rootfs (read here:
 * the policy names it, so the caller grants `--allow-read` for it). Reads only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readHost } from "./host_facts.ts";
 * import { validateConfig } from "./policy.ts";
 *
 * const launcher = new URL("../launcher/sandbox-launcher", import.meta.url).pathname;
 * const host = readHost(validateConfig({ rootfs: "/" }), launcher);
 * assert.deepEqual(host.rootfs?.etc, { dir: true });
 * assert.ok(host.arch === "x86_64" || host.arch === "aarch64");
 * ```
 */
export function readHost(config: ResolvedConfig, launcher: string): HostLayout {
  const host: HostLayout = hostLayout(hostProbe(launcher), config);
  if (config.rootfs) {
    const entries: Record<string, DirEntry> = {};
    try {
      for (const e of Deno.readDirSync(config.rootfs.path)) {
        const p = `${config.rootfs.path}/${e.name}`;
        if (e.isSymlink) entries[e.name] = { link: Deno.readLinkSync(p) };
        else if (e.isDirectory) entries[e.name] = { dir: true };
        else if (e.isFile) entries[e.name] = { file: true };
      }
    } catch (e) {
      rethrowPermission(e, config.rootfs.path);
      throw new UnsupportedError(
        `Cannot read rootfs "${config.rootfs.path}": ${(e as Error).message}`,
      );
    }
    host.rootfs = entries;
  }
  return host;
}
