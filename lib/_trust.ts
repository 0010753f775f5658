// Whether a launcher binary may be executed, and the private directory it is cached in. A
// launcher runs with the caller's privileges (root's, often): a binary or directory another
// user can write is a way to run their code as us.

import { LauncherError } from "./errors.ts";

const STICKY = 0o1000;

function owner(): number {
  return Deno.uid() ?? 0;
}

/** Why `st` (of `path`, a directory when `dir`) is not safe to trust, or null. */
function distrust(path: string, st: Deno.FileInfo, dir: boolean): string | null {
  const me = owner();
  const uid = st.uid ?? 0;
  const mode = st.mode ?? 0;
  if (uid !== me && uid !== 0) {
    return `"${path}" is owned by uid ${uid}, not by uid ${me} or root`;
  }
  // A root-owned sticky directory (/tmp) is safe: others can add entries but cannot rename
  // or remove ours.
  if ((mode & 0o022) !== 0 && !(dir && uid === 0 && (mode & STICKY) !== 0)) {
    return `"${path}" is writable by ${(mode & 0o002) ? "every user" : "its group"} (mode ${
      (mode & 0o7777).toString(8).padStart(4, "0")
    })`;
  }
  return null;
}

/**
 * Throws `LauncherError` unless `path` (symlinks resolved) and every directory above it are
 * owned by the current user or root and writable by nobody else. `what` names the path's role.
 */
export function assertTrusted(path: string, what: string): void {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch (e) {
    throw new LauncherError(`${what} "${path}" cannot be resolved: ${(e as Error).message}`);
  }
  const parts = real.split("/").filter(Boolean);
  for (let i = parts.length; i >= 0; i--) {
    const p = "/" + parts.slice(0, i).join("/");
    const why = distrust(p, Deno.statSync(p), i < parts.length);
    if (why) {
      throw new LauncherError(
        `Refusing to run ${what} "${path}": ${why}. Another user could replace it and run code as uid ${owner()}; use a launcher in a directory only you or root can write (chown/chmod it, or remove it so it is rebuilt)`,
      );
    }
  }
}

/**
 * Creates `dir` (mode 0700) unless it exists, and returns it once it is owned by the current
 * user, mode 0700, and every directory above it is trusted; null when it cannot be created
 * (an unwritable or unreadable HOME). Throws `LauncherError` when it exists but is not private.
 */
export function privateDir(dir: string): string | null {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) return null;
  }
  const st = Deno.lstatSync(dir);
  if (!st.isDirectory || (st.uid ?? 0) !== owner() || ((st.mode ?? 0) & 0o077) !== 0) {
    throw new LauncherError(
      `The launcher cache "${dir}" is not a private directory of uid ${owner()} (owner ${st.uid}, mode ${
        ((st.mode ?? 0) & 0o7777).toString(8)
      }${
        st.isDirectory ? "" : ", not a directory"
      }): another user may have created it. Remove it, or set XDG_CACHE_HOME to a directory you own`,
    );
  }
  assertTrusted(dir, "the launcher cache");
  return dir;
}
