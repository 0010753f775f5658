/**
 * Finds the launcher binary — explicit path, `SANDBOX_LAUNCHER`, the copy built next to this
 * module, a per-user cache — and builds it with `make` on first use when it is missing.
 *
 * @module
 */

import { LauncherError } from "./errors.ts";
import { runSync } from "./spawn.ts";
import { envVar } from "./_host.ts";

/** The launcher's C sources, as shipped with the module (checked by a test against the dir). */
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
 * The module version; also the launcher's (`sandbox-launcher --version`).
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
  } catch {
    return false;
  }
}

function make(dir: string): void {
  let res;
  try {
    res = runSync("make", ["-s", "-C", dir, BINARY]);
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

function moduleDir(): URL {
  return new URL("../launcher/", import.meta.url);
}

function cacheDir(): string {
  const base = envVar("XDG_CACHE_HOME") || `${envVar("HOME") ?? "/tmp"}/.cache`;
  return `${base}/sandbox-ts/${VERSION}`;
}

/** Copies the sources of a local module into dir. */
function stageSources(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of LAUNCHER_SOURCES) {
    Deno.copyFileSync(new URL(name, moduleDir()), `${dir}/${name}`);
  }
}

/** Builds staged sources and moves the binary into the cache dir atomically. */
function buildInCache(staging: string): string {
  const cache = cacheDir();
  make(staging);
  Deno.mkdirSync(cache, { recursive: true, mode: 0o700 });
  Deno.renameSync(`${staging}/${BINARY}`, `${cache}/${BINARY}`);
  Deno.removeSync(staging, { recursive: true });
  return `${cache}/${BINARY}`;
}

/**
 * Makes sure a launcher exists, fetching its C sources first when this module was imported
 * from a remote URL (JSR, https) — which the synchronous lookup cannot do. The CLI calls it;
 * a library imported from JSR calls it once before building sandboxes. Returns the launcher's
 * path: `explicit`, else `SANDBOX_LAUNCHER`, else `launcher/sandbox-launcher` next to the module
 * (built with `make` when missing), else `~/.cache/sandbox-ts/<version>/sandbox-launcher`.
 * Throws `LauncherError` when none can be found or built.
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
export async function prepareLauncher(explicit?: string): Promise<string> {
  const dir = moduleDir();
  if (explicit || dir.protocol === "file:" || envVar("SANDBOX_LAUNCHER")) {
    return findLauncher(explicit);
  }
  const cached = `${cacheDir()}/${BINARY}`;
  if (!isExecutable(cached)) {
    const staging = `${cacheDir()}.build-${Deno.pid}`;
    Deno.mkdirSync(staging, { recursive: true, mode: 0o700 });
    for (const name of LAUNCHER_SOURCES) {
      const url = new URL(name, dir);
      const res = await fetch(url);
      if (!res.ok) {
        await res.body?.cancel();
        throw new LauncherError(
          `Cannot fetch the launcher source "${url.href}": HTTP ${res.status}`,
        );
      }
      Deno.writeFileSync(`${staging}/${name}`, new Uint8Array(await res.arrayBuffer()));
    }
    buildInCache(staging);
  }
  return findLauncher();
}

const found = new Map<string, string>();

/**
 * The path of a working launcher binary, building it if needed. Memoised per process.
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
  let path: string;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new LauncherError(`Sandbox launcher "${explicit}" is missing or not executable`);
    }
    path = explicit;
  } else if (envVar("SANDBOX_LAUNCHER")) {
    path = envVar("SANDBOX_LAUNCHER")!;
    if (!isExecutable(path)) {
      throw new LauncherError(
        `SANDBOX_LAUNCHER "${path}" is missing or not executable`,
      );
    }
  } else {
    path = locateOrBuild();
  }
  found.set(key, path);
  return path;
}

function locateOrBuild(): string {
  const dir = moduleDir();
  if (dir.protocol === "file:") {
    const local = decodeURIComponent(dir.pathname) + BINARY;
    if (isExecutable(local)) return local;
    try {
      make(decodeURIComponent(dir.pathname));
      if (isExecutable(local)) return local;
    } catch (e) {
      // Not writable (a read-only install): fall through to the cache dir.
      if (!(e instanceof LauncherError) || isWritable(decodeURIComponent(dir.pathname))) throw e;
    }
  }
  const cached = `${cacheDir()}/${BINARY}`;
  if (isExecutable(cached)) return cached;
  if (dir.protocol !== "file:") {
    throw new LauncherError(
      `The sandbox launcher for ${dir.href} is not built yet: call "await prepareLauncher()" once before building sandboxes (it fetches the C sources and runs make; needs make and gcc), or set SANDBOX_LAUNCHER`,
    );
  }
  const staging = `${cacheDir()}.build-${Deno.pid}`;
  stageSources(staging);
  return buildInCache(staging);
}

function isWritable(dir: string): boolean {
  try {
    Deno.removeSync(Deno.makeTempFileSync({ dir }));
    return true;
  } catch {
    return false;
  }
}

/** Kernel facts from `sandbox-launcher --features`. */
export interface LauncherFeatures {
  version: string;
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
