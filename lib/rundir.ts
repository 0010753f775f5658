/**
 * Private per-run directories for the launcher's status file: `sandbox-ts-<uid>/` (0700,
 * in `$XDG_RUNTIME_DIR` or `/dev/shm` when present, else `$TMPDIR` or `/tmp`;
 * verified to be ours), one `<pid>-<n>` status file per run. Files left by a process that died
 * (a Deno killed with SIGKILL) are swept the first time a process uses the base.
 *
 * @module
 */

import { envVar } from "./_host.ts";

let base: string | null | undefined;
let counter = 0;

/** A tmpfs is preferred: the status file is written and removed on every run. */
function tmpRoot(): string {
  for (const dir of [envVar("XDG_RUNTIME_DIR"), "/dev/shm"]) {
    if (!dir) continue;
    try {
      const st = Deno.statSync(dir);
      if (st.isDirectory) return dir;
    } catch {
      // absent
    }
  }
  return envVar("TMPDIR") || "/tmp";
}

/** The base dir if it is safe to use (a real 0700 directory owned by us), else null. */
function ensureBase(): string | null {
  if (base !== undefined) return base;
  const uid = Deno.uid() ?? 0;
  const dir = `${tmpRoot()}/sandbox-ts-${uid}`;
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) return (base = null);
  }
  const st = Deno.lstatSync(dir);
  // Someone else's directory or a planted symlink: do not use or sweep it.
  if (!st.isDirectory || st.uid !== uid || ((st.mode ?? 0) & 0o077) !== 0) return (base = null);
  base = dir;
  sweep(dir);
  return base;
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function sweep(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const pid = Number(entry.name.split("-")[0]);
    // Entries of our own pid are from an earlier process that had it: the sweep runs before
    // our first run.
    if (!Number.isInteger(pid) || (pid !== Deno.pid && alive(pid))) continue;
    try {
      Deno.removeSync(`${dir}/${entry.name}`, { recursive: true });
    } catch {
      // raced with another sweeper
    }
  }
}

/** Where one run's status file goes, and how to remove it afterwards. */
export interface RunStatus {
  path: string;
  cleanup(): void;
}

/**
 * A fresh status-file path for one run: `<base>/<pid>-<n>`, created by the launcher itself
 * (O_EXCL|O_NOFOLLOW) inside our private 0700 base — no directory per run. Without a usable
 * base, a private temp dir is made instead.
 */
export function makeRunStatus(): RunStatus {
  const b = ensureBase();
  if (b === null) {
    const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-" });
    return { path: `${dir}/status`, cleanup: () => removeQuietly(dir, true) };
  }
  const path = `${b}/${Deno.pid}-${++counter}`;
  return { path, cleanup: () => removeQuietly(path, false) };
}

function removeQuietly(path: string, recursive: boolean): void {
  try {
    Deno.removeSync(path, { recursive });
  } catch {
    // already gone (the launcher never created it)
  }
}

/** The directory that holds this process's run dirs (for leak checks), or null if unusable. */
export function runDirBase(): string | null {
  return ensureBase();
}
