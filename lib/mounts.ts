/**
 * Filesystem policy: validates mounts, rootfs, namespaces and Landlock settings, builds the
 * sandbox's root as launcher ops (in destination-depth order), and derives the view Landlock
 * enforces — inside the new root with namespaces, on the host's paths without them. Pure: facts
 * about the host come in as {@linkcode FsHost}.
 *
 * @module
 */

import type { Op } from "./config.ts";
import { UnsupportedError } from "./errors.ts";
import { homeOf, identityEnv, identityFiles, SYNTHESIZED_ETC } from "./identity.ts";
import { type LandlockPlan, planLandlock, type ViewEntry } from "./landlock.ts";
import {
  checkFields,
  describeValue,
  parseNonZeroSize,
  validateAbsolutePath,
  validateChoice,
} from "./parse.ts";
import type {
  LandlockMode,
  MountConfig,
  ResolvedConfig,
  ResolvedMount,
  SandboxConfig,
} from "./types.ts";

/** Top-level host entries of the default root: directories are bound read-only, symlinks copied. */
export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"];

/**
 * The parts of `/etc` programs need. Never `shadow`, `gshadow`, `sudoers` or keys. With namespaces
 * `passwd`, `group` and `hosts` are synthesized instead ({@linkcode identityFiles}); Landlock alone
 * can only show the host's.
 */
export const ETC_ENTRIES = [
  "passwd",
  "group",
  "hosts",
  "host.conf",
  "nsswitch.conf",
  "resolv.conf",
  "gai.conf",
  "protocols",
  "services",
  "networks",
  "ld.so.cache",
  "localtime",
  "timezone",
  "alternatives",
  // Not all of ssl/: ssl/private holds the host's TLS private keys.
  "ssl/certs",
  "ssl/openssl.cnf",
  "ca-certificates",
  "ca-certificates.conf",
  "mime.types",
  "os-release",
  "debian_version",
  "inputrc",
  "magic",
  "magic.mime",
  // What programs under /usr reach through symlinks into /etc (Debian: the JDK's security and
  // logging files, Maven's settings, Python's sitecustomize, locale aliases, fonts, X11, groff).
  // A name with `*` matches every /etc entry with that prefix.
  "java-*",
  "maven",
  "python3*",
  "perl",
  "locale.alias",
  "fonts",
  "X11",
  "groff",
];

/** `/proc` entries bound read-only over themselves (bubblewrap/Docker's list). */
export const PROC_READ_ONLY = ["/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs"];

/**
 * `/proc` entries made unusable (kernel memory, magic keys, timing side channels, keys, the
 * host's boot command line).
 */
export const PROC_MASKED = [
  "/proc/kcore",
  "/proc/cmdline",
  "/proc/sysrq-trigger",
  "/proc/kmsg",
  "/proc/keys",
  "/proc/key-users",
  "/proc/timer_list",
  "/proc/sched_debug",
  "/proc/latency_stats",
  "/proc/acpi",
  "/proc/scsi",
  "/proc/asound",
];

/** The `/dev` nodes of the minimal `/dev` (launcher/mount.c). */
export const DEV_NODES = ["null", "zero", "full", "random", "urandom", "tty"];

/** A top-level entry of a directory: a directory, a symlink (with its target) or a file. */
export type DirEntry = { dir: true } | { link: string } | { file: true };

/** What the filesystem policy needs to know about the host. */
export interface FsHost {
  /** For each of {@linkcode SYSTEM_DIRS}: "dir", a symlink target, or absent. */
  system: Record<string, { dir: true } | { link: string }>;
  /** The Landlock ABI of the running kernel (0: none; absent: unknown, treated as 0). */
  landlockAbi?: number;
  /** Whether user namespaces work here (absent: assumed to). Decides `namespaces: "auto"`. */
  userns?: boolean;
  /**
   * Which {@linkcode ETC_ENTRIES} exist on the host (symlinks followed; `*` patterns expanded to
   * the names they match): regular files are copied into the root, directories bound. Absent:
   * every entry without `*` is bound if present.
   */
  etc?: Record<string, "file" | "dir">;
  /** The top-level entries of the configured rootfs, by name. */
  rootfs?: Record<string, DirEntry>;
}

/** The `/etc` entries to show: those found on the host, else every name without a pattern. */
function etcNames(host: FsHost): string[] {
  return host.etc ? Object.keys(host.etc) : ETC_ENTRIES.filter((n) => !n.includes("*"));
}

/**
 * Where the default root shows the run's own cgroup, read-only, when it has one (cgroup limits):
 * runtimes read their memory and CPU limits there (the JVM's heap, Go's and .NET's CPU counts).
 */
export const CGROUP_VIEW = "/sys/fs/cgroup";

/** The size of the default root's `/run`: sockets and pid files. */
const RUN_SIZE = 4 << 20;

/** The size of a tmpfs (and of an overlay's discarded writes) unless the config sets one. */
export const DEFAULT_TMPFS_SIZE = 64 << 20;

function field(i: number, name: string): string {
  return `mounts[${i}].${name}`;
}

function mode(value: unknown, name: string, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0o7777) {
    throw new RangeError(
      `Invalid ${name} ${describeValue(value)}: expected a mode like 0o755 (0 to 0o7777)`,
    );
  }
  return value;
}

function size(value: unknown, name: string): number {
  return value === undefined ? DEFAULT_TMPFS_SIZE : parseNonZeroSize(value, name);
}

/** A mount target: absolute, not `/`, and not in `/proc` or `/dev` (their hardening stays). */
function target(value: unknown, name: string): string {
  const t = validateAbsolutePath(value, name);
  if (t === "/" || ["/proc", "/dev"].some((p) => t === p || t.startsWith(p + "/"))) {
    throw new RangeError(
      `Invalid ${name} ${
        describeValue(value)
      }: mounts cannot replace "/" (use rootfs), or go into /proc or /dev`,
    );
  }
  return t;
}

/** The fields each type of mount takes. */
const MOUNT_FIELDS: Record<MountConfig["type"], readonly string[]> = {
  bind: ["type", "source", "target", "readOnly"],
  tmpfs: ["type", "target", "size", "mode"],
  overlay: ["type", "source", "target", "upper", "size"],
  dir: ["type", "target", "mode"],
  symlink: ["type", "source", "target"],
};

const MOUNT_TYPES = Object.keys(MOUNT_FIELDS) as MountConfig["type"][];

/** Validates one mount; names the field on error. */
export function validateMount(value: unknown, i: number): ResolvedMount {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Invalid mounts[${i}] ${describeValue(value)}: expected an object with a type`,
    );
  }
  const m = value as Record<string, unknown>;
  const type = validateChoice(m.type, { field: field(i, "type"), allowed: MOUNT_TYPES });
  checkFields(m, { name: `mounts[${i}]`, allowed: MOUNT_FIELDS[type] });
  switch (type) {
    case "bind": {
      const source = validateAbsolutePath(m.source, field(i, "source"));
      if (m.readOnly !== undefined && typeof m.readOnly !== "boolean") {
        throw new TypeError(
          `Invalid ${field(i, "readOnly")} ${describeValue(m.readOnly)}: expected a boolean`,
        );
      }
      return {
        type,
        source,
        target: target(m.target ?? source, field(i, "target")),
        readOnly: m.readOnly === true,
      };
    }
    case "tmpfs":
      return {
        type,
        target: target(m.target, field(i, "target")),
        sizeBytes: size(m.size, field(i, "size")),
        mode: mode(m.mode, field(i, "mode"), 0o755),
      };
    case "overlay": {
      const source = validateAbsolutePath(m.source, field(i, "source"));
      const upper = m.upper === undefined ? null : validateAbsolutePath(m.upper, field(i, "upper"));
      if (upper !== null && (upper === "/" || inside(upper, source) || inside(source, upper))) {
        throw new RangeError(
          `Invalid ${
            field(i, "upper")
          } "${upper}": must not contain or be inside the source "${source}"`,
        );
      }
      return {
        type,
        source,
        target: target(m.target ?? source, field(i, "target")),
        upper,
        work: upper === null ? null : `${upper}.work`,
        sizeBytes: size(m.size, field(i, "size")),
      };
    }
    case "dir":
      return {
        type,
        target: target(m.target, field(i, "target")),
        mode: mode(m.mode, field(i, "mode"), 0o755),
      };
    case "symlink": {
      if (typeof m.source !== "string" || m.source === "" || m.source.includes("\0")) {
        throw new TypeError(
          `Invalid ${field(i, "source")} ${describeValue(m.source)}: expected the link's contents`,
        );
      }
      return { type, source: m.source, target: target(m.target, field(i, "target")) };
    }
  }
}

/** Whether `path` is `dir` or below it. */
function inside(path: string, dir: string): boolean {
  return path === dir || dir === "/" || path.startsWith(dir + "/");
}

/** The filesystem fields of a config, validated, with their defaults. */
export function validateFilesystem(
  c: Pick<SandboxConfig, "mounts" | "rootfs" | "namespaces" | "landlock">,
): Pick<ResolvedConfig, "mounts" | "rootfs" | "namespaces" | "landlock"> {
  if (c.mounts !== undefined && !Array.isArray(c.mounts)) {
    throw new TypeError(`Invalid mounts ${describeValue(c.mounts)}: expected an array of mounts`);
  }
  const mounts = (c.mounts ?? []).map((m: MountConfig, i: number) => validateMount(m, i));
  let rootfs: ResolvedConfig["rootfs"] = null;
  if (c.rootfs !== undefined) {
    const r = typeof c.rootfs === "string" ? { path: c.rootfs } : c.rootfs;
    if (typeof r !== "object" || r === null) {
      throw new TypeError(
        `Invalid rootfs ${describeValue(c.rootfs)}: expected a path or { path, writable }`,
      );
    }
    checkFields(r, { name: "rootfs", allowed: ["path", "writable"] });
    if (r.writable !== undefined && typeof r.writable !== "boolean") {
      throw new TypeError(
        `Invalid rootfs.writable ${describeValue(r.writable)}: expected a boolean`,
      );
    }
    rootfs = { path: validateAbsolutePath(r.path, "rootfs"), writable: r.writable === true };
  }
  const namespaces = c.namespaces === undefined ? "auto" : c.namespaces;
  if (namespaces !== true && namespaces !== false && namespaces !== "auto") {
    throw new RangeError(
      `Invalid namespaces ${describeValue(c.namespaces)}: expected true, false or "auto"`,
    );
  }
  const landlock: LandlockMode = c.landlock === undefined
    ? "best-effort"
    : validateChoice(c.landlock, {
      field: "landlock",
      allowed: ["best-effort", "required", "off"] as const,
    });
  return { mounts, rootfs, namespaces, landlock };
}

/** Whether a configuration runs with namespaces on this host. */
export function usesNamespaces(config: ResolvedConfig, host: FsHost): boolean {
  return config.namespaces === "auto" ? host.userns !== false : config.namespaces;
}

interface Spec {
  op: Op;
  dst: string;
  /** What Landlock grants at dst (absent: nothing of its own). */
  access?: ViewEntry["access"];
  optional?: boolean;
  /**
   * One of the default /etc's entries (the identity files, the host's copied files and read-only
   * binds): all read-only, so one Landlock rule on /etc grants them.
   */
  etc?: true;
}

function depth(path: string): number {
  return path === "/" ? 0 : path.split("/").length - 1;
}

/** `idmap`: binds and overlays take the `*-idmap` twin of their op (lib/ownership.ts). */
function userSpecs(mounts: readonly ResolvedMount[], idmap: boolean): Spec[] {
  const twin = idmap ? "-idmap" : "";
  return mounts.map((m): Spec => {
    switch (m.type) {
      case "bind":
        return {
          op: [(m.readOnly ? "ro-bind" : "bind") + twin, m.source, m.target],
          dst: m.target,
          access: m.readOnly ? "read" : "write",
        };
      case "tmpfs":
        return {
          op: ["tmpfs", m.target, String(m.sizeBytes), m.mode.toString(8)],
          dst: m.target,
          access: "write",
        };
      case "overlay":
        return {
          op: m.upper === null
            ? ["overlay" + twin, m.source, m.target, String(m.sizeBytes)]
            : ["overlay-keep" + twin, m.source, m.upper, m.work!, m.target],
          dst: m.target,
          access: "write",
        };
      case "dir":
        return { op: ["dir", m.target, m.mode.toString(8)], dst: m.target };
      case "symlink":
        return { op: ["symlink", m.source, m.target], dst: m.target };
    }
  });
}

/** The whole root with namespaces: base (system dirs or rootfs), proc, dev, tmp, user mounts. */
function rootSpecs(config: ResolvedConfig, host: FsHost, idmap: boolean): Spec[] {
  const base: Spec[] = [];
  if (config.rootfs) {
    const { path, writable } = config.rootfs;
    const entries = host.rootfs;
    if (!entries) throw new Error(`The entries of rootfs "${path}" were not read`);
    for (const [name, e] of Object.entries(entries).sort(([a], [b]) => a < b ? -1 : 1)) {
      if (["proc", "dev", "tmp"].includes(name)) continue;
      const src = `${path === "/" ? "" : path}/${name}`;
      if ("link" in e) base.push({ op: ["symlink", e.link, `/${name}`], dst: `/${name}` });
      else {
        base.push({
          op: [writable ? "bind" : "ro-bind", src, `/${name}`],
          dst: `/${name}`,
          access: writable ? "write" : "read",
        });
      }
    }
  } else {
    for (const dir of SYSTEM_DIRS) {
      const entry = host.system[dir];
      if (!entry) continue;
      if ("link" in entry) base.push({ op: ["symlink", entry.link, dir], dst: dir });
      else base.push({ op: ["ro-bind", dir, dir], dst: dir, access: "read" });
    }
    for (const [name, content] of Object.entries(identityFiles(config))) {
      const p = `/etc/${name}`;
      base.push({ op: ["file", p, content], dst: p, access: "read", etc: true });
    }
    // A writable home, /run (sockets, pid files) and /var/tmp, as programs expect of a system.
    const home = homeOf(config.user);
    base.push({
      op: ["tmpfs", home, String(config.tmpSizeBytes), "700"],
      dst: home,
      access: "write",
    });
    base.push({ op: ["tmpfs", "/run", String(RUN_SIZE), "1777"], dst: "/run", access: "write" });
    base.push({ op: ["symlink", "/tmp", "/var/tmp"], dst: "/var/tmp" });
    base.push({ op: ["symlink", "/run", "/var/run"], dst: "/var/run" });
    for (const name of etcNames(host)) {
      if ((SYNTHESIZED_ETC as readonly string[]).includes(name)) continue;
      const p = `/etc/${name}`;
      const kind = host.etc ? host.etc[name] : "dir";
      if (!kind) continue; // absent on this host: no op at all
      // Small files are copied (much cheaper than a bind); directories are bound read-only.
      const op = kind === "file" ? "copy-try" : "ro-bind-try";
      base.push({ op: [op, p, p], dst: p, access: "read", optional: true, etc: true });
    }
  }
  base.push({ op: ["proc", "/proc"], dst: "/proc", access: "proc" });
  for (const p of PROC_READ_ONLY) base.push({ op: ["remount-ro", p], dst: p });
  for (const p of PROC_MASKED) base.push({ op: ["mask", p], dst: p });
  base.push({ op: ["dev", "/dev"], dst: "/dev" });
  base.push({ op: ["tmpfs", "/tmp", String(config.tmpSizeBytes), "1777"], dst: "/tmp" });
  base[base.length - 1]!.access = "write";
  const user = userSpecs(config.mounts, idmap);
  // A user mount replaces the default entries at or below its target.
  const kept = base.filter((b) => !user.some((u) => "access" in u && inside(b.dst, u.dst)));
  const all = [...kept, ...user];
  // Parents before children: a stable sort by destination depth.
  return all.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.dst) - depth(b.m.dst) || a.i - b.i)
    .map(({ m }) => m);
}

function devView(namespaces: boolean): ViewEntry[] {
  const nodes = namespaces ? DEV_NODES : DEV_NODES.filter((n) => n !== "tty");
  const view: ViewEntry[] = nodes.map((n) => ({
    path: `/dev/${n}`,
    access: "device",
    optional: !namespaces,
  }));
  if (namespaces) {
    view.push({ path: "/dev", access: "list", optional: false });
    view.push({ path: "/dev/pts", access: "device", optional: false });
    view.push({ path: "/dev/shm", access: "write", optional: false });
  }
  return view;
}

/** The Landlock view without namespaces: the default root's paths, on the host. */
function hostView(config: ResolvedConfig, host: FsHost): ViewEntry[] {
  const noNamespaces = config.namespaces === false
    ? "are turned off"
    : "this machine does not allow";
  if (config.rootfs) {
    throw new UnsupportedError(
      `rootfs "${config.rootfs.path}" needs namespaces (a mount namespace), which ${noNamespaces}`,
    );
  }
  const view: ViewEntry[] = [];
  for (const dir of SYSTEM_DIRS) {
    if (host.system[dir]) view.push({ path: dir, access: "read", optional: false });
  }
  for (const name of etcNames(host)) {
    view.push({ path: `/etc/${name}`, access: "read", optional: true });
  }
  view.push({ path: "/proc", access: "proc-read", optional: false });
  view.push(...devView(false));
  for (const m of config.mounts) {
    const why = m.type !== "bind"
      ? `a ${m.type} mount`
      : m.source !== m.target
      ? `a bind to another path ("${m.source}" at "${m.target}")`
      : null;
    if (why) {
      throw new UnsupportedError(
        `${why} needs namespaces, which ${noNamespaces}: without them only binds of a path onto itself can be expressed (as Landlock rules)`,
      );
    }
    if (m.type === "bind") {
      view.push({ path: m.target, access: m.readOnly ? "read" : "write", optional: false });
    }
  }
  // Landlock rights add up down the tree: a read-only path below a writable one would be
  // writable. With namespaces the read-only mount still holds; without them, refuse.
  for (const ro of view.filter((v) => v.access === "read")) {
    const rw = view.find((v) =>
      v.access === "write" && v.path !== ro.path && inside(ro.path, v.path)
    );
    if (rw) {
      throw new UnsupportedError(
        `"${ro.path}" is read-only below the writable "${rw.path}": Landlock alone cannot express that (rights add up down the tree); use namespaces`,
      );
    }
  }
  return view;
}

/** The filesystem part of a sandbox's static frame, and what it reports. */
export interface FilesystemPlan {
  /** Whether the run uses namespaces (else Landlock alone confines the filesystem). */
  namespaces: boolean;
  /** The mount ops (after `newroot`), host dirs first; empty without namespaces. */
  mountOps: Op[];
  /** The environment of the synthesized identity (default root only; else empty). */
  env: Record<string, string>;
  landlock: LandlockPlan;
}

/** How {@linkcode filesystemPlan} builds the user mounts. */
export interface FilesystemOptions {
  /** Id-map the user binds and overlays (see lib/ownership.ts). @default false */
  idmap?: boolean;
}

/**
 * Plans the filesystem: mounts in depth order with namespaces, and the Landlock ops derived from
 * the same view. Throws {@linkcode UnsupportedError} when the policy cannot be enforced here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filesystemPlan, validateFilesystem } from "./mounts.ts";
 * import { validateConfig } from "./policy.ts";
 * const config = validateConfig({
 *   mounts: [{ type: "bind", source: "/srv/data", target: "/data", readOnly: true }],
 * });
 * const plan = filesystemPlan(config, { system: { "/usr": { dir: true } }, landlockAbi: 7 });
 * assert(plan.mountOps.some((op) => op.join(" ") === "ro-bind /srv/data /data"));
 * assert(plan.landlock.ops.some((op) => op.join(" ") === "landlock-path /data 13"));
 * void validateFilesystem;
 * ```
 */
export function filesystemPlan(
  config: ResolvedConfig,
  host: FsHost,
  options: FilesystemOptions = {},
): FilesystemPlan {
  const namespaces = usesNamespaces(config, host);
  const landlockOptions = {
    abi: host.landlockAbi ?? 0,
    mode: config.landlock,
    network: config.network,
    namespaces,
  };
  if (!namespaces) {
    const view = hostView(config, host);
    const landlock = planLandlock(view, landlockOptions);
    if (landlock.abi === null && config.landlock !== "off") {
      throw new UnsupportedError(
        `Neither namespaces nor Landlock are available here, so the filesystem cannot be confined: allow unprivileged user namespaces (Ubuntu: sysctl kernel.apparmor_restrict_unprivileged_userns=0), enable Landlock, or opt out explicitly with landlock "off"`,
      );
    }
    return { namespaces, mountOps: [], env: {}, landlock };
  }
  const specs = rootSpecs(config, host, options.idmap ?? false);
  const view: ViewEntry[] = [{ path: "/", access: "list", optional: false }];
  // The default /etc holds only what the launcher put there, read-only: one rule on /etc instead
  // of one per entry (about 30 fewer rules, each an open and a kernel object per run). A user
  // mount below /etc keeps its own rule, which can only grant more.
  if (specs.some((s) => s.etc)) view.push({ path: "/etc", access: "read", optional: false });
  for (const s of specs) {
    if (s.access && !s.etc) {
      view.push({ path: s.dst, access: s.access, optional: s.optional ?? false });
    }
    if (s.op[0] === "dev") view.push(...devView(true));
  }
  // The run's own cgroup, mounted there when the run has one (see CGROUP_VIEW).
  if (!config.rootfs) view.push({ path: CGROUP_VIEW, access: "read", optional: true });
  return {
    namespaces,
    mountOps: [...hostDirOps(config.mounts), ...specs.map((s) => s.op)],
    env: config.rootfs ? {} : identityEnv(config.user),
    landlock: planLandlock(view, landlockOptions),
  };
}

/**
 * The host dirs an overlay keeps its changes in: the launcher makes them before the sandbox
 * starts (never through a symlink), owned by the uid the sandbox maps to, mode 0700.
 */
function hostDirOps(mounts: readonly ResolvedMount[]): Op[] {
  return mounts.flatMap((m): Op[] =>
    m.type === "overlay" && m.upper !== null
      ? [["host-dir", m.upper, "700"], ["host-dir", m.work!, "700"]]
      : []
  );
}
