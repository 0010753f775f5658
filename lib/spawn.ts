/**
 * The only file that touches `Deno.Command`: starting the launcher and running build tools.
 *
 * @module
 */

/** How a launcher's stdout/stderr are connected. */
export type Stdio = "piped" | "inherit" | "null";

/**
 * Starts the launcher with an empty environment; its stdin is always piped (the config frame
 * goes first, the target's input after it).
 */
export function spawnLauncher(path: string, stdout: Stdio, stderr: Stdio): Deno.ChildProcess {
  return new Deno.Command(path, {
    stdin: "piped",
    stdout,
    stderr,
    clearEnv: true,
    env: {},
  }).spawn();
}

/** Runs a short helper command synchronously (the launcher build, `--features`). */
export function runSync(
  program: string,
  args: string[],
  cwd?: string,
): { code: number; stdout: string; stderr: string } {
  const out = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(cwd ? { cwd } : {}),
  }).outputSync();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
