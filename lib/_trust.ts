// Whether a launcher binary may be executed, and the private directory it is cached in. A
// launcher runs with the caller's privileges (root's, often): a binary or directory another
// user can write is a way to run their code as us.

//
// With narrow Deno permissions the directories above the launcher may be unreadable to Deno
// (`--allow-read` names the launcher, not `/`): those are checked by the launcher itself, whose
// binary has been checked here first (`exeDistrust` of `--features`, lib/host_facts.ts).

import { LauncherError } from "./errors.ts";
import { callerUid, rethrowPermission } from "./_host.ts";

const STICKY = 0o1000;

/** Our uid, or null when Deno may not tell it yet (no `--allow-sys=uid`, no probe yet). */
function owner(): number | null {
  return callerUid();
}

/** Why `st` (of `path`, a directory when `dir`) is not safe to trust, or null. */
function distrust(path: string, st: Deno.FileInfo, dir: boolean): string | null {
  const me = owner();
  const uid = st.uid ?? 0;
  const mode = st.mode ?? 0;
  if (uid !== me && uid !== 0) {
    return me === null
      ? `"${path}" is owned by uid ${uid}, not by root, and Deno may not tell whether that is this process's uid (grant --allow-sys=uid,gid)`
      : `"${path}" is owned by uid ${uid}, not by uid ${me} or root`;
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
    rethrowPermission(e, path);
    throw new LauncherError(`${what} "${path}" cannot be resolved: ${(e as Error).message}`);
  }
  const parts = real.split("/").filter(Boolean);
  for (let i = parts.length; i >= 0; i--) {
    const p = "/" + parts.slice(0, i).join("/");
    // A directory Deno may not read is left to the launcher's own check; the binary never is.
    if (
      i < parts.length && Deno.permissions.querySync({ name: "read", path: p }).state !== "granted"
    ) {
      continue;
    }
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(p);
    } catch (e) {
      rethrowPermission(e, p);
      throw e;
    }
    const why = distrust(p, st, i < parts.length);
    if (why) {
      throw new LauncherError(
        `Refusing to run ${what} "${path}": ${why}. Another user could replace it and run code as ${
          owner() === null ? "this process" : `uid ${owner()}`
        }; use a launcher in a directory only you or root can write (chown/chmod it, or remove it so it is rebuilt)`,
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
  // Without a known uid only root's own directory passes (fails closed).
  if (!st.isDirectory || (st.uid ?? 0) !== (owner() ?? 0) || ((st.mode ?? 0) & 0o077) !== 0) {
    throw new LauncherError(
      `The launcher cache "${dir}" is not a private directory of uid ${
        owner() ?? "(unknown: grant --allow-sys=uid,gid)"
      } (owner ${st.uid}, mode ${((st.mode ?? 0) & 0o7777).toString(8)}${
        st.isDirectory ? "" : ", not a directory"
      }): another user may have created it. Remove it, or set XDG_CACHE_HOME to a directory you own`,
    );
  }
  assertTrusted(dir, "the launcher cache");
  return dir;
}
