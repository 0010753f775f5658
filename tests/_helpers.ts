// Shared helpers for the tests (not a test file: the leading "_" keeps deno test off it).
import { testOrSkip } from "./_skip.ts";
import { SandboxBuilder } from "../mod.ts";
import type { SandboxConfig } from "../mod.ts";

export const ROOT = new URL("../", import.meta.url).pathname;
export const LAUNCHER = `${ROOT}launcher/sandbox-launcher`;
export const euid = Deno.uid() ?? 0;
export const isRoot = euid === 0;
export const modeLabel = isRoot ? "root" : `uid ${euid}`;

/** Options of {@link kernelTest}. */
export interface KernelTestOptions {
  /**
   * Why the test cannot run on this machine (a kernel feature, tool or privilege it lacks), or
   * `false` when it can. A skipped test is reported as ignored, and the reason is printed.
   * @default false
   */
  skip?: string | false;
}

/**
 * A test on the real kernel, in this process's mode: the name ends in "[root]" or "[uid N]"
 * (CI runs the suite once per mode), and the resource and op sanitizers are on (but with the
 * library's default warm launchers: tests/_skip.ts), so a test that leaves a child process, pipe
 * or timer behind fails.
 */
export function kernelTest(name: string, fn: () => Promise<void> | void): void;
export function kernelTest(
  name: string,
  options: KernelTestOptions,
  fn: () => Promise<void> | void,
): void;
export function kernelTest(
  name: string,
  optionsOrFn: KernelTestOptions | (() => Promise<void> | void),
  maybeFn?: () => Promise<void> | void,
): void {
  const options: KernelTestOptions = typeof optionsOrFn === "function" ? {} : optionsOrFn;
  const fn = typeof optionsOrFn === "function" ? optionsOrFn : maybeFn!;
  testOrSkip(`${name} [${modeLabel}]`, options.skip ?? false, fn);
}

/**
 * The host uid sandboxes map to in tests that hand host files to it: the caller's own; for root,
 * whose runs each get one of their own (launcher/ids.c), one pinned by {@link pinned} with a one-id
 * `hostIds` range (random, so that concurrent suites do not meet). Runs pinned to it must not
 * overlap: a second live one would find the range full.
 */
export const PINNED_UID = isRoot ? 0x7f400000 + Math.floor(Math.random() * 0x10000) : euid;

/**
 * `config` with a root caller's runs pinned to {@link PINNED_UID} (others' unchanged), and their
 * binds not id-mapped: the host files these tests hand over belong to the pinned uid itself.
 */
export function pinned(config: SandboxConfig = {}): SandboxConfig {
  return isRoot ? { hostIds: { start: PINNED_UID, count: 1 }, idmap: "off", ...config } : config;
}

/**
 * A sandbox with the embedded defaults plus `config`. The default timeout only stops a hung
 * test; it is generous because under emulation (scripts/vm-test.sh) or on a loaded CI runner
 * a run is 5-10× slower. A test that asserts a timeout sets its own.
 */
export function sandbox(config: SandboxConfig = {}) {
  return new SandboxBuilder(config.id ?? "test", { timeout: "120s", ...config }).build();
}

/** Runs `sh -c script` in a default sandbox. */
export function sh(script: string, config: SandboxConfig = {}) {
  return sandbox(config).run("sh", ["-c", script]);
}

/** Host pids whose command line starts with `marker` (the host sees every pid namespace). */
export function hostProcesses(marker: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (cmd.startsWith(marker)) pids.push(Number(e.name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Polls `cond` every 20 ms until it holds or `ms` pass; returns whether it held. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/** A unique number to tag processes of one test. */
export function marker(): string {
  return String(900000 + Math.floor(Math.random() * 99999));
}

/** The CLI (`cli.ts ARGS...`) as a subprocess command; `options` as for `Deno.Command`. */
export function cliCommand(
  args: string[],
  options: Omit<Deno.CommandOptions, "args"> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}cli.ts`, ...args],
    ...options,
  });
}

/** Runs the CLI (`cli.ts ARGS...`) in a subprocess with an empty stdin. */
export async function cli(...args: string[]) {
  const out = await cliCommand(args, { stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Launcher tokens that exec `/bin/sh -c script`, for tests that drive the launcher by hand. */
export function shTokens(script: string): string[] {
  return ["exec", "/bin/sh", "arg", "sh", "arg", "-c", "arg", script];
}

/** Whether `path` exists on the host (a dangling symlink counts). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a host tree, also one holding overlayfs's mode-0 work dir. */
export function removeTree(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch {
    // overlayfs leaves a mode-0 work dir: make everything removable, then retry
    new Deno.Command("chmod", { args: ["-R", "u+rwx", path] }).outputSync();
    Deno.removeSync(path, { recursive: true });
  }
}

/** Whether a sandbox with `config` reaches a TCP listener on the host's loopback. */
export async function reachesHostListener(config: SandboxConfig = {}): Promise<boolean> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const r = await sandbox(config).run("bash", [
      "-c",
      `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && exit 77; exit 0`,
    ]);
    if (r.exitCode !== 0 && r.exitCode !== 77) throw new Error(`probe failed: ${r.stderr}`);
    return r.exitCode === 77;
  } finally {
    listener.close();
  }
}
