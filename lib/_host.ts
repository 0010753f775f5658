// Small host reads shared by the modules that look at the machine (doctor, cgroups, launcher,
// rundir). A missing file is an answer; a missing Deno permission is not: it is rethrown as one
// clear error, so that a run never goes on with a host fact guessed as "absent".

/**
 * Rethrows `e` when it is a missing Deno permission (`NotCapable`), naming what needed it;
 * returns for anything else (ENOENT, EACCES: answers about the host).
 */
export function rethrowPermission(e: unknown, path: string): void {
  if (e instanceof Deno.errors.NotCapable) {
    throw new Deno.errors.NotCapable(
      `The sandbox needs "${path}" to know the host, and Deno refused: ${e.message} (see README, "Deno permissions")`,
    );
  }
}

/** A file's text, or null when it does not exist or cannot be read (not for lack of permission). */
export function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    rethrowPermission(e, path);
    return null;
  }
}

/** An environment variable, or undefined (also without --allow-env). */
export function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** One line of /proc/self/mounts. */
export interface Mount {
  dir: string;
  type: string;
  opts: string[];
}

/** This process's mounts. */
export function mounts(): Mount[] {
  return (readText("/proc/self/mounts") ?? "").split("\n").map((l) => l.split(" ")).filter((f) =>
    f.length > 3
  ).map((f) => ({ dir: f[1]!, type: f[2]!, opts: f[3]!.split(",") }));
}
