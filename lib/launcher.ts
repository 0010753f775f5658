/**
 * Finds the launcher binary — explicit path, `SANDBOX_LAUNCHER`, the copy built next to this
 * module, a per-user cache keyed by the sources' build id — and builds it with `make`,
 * asynchronously, in `prepareLauncher()`. Only a launcher that is owned by the caller or root,
 * in directories nobody else can write, and whose build id matches its sources is run — a named
 * one (`launcherPath`, `SANDBOX_LAUNCHER`) included.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { LauncherError } from "./errors.ts";
import { runSync, runTool } from "./spawn.ts";
import { callerUid, envVar, rethrowPermission } from "./_host.ts";
import { assertTrusted, privateDir } from "./_trust.ts";
import { LAUNCHER_BUILD_ID } from "./_build_id.ts";

/**
 * The launcher's C sources, as shipped with the module (checked by a test against the dir), in
 * the order the build id hashes them (the Makefile's `$(sort ...)`: byte order).
 */
export const LAUNCHER_SOURCES = [
  "Makefile",
  "abi.h",
  "budget.c",
  "budget.h",
  "buf.c",
  "buf.h",
  "cgroup.c",
  "cgroup.h",
  "child.c",
  "child.h",
  "config.c",
  "config.h",
  "egress.c",
  "egress.h",
  "features.c",
  "features.h",
  "hostpath.c",
  "hostpath.h",
  "idmap.c",
  "idmap.h",
  "ids.c",
  "ids.h",
  "landlock.c",
  "landlock.h",
  "main.c",
  "monitor.c",
  "monitor.h",
  "mount.c",
  "mount.h",
  "ns.c",
  "ns.h",
  "prepared.c",
  "prepared.h",
  "probe.c",
  "probe.h",
  "proctitle.c",
  "proctitle.h",
  "relay.c",
  "relay.h",
  "request.c",
  "request.h",
  "seccomp.c",
  "seccomp.h",
  "session_agent.c",
  "session_agent.h",
  "session_fs.c",
  "session_fs.h",
  "session_port.c",
  "session_port.h",
  "session_wire.c",
  "session_wire.h",
  "setup.h",
  "status.c",
  "status.h",
  "target.c",
  "target.h",
  "tty.c",
  "tty.h",
  "util.c",
  "util.h",
  "walk.c",
  "walk.h",
  "warm.c",
  "warm.h",
];

/**
 * The module version (`sandbox-launcher --version` prints it and the build id).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERSION } from "../mod.ts";
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION = "0.1.0";
const BINARY = "sandbox-launcher";

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o755) & 0o111) !== 0;
  } catch (e) {
    rethrowPermission(e, path, "to check the sandbox launcher");
    return false;
  }
}

/**
 * The build id of a set of launcher sources: what the Makefile computes with
 * `sha256sum FILES | sha256sum | cut -c1-16` and compiles into the binary.
 */
export function buildIdOf(read: (name: string) => Uint8Array): string {
  const lines = LAUNCHER_SOURCES.map((name) =>
    `${createHash("sha256").update(read(name)).digest("hex")}  ${name}\n`
  ).join("");
  return createHash("sha256").update(lines).digest("hex").slice(0, 16);
}

/** The build id a launcher binary reports (`--version`), or null when it reports none. */
function binaryBuildId(path: string): string | null {
  try {
    const res = runSync(path, ["--version"]);
    return /^sandbox-launcher \S+ ([0-9a-f]{16})$/.exec(res.stdout.trim())?.[1] ?? null;
  } catch (e) {
    // Not allowed to run it is a permission to grant, not a launcher without an id.
    rethrowPermission(e, path, "to run the sandbox launcher");
    return null;
  }
}

function moduleDir(): URL {
  return new URL("../launcher/", import.meta.url);
}

function localDir(): string | null {
  const dir = moduleDir();
  return dir.protocol === "file:" ? decodeURIComponent(dir.pathname) : null;
}

/**
 * The build id the launcher must report. A local module hashes its sources (a developer's edit
 * counts at once) when Deno lets it read them; otherwise — a module imported from JSR or a URL,
 * or a narrow `--allow-read` — it is the id generated into `lib/_build_id.ts`, which a test keeps
 * equal to the sources. Never a download.
 */
let sourcesId: string | undefined;

/** @internal The build id of this module's launcher sources. */
export function expectedBuildId(): string {
  if (sourcesId) return sourcesId;
  const dir = localDir();
  sourcesId = LAUNCHER_BUILD_ID;
  if (dir && mayRead(dir)) {
    try {
      sourcesId = buildIdOf((name) => Deno.readFileSync(`${dir}${name}`));
    } catch (e) {
      // A published package without some source, or one we may not read: the generated id.
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotCapable)) throw e;
    }
  }
  return sourcesId;
}

/** Whether Deno grants reading `path` without asking (a query never prompts). */
function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

/**
 * Where launchers are cached, most preferred first: `$XDG_CACHE_HOME/sandbox-ts`,
 * `$HOME/.cache/sandbox-ts`, then a private per-uid `$TMPDIR/sandbox-ts-cache-<uid>` (never a shared
 * directory: a binary another user could plant there would run with our privileges; left out
 * while this process may not learn its uid).
 */
function cacheRoots(): string[] {
  const roots: string[] = [];
  const xdg = envVar("XDG_CACHE_HOME");
  const home = envVar("HOME");
  if (xdg) roots.push(`${xdg}/sandbox-ts`);
  if (home) roots.push(`${home}/.cache/sandbox-ts`);
  const uid = callerUid();
  if (uid !== null) roots.push(`${envVar("TMPDIR") || "/tmp"}/sandbox-ts-cache-${uid}`);
  return roots;
}

/** The first cache root that is (or can be made) a private directory of ours. */
function cacheRoot(): string {
  const roots = cacheRoots();
  for (const root of roots) {
    const dir = privateDir(root);
    if (dir) return dir;
  }
  throw new LauncherError(
    `No private directory to build the sandbox launcher in (tried ${
      roots.map((r) => `"${r}"`).join(", ")
    }): set XDG_CACHE_HOME to a directory you own, or SANDBOX_LAUNCHER to a built launcher`,
  );
}

/** What a lookup found: a usable launcher, or why there is none. */
type Lookup = { path: string } | { stale: string | null };

/** The in-tree or cached launcher built from the current sources; throws if one is untrusted. */
function lookup(id: string): Lookup {
  const local = localDir();
  const candidates = [
    ...(local ? [local + BINARY] : []),
    ...cacheRoots().map((root) => `${root}/${id}/${BINARY}`),
  ];
  let stale: string | null = null;
  for (const path of candidates) {
    if (!isExecutable(path)) continue;
    assertTrusted(path, "the sandbox launcher");
    const got = binaryBuildId(path);
    if (got === id) return { path };
    stale ??= `"${path}" has build id ${got ?? "(none)"}, its sources ${id}`;
  }
  return { stale };
}

/** Options of {@link prepareLauncher}. */
export interface PrepareLauncherOptions {
  /**
   * Called once, with a one-line message, when a build starts (it takes a few seconds); the
   * CLI prints it on stderr.
   * @default undefined (silent)
   */
  onBuild?: (message: string) => void;
}

/**
 * Makes sure a launcher built from this module's sources exists, building it with `make`
 * without blocking the event loop, and returns its path: `explicit`, else `SANDBOX_LAUNCHER`,
 * else `launcher/sandbox-launcher` next to the module (built there when writable), else
 * `~/.cache/sandbox-ts/<build id>/sandbox-launcher`. A module imported from a remote URL (JSR)
 * fetches its C sources here. Concurrent callers, in any process, build once (a lock file).
 * `SandboxBuilder.build()` never builds: when no launcher is found it throws a `LauncherError`
 * telling to call this first. Throws `LauncherError` when none can be found or built, or when
 * the one found is owned or writable by another user.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareLauncher, SandboxBuilder } from "../mod.ts";
 *
 * const path = await prepareLauncher();
 * assert.ok(path.endsWith("sandbox-launcher"));
 * const sandbox = new SandboxBuilder("job").launcherPath(path).build();
 * assert.equal((await sandbox.run("true")).exitCode, 0);
 * ```
 */
export async function prepareLauncher(
  explicit?: string,
  options: PrepareLauncherOptions = {},
): Promise<string> {
  if (explicit || envVar("SANDBOX_LAUNCHER")) return findLauncher(explicit);
  const local = localDir();
  const id = expectedBuildId();
  const first = lookup(id);
  if ("path" in first) return remember("", first.path);
  const inTree = local !== null && isWritable(local);
  const lockDir = inTree ? `${local}build` : cacheRoot();
  Deno.mkdirSync(lockDir, { recursive: true });
  using lock = await Deno.open(`${lockDir}/.lock`, { create: true, write: true, mode: 0o644 });
  await lock.lock(true);
  // Another process may have built it while this one waited.
  const again = lookup(id);
  if ("path" in again) return remember("", again.path);
  const where = inTree ? local : `${cacheRoot()}/${id}`;
  options.onBuild?.(`sandbox: building the launcher in "${where}" (once, a few seconds)`);
  // A remote module's sources are fetched only to build, and must hash to the id it expects.
  const sources = local ? null : await fetchSources(id);
  const path = inTree ? await makeInTree(local) : await buildInCache(id, sources);
  if (binaryBuildId(path) !== id) {
    throw new LauncherError(`The launcher built at "${path}" does not report build id ${id}`);
  }
  return remember("", path);
}

/** The launcher sources next to a remote module, checked against the build id `id`. */
async function fetchSources(id: string): Promise<Map<string, Uint8Array>> {
  const dir = moduleDir();
  const files = await Promise.all(LAUNCHER_SOURCES.map(async (name) => {
    const url = new URL(name, dir);
    const res = await fetch(url);
    if (!res.ok) {
      await res.body?.cancel();
      throw new LauncherError(`Cannot fetch the launcher source "${url.href}": HTTP ${res.status}`);
    }
    return [name, new Uint8Array(await res.arrayBuffer())] as const;
  }));
  const sources = new Map(files);
  const got = buildIdOf((name) => sources.get(name)!);
  if (got !== id) {
    throw new LauncherError(
      `The launcher sources at "${dir.href}" have build id ${got}, this module expects ${id}: the package is inconsistent (regenerate lib/_build_id.ts with "deno task build-id")`,
    );
  }
  return sources;
}

async function make(dir: string): Promise<void> {
  let res;
  try {
    res = await runTool("make", ["-s", "-C", dir, BINARY]);
  } catch (e) {
    throw new LauncherError(
      `Cannot build the sandbox launcher in "${dir}": "make" could not be run (${
        (e as Error).message
      }). Install make and a C compiler (Debian/Ubuntu: apt-get install make gcc), or set SANDBOX_LAUNCHER`,
    );
  }
  if (res.code !== 0) {
    throw new LauncherError(
      `Cannot build the sandbox launcher in "${dir}": make exited with ${res.code}: ${
        res.stderr.trim().split("\n").slice(-3).join(" | ")
      }. Install make, gcc and the Linux headers (Debian/Ubuntu: apt-get install make gcc linux-libc-dev)`,
    );
  }
}

/**
 * `make` next to the module (its link step renames the binary into place). A stale binary is
 * removed first: one newer than its objects (copied in) would otherwise look up to date.
 */
async function makeInTree(dir: string): Promise<string> {
  await Deno.remove(dir + BINARY).catch(() => {}); // absent: nothing to remove
  await make(dir);
  return dir + BINARY;
}

/**
 * Builds in a private temp dir inside the cache root and renames the binary into
 * `<root>/<id>/`; the temp dir is removed whatever happens.
 */
async function buildInCache(id: string, sources: Map<string, Uint8Array> | null): Promise<string> {
  const root = cacheRoot();
  const staging = await Deno.makeTempDir({ dir: root, prefix: ".build-" });
  try {
    const local = localDir();
    for (const name of LAUNCHER_SOURCES) {
      const data = sources?.get(name) ?? await Deno.readFile(`${local}${name}`);
      await Deno.writeFile(`${staging}/${name}`, data, { mode: 0o600 });
    }
    await make(staging);
    await Deno.mkdir(`${root}/${id}`, { recursive: true, mode: 0o700 });
    await Deno.rename(`${staging}/${BINARY}`, `${root}/${id}/${BINARY}`);
    return `${root}/${id}/${BINARY}`;
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

function isWritable(dir: string): boolean {
  try {
    Deno.removeSync(Deno.makeTempFileSync({ dir }));
    return true;
  } catch {
    return false;
  }
}

const found = new Map<string, string>();

function remember(key: string, path: string): string {
  found.set(key, path);
  return path;
}

/**
 * The path of a launcher to run, memoised per process; never builds (see `prepareLauncher`).
 * Every launcher, an explicit path or `SANDBOX_LAUNCHER` included, must be trusted (owner and
 * modes) and report the build id of this module's sources (`--version`); a debugging wrapper
 * that stands in for it passes `--version` and `--features` on to the real one.
 *
 * @example
 * ```ts ignore
 * import { findLauncher } from "./launcher.ts";
 * console.log(findLauncher());
 * ```
 */
export function findLauncher(explicit?: string): string {
  const key = explicit ?? "";
  const hit = found.get(key);
  if (hit) return hit;
  const named = explicit || envVar("SANDBOX_LAUNCHER");
  if (named) {
    const what = explicit ? "Sandbox launcher" : "SANDBOX_LAUNCHER";
    if (!isExecutable(named)) {
      throw new LauncherError(`${what} "${named}" is missing or not executable`);
    }
    assertTrusted(named, `the sandbox launcher`);
    const want = expectedBuildId();
    const got = binaryBuildId(named);
    if (got !== want) {
      const local = localDir();
      throw new LauncherError(
        `${what} "${named}" reports build id ${
          got ?? "(none: not a sandbox-launcher that answers --version)"
        }, this module needs ${want}: rebuild it from this module's sources (${
          local
            ? `make -C ${local}`
            : `unset ${
              what === "SANDBOX_LAUNCHER" ? "it" : "the path"
            } and call "await prepareLauncher()"`
        }), or ${
          explicit ? "leave the launcher path out" : "unset SANDBOX_LAUNCHER"
        } to use the one this module builds`,
      );
    }
    return remember(key, named);
  }
  const id = expectedBuildId();
  const res = lookup(id);
  if ("path" in res) return remember(key, res.path);
  const local = localDir();
  throw new LauncherError(
    `The sandbox launcher ${local ? "is not built" : `for ${moduleDir().href} is not built yet`}${
      res.stale ? ` (stale: ${res.stale})` : ""
    }: call "await prepareLauncher()" once before building sandboxes (it ${
      local ? "" : "fetches the C sources and "
    }runs make, a few seconds, without blocking; needs make and gcc)${
      local ? `, or run "make -C ${local}"` : ""
    }, or set SANDBOX_LAUNCHER`,
  );
}

/**
 * What `sandbox-launcher --features [PATH...]` tells: kernel facts only a syscall can tell, and the
 * host facts under `/proc` and `/sys` that Deno reads only with `--allow-all` (launcher/probe.c).
 */
export interface LauncherFeatures {
  version: string;
  buildId: string;
  euid: number;
  egid: number;
  userns: boolean;
  usernsStep: string;
  usernsErrno: number;
  landlockAbi: number;
  landlockErrno: number;
  seccomp: string[];
  clone3: boolean;
  /** The `/proc/sys/user/max_*` budgets without `max_`; null when unreadable. */
  usernsLimits: string[] | null;
  /** Whether a swap area is active. */
  swaps: boolean;
  /** Whether overlayfs is registered. */
  overlay: boolean;
  /** `kernel.apparmor_restrict_unprivileged_userns`, or -1 when absent. */
  apparmorRestrictUserns: number;
  /** `user.max_user_namespaces`, or -1 when absent. */
  maxUserNamespaces: number;
  /** Every cgroup and cgroup2 mount (options comma-separated; a cgroup2 root's controllers). */
  cgroupMounts: {
    dir: string;
    type: "cgroup" | "cgroup2";
    opts: string;
    controllers?: string | null;
  }[];
  /**
   * Why the launcher's own path is not safe (a directory above it writable by another user), or
   * null: checked by the launcher for the directories Deno may not read.
   */
  exeDistrust: string | null;
  /** `/proc/self/cgroup`: each hierarchy's controllers ("" for cgroup v2) and our path in it. */
  selfCgroup: { controllers: string; path: string }[];
  /** Each PATH asked about that exists: the kind it resolves to (null: dangling) and a link's target. */
  paths: Record<string, { type: "dir" | "file" | "other" | null; link?: string }>;
}

/**
 * Runs `sandbox-launcher --features PATH...` (a real user-namespace probe, a few ms; callers
 * cache it: `lib/host_facts.ts`). `paths` are reported in `paths`; `DIR/PREFIX*` stands for the
 * entries of DIR whose names start with PREFIX.
 */
export function launcherFeatures(path: string, paths: string[] = []): LauncherFeatures {
  const res = runSync(path, ["--features", ...paths]);
  if (res.code !== 0) {
    throw new LauncherError(`"${path} --features" failed with ${res.code}: ${res.stderr.trim()}`);
  }
  try {
    return JSON.parse(res.stdout) as LauncherFeatures;
  } catch {
    throw new LauncherError(
      `"${path} --features" did not answer in JSON (is it a sandbox-launcher?): ${
        res.stdout.slice(0, 200)
      }`,
    );
  }
}

/**
 * Runs one of the launcher's cgroup verbs (`--cgroup-info DIR...`, `--cgroup-container DIR
 * [CTL...]`): what it says of each directory, or the launcher's one-line error.
 */
export function launcherCgroups(
  path: string,
  args: string[],
): { dirs: Record<string, CgroupDirInfo> } | { error: string } {
  const res = runSync(path, args);
  if (res.code !== 0) {
    return { error: res.stderr.trim().replace(/^sandbox-launcher: /, "") || `exit ${res.code}` };
  }
  return { dirs: JSON.parse(res.stdout) as Record<string, CgroupDirInfo> };
}

/** One cgroup directory as the launcher sees it. */
export interface CgroupDirInfo {
  /** `cgroup.controllers` (v2), null when absent. */
  controllers: string | null;
  /** `cgroup.subtree_control` (v2), null when absent. */
  subtreeControl: string | null;
  /** Whether this user may write its `cgroup.subtree_control` (v2). */
  subtreeWritable: boolean;
  /** Whether this user may write its `cgroup.procs`. */
  procsWritable: boolean;
  /** The processes in it (at most 64), the launcher that answered left out. */
  procs: number[];
  /**
   * Whether systemd's system manager delegated it: the cgroup of a unit with `Delegate=yes`
   * carries the xattr `trusted.delegate=1` (systemd 251+; only root can set it).
   */
  delegated: boolean;
  /** Whether it has `memory.swap.max` (v2). */
  swapMax: boolean;
  /** Whether it has `memory.memsw.limit_in_bytes` (v1). */
  memsw: boolean;
}
