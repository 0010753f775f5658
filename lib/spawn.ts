/**
 * The only file that touches `Deno.Command`: starting the launcher and running build tools.
 *
 * @module
 */

/**
 * Starts the launcher with an empty environment and all three stdio streams piped: the config
 * frame goes first on stdin, the target's input after it; stdout and stderr are the target's.
 * The caller's terminal is never handed to the launcher or the target. `args`: a mode of the
 * launcher (`--warm`, lib/warm.ts: its stdin and stdout are then its control channel).
 */
export function spawnLauncher(path: string, args: string[] = []): Deno.ChildProcess {
  return new Deno.Command(path, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {},
  }).spawn();
}

/** What a helper command printed, decoded, and its exit code. */
export interface ToolOutput {
  code: number;
  stdout: string;
  stderr: string;
}

function helper(program: string, args: string[]): Deno.Command {
  return new Deno.Command(program, { args, stdin: "null", stdout: "piped", stderr: "piped" });
}

function decoded(out: Deno.CommandOutput): ToolOutput {
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a build tool without blocking the event loop (the launcher's `make`). */
export async function runTool(program: string, args: string[]): Promise<ToolOutput> {
  return decoded(await helper(program, args).output());
}

/** Runs a short helper command synchronously (`--version`, `--features`). */
export function runSync(program: string, args: string[]): ToolOutput {
  return decoded(helper(program, args).outputSync());
}
