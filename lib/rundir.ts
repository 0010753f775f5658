/**
 * Private per-run directories for the launcher's status file: `sandbox-ts-<uid>/` (0700,
 * in `$XDG_RUNTIME_DIR` or `/dev/shm` when present, else `$TMPDIR` or `/tmp`;
 * verified to be ours), one `<pid>-<n>` dir per run. Directories left by a process that died
 * (a Deno killed with SIGKILL) are swept the first time a process uses the base.
 *
 * @module
 */

let base: string | null | undefined;
let counter = 0;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** A tmpfs is preferred: the status file is written and removed on every run. */
function tmpRoot(): string {
  for (const dir of [env("XDG_RUNTIME_DIR"), "/dev/shm"]) {
    if (!dir) continue;
    try {
      const st = Deno.statSync(dir);
      if (st.isDirectory) return dir;
    } catch {
      // absent
    }
  }
  return env("TMPDIR") || "/tmp";
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
    if (!Number.isInteger(pid) || pid === Deno.pid || alive(pid)) continue;
    try {
      Deno.removeSync(`${dir}/${entry.name}`, { recursive: true });
    } catch {
      // raced with another sweeper
    }
  }
}

/** Creates a fresh private directory for one run. */
export function makeRunDir(): string {
  const b = ensureBase();
  if (b === null) return Deno.makeTempDirSync({ prefix: "sandbox-ts-" });
  for (;;) {
    const dir = `${b}/${Deno.pid}-${++counter}`;
    try {
      Deno.mkdirSync(dir, { mode: 0o700 });
      return dir;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
}

/** The directory that holds this process's run dirs (for leak checks), or null if unusable. */
export function runDirBase(): string | null {
  return ensureBase();
}
