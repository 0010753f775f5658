// Small host reads shared by the modules that look at the machine (launcher, host_facts,
// rundir). A missing file is an answer; a missing Deno permission is not: it is rethrown as one
// clear error, so that a run never goes on with a host fact guessed as "absent". Facts under
// /proc and /sys come from the launcher (lib/host_facts.ts), never from here.

/**
 * Rethrows `e` when it is a missing Deno permission (`NotCapable`) as one error naming the path,
 * what it is for, and Deno's own words (which name the flag to grant); returns for anything else
 * (ENOENT, EACCES: answers about the host).
 */
export function rethrowPermission(e: unknown, path: string, purpose = "to know the host"): void {
  if (e instanceof Deno.errors.NotCapable) {
    throw new Deno.errors.NotCapable(
      `The sandbox needs "${path}" ${purpose}, and Deno refused: ${e.message} (see README, "Deno permissions")`,
    );
  }
}

/**
 * An environment variable, or undefined — also without `--allow-env`, and then without a prompt
 * (a query never prompts): every variable read here has a default.
 */
export function envVar(name: string): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return undefined;
  }
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

let learned: number | undefined;

/** Records the caller's uid as the launcher reported it (`--features`). */
export function learnCallerUid(uid: number): void {
  learned = uid;
}

/**
 * This process's uid: from Deno when `--allow-sys=uid` is granted (a query never prompts), else as
 * the launcher reported it once it has been asked (`learnCallerUid`), else null — nothing here
 * needs `--allow-sys`.
 */
export function callerUid(): number | null {
  if (Deno.permissions.querySync({ name: "sys", kind: "uid" }).state === "granted") {
    return Deno.uid() ?? 0;
  }
  return learned ?? null;
}
