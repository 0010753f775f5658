// Small host reads shared by the modules that look at the machine (doctor, cgroups, launcher,
// rundir). Missing files and missing permissions are answers, not errors.

/** A file's text, or null when it cannot be read. */
export function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
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
