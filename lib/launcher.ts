/**
 * Finds the launcher binary — explicit path, `SANDBOX_LAUNCHER`, the copy built next to this
 * module, a per-user cache keyed by the sources' build id — and builds it with `make`,
 * asynchronously, in `prepareLauncher()`. Only a launcher that is owned by the caller or root,
 * in directories nobody else can write, and whose build id matches its sources is run.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { LauncherError } from "./errors.ts";
import { runSync, runTool } from "./spawn.ts";
import { envVar, rethrowPermission } from "./_host.ts";
import { assertTrusted, privateDir } from "./_trust.ts";

/**
 * The launcher's C sources, as shipped with the module (checked by a test against the dir), in
 * the order the build id hashes them (the Makefile's `$(sort ...)`: byte order).
 */
export const LAUNCHER_SOURCES = [
  "Makefile",
  "abi.h",
  "budget.c",
  "budget.h",
  "cgroup.c",
  "cgroup.h",
  "child.c",
  "child.h",
  "config.c",
  "config.h",
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
  "proctitle.c",
  "proctitle.h",
  "seccomp.c",
  "seccomp.h",
  "status.c",
  "status.h",
  "util.c",
  "util.h",
  "walk.c",
  "walk.h",
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
    rethrowPermission(e, path);
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
  } catch {
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

/** The sources' build id: read here for a local module, set by prepareLauncher() for a remote. */
let sourcesId: string | null = null;

function expectedId(): string | null {
  const dir = localDir();
  if (!sourcesId && dir) sourcesId = buildIdOf((name) => Deno.readFileSync(`${dir}${name}`));
  return sourcesId;
}

/**
 * Where launchers are cached, most preferred first: `$XDG_CACHE_HOME/sandbox-ts`,
 * `$HOME/.cache/sandbox-ts`, then a private per-uid `$TMPDIR/sandbox-ts-cache-<uid>` (never a shared
 * directory: a binary another user could plant there would run with our privileges).
 */
function cacheRoots(): string[] {
  const roots: string[] = [];
  const xdg = envVar("XDG_CACHE_HOME");
  const home = envVar("HOME");
  if (xdg) roots.push(`${xdg}/sandbox-ts`);
  if (home) roots.push(`${home}/.cache/sandbox-ts`);
  roots.push(`${envVar("TMPDIR") || "/tmp"}/sandbox-ts-cache-${Deno.uid() ?? 0}`);
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
  const sources = local ? null : await fetchSources();
  if (sources) sourcesId = buildIdOf((name) => sources.get(name)!);
  const id = expectedId()!;
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
  const path = inTree ? await makeInTree(local) : await buildInCache(id, sources);
  if (binaryBuildId(path) !== id) {
    throw new LauncherError(`The launcher built at "${path}" does not report build id ${id}`);
  }
  return remember("", path);
}

/** The launcher sources next to a remote module. */
async function fetchSources(): Promise<Map<string, Uint8Array>> {
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
  return new Map(files);
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
 * An explicit path or `SANDBOX_LAUNCHER` is only checked for ownership (a debugging wrapper
 * may stand in for it); a found one must also report the build id of its sources.
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
    return remember(key, named);
  }
  const id = expectedId();
  const res = id ? lookup(id) : { stale: null };
  if ("path" in res) return remember(key, res.path);
  const local = localDir();
  throw new LauncherError(
    `The sandbox launcher ${id ? "is not built" : `for ${moduleDir().href} is not built yet`}${
      res.stale ? ` (stale: ${res.stale})` : ""
    }: call "await prepareLauncher()" once before building sandboxes (it ${
      local ? "" : "fetches the C sources and "
    }runs make, a few seconds, without blocking; needs make and gcc)${
      local ? `, or run "make -C ${local}"` : ""
    }, or set SANDBOX_LAUNCHER`,
  );
}

/** Kernel facts from `sandbox-launcher --features`. */
export interface LauncherFeatures {
  version: string;
  buildId: string;
  euid: number;
  userns: boolean;
  usernsStep: string;
  usernsErrno: number;
  landlockAbi: number;
  landlockErrno: number;
  seccomp: string[];
  clone3: boolean;
}

/** Runs `sandbox-launcher --features` (a real user-namespace probe; not for the hot path). */
export function launcherFeatures(path: string): LauncherFeatures {
  const res = runSync(path, ["--features"]);
  if (res.code !== 0) {
    throw new LauncherError(`"${path} --features" failed with ${res.code}: ${res.stderr.trim()}`);
  }
  return JSON.parse(res.stdout) as LauncherFeatures;
}
