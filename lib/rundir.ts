/**
 * Private per-run directories for the launcher's status file: `sandbox-ts-<uid>/` (0700,
 * in `$XDG_RUNTIME_DIR` or `/dev/shm` when present, else `$TMPDIR` or `/tmp`;
 * verified to be ours), one `<pid>-<n>` status file per run (and, for a run on a terminal, its
 * `<pid>-<n>.tty` control FIFO, made by the launcher) next to a `<pid>-<n>.lock` its Deno
 * process holds (flock) from before the launcher starts until the result is read. Files left by a
 * process that died (a Deno killed with SIGKILL) are swept the first time a process uses the
 * base: those whose lock nobody holds — no guess from /proc, which a narrow `--allow-read` hides.
 *
 * @module
 */

import { callerUid, envVar, rethrowPermission } from "./_host.ts";

let base: string | null | undefined;
let counter = 0;

/**
 * A tmpfs is preferred: the status file is written and removed on every run. `/dev/shm` only when
 * Deno grants it (Deno 2.x wants `--allow-all` under /dev; a query never prompts): with narrow
 * permissions the base is `$TMPDIR` or `/tmp`, which `--allow-read`/`--allow-write` can name.
 */
function tmpRoot(): string {
  for (const dir of [envVar("XDG_RUNTIME_DIR"), "/dev/shm"]) {
    if (!dir || Deno.permissions.querySync({ name: "read", path: dir }).state !== "granted") {
      continue;
    }
    try {
      const st = Deno.statSync(dir);
      if (st.isDirectory) return dir;
    } catch {
      // absent, or refused although granted (Deno's "all access" rule for /dev): not ours
    }
  }
  return envVar("TMPDIR") || "/tmp";
}

/** The base dir if it is safe to use (a real 0700 directory owned by us), else null. */
function ensureBase(): string | null {
  if (base !== undefined) return base;
  try {
    return openBase();
  } catch (e) {
    rethrowPermission(
      e,
      `${tmpRoot()}/sandbox-ts-${callerUid()}`,
      "for the state of its runs",
    );
    throw e;
  }
}

function openBase(): string | null {
  const uid = callerUid();
  if (uid === null) return null; // before the launcher told our uid: nothing to sweep yet
  const dir = `${tmpRoot()}/sandbox-ts-${uid}`;
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
    if (!(e instanceof Deno.errors.AlreadyExists)) return (base = null);
  }
  const st = Deno.lstatSync(dir);
  // Someone else's directory or a planted symlink: do not use or sweep it.
  if (!st.isDirectory || st.uid !== uid || ((st.mode ?? 0) & 0o077) !== 0) return (base = null);
  base = dir;
  sweep(dir);
  return base;
}

/** Whether a live process holds the lock file `path` (absent: nobody does). */
export function lockHeld(path: string): boolean {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch {
    return false;
  }
  try {
    return !f.tryLockSync(true);
  } finally {
    f.close();
  }
}

function sweep(dir: string): void {
  const keys = new Set<string>();
  for (const entry of Deno.readDirSync(dir)) {
    const m = /^\d+-\d+(?=$|\.lock$|\.tty$|\.egress$|\.stdio$)/.exec(entry.name);
    if (m) keys.add(m[0]);
  }
  for (const key of keys) {
    if (lockHeld(`${dir}/${key}.lock`)) continue;
    // The lock file last: while it exists, no new run can take the same name.
    removeQuietly(`${dir}/${key}`, true);
    removeQuietly(`${dir}/${key}.tty`, false);
    removeQuietly(`${dir}/${key}.egress`, false); // an egress proxy's socket (lib/egress/)
    removeQuietly(`${dir}/${key}.stdio`, true);
    removeQuietly(`${dir}/${key}.lock`, false);
  }
}

/**
 * Takes `<base>/<key>.lock` for a new run: created here (a name in use is another run's), then
 * locked, then checked to still be the file at that name (a sweeper may have removed it before
 * the lock was ours). Null when the name is taken or was swept: the caller tries the next one.
 */
function claim(path: string): Deno.FsFile | null {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { createNew: true, write: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return null;
    throw e;
  }
  let ours = false;
  try {
    ours = f.tryLockSync(true) && f.statSync().ino === Deno.statSync(path).ino;
  } catch (e) {
    // NotFound: swept between create and lock. Anything else (no flock here) is an error.
    if (!(e instanceof Deno.errors.NotFound)) {
      f.close();
      throw e;
    }
  }
  if (ours) return f;
  f.close();
  return null;
}

/** Where one run's status file goes, and how to remove it afterwards. */
export interface RunStatus {
  path: string;
  /**
   * Makes the run's private stdio dir (0700, next to the status file, swept with it) and returns
   * its path: where the launcher makes the run's FIFOs (lib/fifo_stdio.ts). Removed by cleanup().
   */
  makeStdioDir(): string;
  cleanup(): void;
}

function makePrivateDir(path: string): string {
  Deno.mkdirSync(path, { mode: 0o700 });
  return path;
}

/**
 * A fresh status-file path for one run: `<base>/<pid>-<n>`, created by the launcher itself
 * (O_EXCL|O_NOFOLLOW) inside our private 0700 base — no directory per run — with its lock held
 * until `cleanup()`. Without a usable base, a private temp dir is made instead.
 */
export function makeRunStatus(options: { tty?: boolean } = {}): RunStatus {
  const b = ensureBase();
  if (b === null) {
    const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-" });
    return {
      path: `${dir}/status`,
      makeStdioDir: () => makePrivateDir(`${dir}/stdio`),
      cleanup: () => removeQuietly(dir, true),
    };
  }
  for (;;) {
    const path = `${b}/${Deno.pid}-${++counter}`;
    const lock = claim(`${path}.lock`);
    if (!lock) continue;
    let stdio = false;
    return {
      path,
      makeStdioDir: () => {
        stdio = true;
        return makePrivateDir(`${path}.stdio`);
      },
      cleanup: () => {
        removeQuietly(path, false);
        // The terminal's control FIFO exists only for a tty run (the launcher makes it).
        if (options.tty) removeQuietly(`${path}.tty`, false);
        if (stdio) removeQuietly(`${path}.stdio`, true);
        removeQuietly(`${path}.lock`, false);
        lock.close();
      },
    };
  }
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
