/**
 * Reads the facts about this machine that a sandbox's policy depends on. Everything here only
 * reads (the host's root, the launcher's `--features`, a rootfs directory); what a run must
 * create on the host is prepared by `lib/sandbox.ts`.
 *
 * @module
 */

import { launcherFeatures } from "./launcher.ts";
import { type DirEntry, ETC_ENTRIES, SYSTEM_DIRS } from "./mounts.ts";
import type { HostLayout } from "./policy.ts";
import type { Arch } from "./syscalls.ts";
import { UnsupportedError } from "./errors.ts";
import { rethrowPermission } from "./_host.ts";
import type { ResolvedConfig } from "./types.ts";

let hostLayout: HostLayout | undefined;

/** The host's seccomp architecture; any other machine is refused, naming what is supported. */
export function hostArch(): Arch {
  const arch = Deno.build.arch;
  if (arch !== "x86_64" && arch !== "aarch64") {
    throw new UnsupportedError(`Unsupported architecture "${arch}": expected x86_64 or aarch64`);
  }
  return arch;
}

/** Reads which system directories exist on the host and which are symlinks (once). */
function readHostLayout(): HostLayout {
  if (hostLayout) return hostLayout;
  const system: HostLayout["system"] = {};
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = Deno.lstatSync(dir);
      if (st.isSymlink) system[dir] = { link: Deno.readLinkSync(dir) };
      else if (st.isDirectory) system[dir] = { dir: true };
    } catch (e) {
      rethrowPermission(e, dir); // else absent on this host
    }
  }
  const etc: Record<string, "file" | "dir"> = {};
  let listing: string[] | null = null;
  const names = ETC_ENTRIES.flatMap((entry) => {
    if (!entry.includes("*")) return [entry];
    try {
      listing ??= [...Deno.readDirSync("/etc")].map((e) => e.name).sort();
    } catch {
      listing = [];
    }
    const prefix = entry.slice(0, entry.indexOf("*"));
    return listing.filter((n) => n.startsWith(prefix));
  });
  for (const name of names) {
    try {
      const st = Deno.statSync(`/etc/${name}`);
      if (st.isFile) etc[name] = "file";
      else if (st.isDirectory) etc[name] = "dir";
    } catch (e) {
      rethrowPermission(e, `/etc/${name}`); // else absent on this host
    }
  }
  hostLayout = { system, etc, arch: hostArch(), ...usernsLimits() };
  return hostLayout;
}

/** The budgets this kernel keeps per user namespace (`/proc/sys/user/max_*`). */
function usernsLimits(): { usernsLimits?: string[] } {
  try {
    const names = [...Deno.readDirSync("/proc/sys/user")].map((e) => e.name);
    return { usernsLimits: names.filter((n) => n.startsWith("max_")).map((n) => n.slice(4)) };
  } catch (e) {
    rethrowPermission(e, "/proc/sys/user");
    return {}; // unknown: ask for all, the launcher names what fails
  }
}

/** The kernel's Landlock ABI and user-namespace support, once per launcher (a real probe). */
const kernelFacts = new Map<string, { landlockAbi: number; userns?: boolean }>();

function readKernelFacts(launcher: string): { landlockAbi: number; userns?: boolean } {
  let facts = kernelFacts.get(launcher);
  if (!facts) {
    try {
      const f = launcherFeatures(launcher);
      facts = { landlockAbi: f.landlockAbi, userns: f.userns };
    } catch {
      facts = { landlockAbi: 0 }; // not a launcher that answers --features: assume nothing
    }
    kernelFacts.set(launcher, facts);
  }
  return facts;
}

/**
 * The host facts one sandbox needs: which system directories and `/etc` entries exist and which
 * per-user-namespace budgets the kernel keeps (read once per process), the kernel's Landlock ABI
 * and user-namespace support when the config depends on them (asked of `launcher` once), and the
 * top-level entries of its rootfs. Reads only: it creates and changes nothing.
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
  const host: HostLayout = { ...readHostLayout() };
  if (config.landlock !== "off" || config.namespaces === "auto") {
    Object.assign(host, readKernelFacts(launcher));
  }
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
      throw new UnsupportedError(
        `Cannot read rootfs "${config.rootfs.path}": ${(e as Error).message}`,
      );
    }
    host.rootfs = entries;
  }
  return host;
}
