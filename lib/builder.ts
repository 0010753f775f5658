/**
 * {@linkcode SandboxBuilder}: an immutable builder over a plain {@linkcode SandboxConfig}, in the
 * style of sandbox-rs. Every setter returns a new builder made by one cloning helper; `build()`
 * validates and prepares a {@linkcode Sandbox}.
 *
 * Past 600 lines on purpose: three quarters of it is the JSDoc and runnable example of each setter
 * (`deno test --doc` runs them), and a class cannot be split across files.
 *
 * @module
 */

import { type SeedNamespaces, seedNamespaces } from "./policy.ts";
import { Sandbox, type SandboxOptions } from "./sandbox.ts";
import type { BudgetsConfig } from "./identity_types.ts";
import type {
  IdmapMode,
  LandlockMode,
  MountConfig,
  NetworkMode,
  NetworkPolicy,
  PrivilegeMode,
  SandboxConfig,
  SeccompConfig,
  SeccompProfileName,
} from "./types.ts";

/**
 * An immutable builder in the style of sandbox-rs: every setter returns a new builder, so a base
 * can be shared and specialised. Each setter writes one field of a plain
 * {@linkcode SandboxConfig} (see `toConfig()`); values are validated by `build()` (and by
 * `namespaces()`, which checks its object form at once).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "../mod.ts";
 *
 * const base = new SandboxBuilder("job").timeout("2s");
 * const withEnv = base.env({ LANG: "C.UTF-8" });
 * assert.notEqual(base, withEnv);
 * assert.equal(base.toConfig().env, undefined); // the base is unchanged
 * const sandbox = withEnv.build();
 * assert.equal(sandbox.config.timeoutMs, 2000);
 * assert.equal((await sandbox.run("printenv", ["LANG"])).stdout, "C.UTF-8\n");
 * ```
 */
export class SandboxBuilder {
  #config: SandboxConfig;
  #options: SandboxOptions;

  /**
   * Starts a builder for sandbox `id` (`^[A-Za-z0-9_.-]{1,64}$`, default `"sandbox"`),
   * optionally from a plain config (its `id` is replaced by `id`) and options.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("job", { timeout: "1s", hostname: "box" });
   * assert.deepEqual(builder.toConfig(), { timeout: "1s", hostname: "box", id: "job" });
   * ```
   */
  constructor(id = "sandbox", config: SandboxConfig = {}, options: SandboxOptions = {}) {
    this.#config = { ...config, id };
    this.#options = options;
  }

  /**
   * The one way a setter makes its new builder: this config with `patch` over it, less the
   * field `without` (a setter that replaces an alternative, e.g. cpuPercent for cpuQuota), with
   * `options` when given.
   */
  #with(
    patch: Partial<SandboxConfig>,
    change: { without?: keyof SandboxConfig; options?: SandboxOptions } = {},
  ): SandboxBuilder {
    const config: SandboxConfig = { ...this.#config, ...patch };
    if (change.without) delete config[change.without];
    return new SandboxBuilder(config.id ?? "sandbox", config, change.options ?? this.#options);
  }

  /**
   * Wall-clock limit (config `timeout`): milliseconds or a string like `"2s"`. When it runs out,
   * every process of the run is killed and the result has `reason: "timeout"`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const result = await new SandboxBuilder("t").timeout(100).build().run("sleep", ["5"]);
   * assert.equal(result.timedOut, true);
   * assert.equal(result.reason, "timeout");
   * ```
   */
  timeout(value: number | string): SandboxBuilder {
    return this.#with({ timeout: value });
  }

  /**
   * Adds environment variables (config `env`; merged over earlier ones). The target starts with
   * only `PATH` plus these.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("e").env({ A: "1" }).env({ B: "2" });
   * assert.deepEqual(builder.toConfig().env, { A: "1", B: "2" });
   * ```
   */
  env(vars: Record<string, string>): SandboxBuilder {
    return this.#with({ env: { ...this.#config.env, ...vars } });
  }

  /**
   * Working directory inside the sandbox (config `cwd`, absolute).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const result = await new SandboxBuilder("c").cwd("/tmp").build().run("pwd");
   * assert.equal(result.stdout, "/tmp\n");
   * ```
   */
  cwd(path: string): SandboxBuilder {
    return this.#with({ cwd: path });
  }

  /**
   * `none` (private network with loopback; the default) or `host` (config `network`). `host` needs a
   * profile that allows `socket` (`compute`, the default, or above): with one that refuses it
   * `build()` throws.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * assert.equal(new SandboxBuilder("n").network("host").toConfig().network, "host");
   * ```
   */
  network(mode: NetworkMode | NetworkPolicy): SandboxBuilder {
    return this.#with({ network: mode });
  }

  /**
   * Network egress by allow-list (config `network: { allow, deny }`): the sandbox keeps its
   * private network, and a filtering proxy outside lets through only connections to these
   * destinations (`HOST[:PORT]`, `*.DOMAIN[:PORT]`, IPs, CIDRs, `*` for any public address);
   * `HTTP_PROXY` and friends point the run's tools at it. Adds to the entries already allowed;
   * see {@linkcode NetworkPolicy} for what is refused whatever the list says.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const b = new SandboxBuilder("n").allowNet(["registry.npmjs.org:443"]).denyNet(["10.0.0.0/8"]);
   * assert.deepEqual(b.toConfig().network, { allow: ["registry.npmjs.org:443"], deny: ["10.0.0.0/8"] });
   * ```
   */
  allowNet(entries: string[]): SandboxBuilder {
    const n = this.#policy();
    return this.#with({ network: { ...n, allow: [...n.allow, ...entries] } });
  }

  /**
   * Destinations refused even when `allowNet` matches them (config `network.deny`); deny wins.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const b = new SandboxBuilder("n").allowNet(["*"]).denyNet(["*.example.com"]);
   * assert.deepEqual(b.toConfig().network, { allow: ["*"], deny: ["*.example.com"] });
   * ```
   */
  denyNet(entries: string[]): SandboxBuilder {
    const n = this.#policy();
    return this.#with({ network: { ...n, deny: [...(n.deny ?? []), ...entries] } });
  }

  /** The current allow-list, or an empty one (mode names are replaced). */
  #policy(): NetworkPolicy {
    const n = this.#config.network;
    return typeof n === "object" && n !== null ? n : { allow: [] };
  }

  /**
   * Hostname inside the sandbox (config `hostname`; default `"sandbox"`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const result = await new SandboxBuilder("h").hostname("box").build().run("hostname");
   * assert.equal(result.stdout, "box\n");
   * ```
   */
  hostname(name: string): SandboxBuilder {
    return this.#with({ hostname: name });
  }

  /**
   * The sandbox user's name (config `user`; default `"sandbox"`): in the synthesized
   * `/etc/passwd` and `/etc/group`, its home `/home/<name>`, `USER` and `LOGNAME`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const result = await new SandboxBuilder("u").user("alice").build().run("sh", ["-c", "whoami; echo $HOME"]);
   * assert.equal(result.stdout, "alice\n/home/alice\n");
   * ```
   */
  user(name: string): SandboxBuilder {
    return this.#with({ user: name });
  }

  /**
   * `auto` (the default), `privileged` (root) or `unprivileged` (config `privilegeMode`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("m").privilegeMode("unprivileged").build();
   * assert.equal(sandbox.mode, "unprivileged");
   * ```
   */
  privilegeMode(mode: PrivilegeMode): SandboxBuilder {
    return this.#with({ privilegeMode: mode });
  }

  /**
   * The seccomp profile (config `seccomp.profile`): `essential`, `minimal`, `io-heavy`,
   * `compute` (the default), `network`, `unrestricted`, or `none` (no filter; debugging only).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("s").seccompProfile("minimal").build();
   * assert.equal(sandbox.enforced.seccomp, "minimal");
   * ```
   */
  seccompProfile(
    profile: SeccompProfileName | "none" | (string & Record<never, never>),
  ): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), profile } });
  }

  /**
   * Allows extra syscalls on top of the profile (config `seccomp.allow`; replaces an earlier
   * list). Names on the never-allowed list (`ptrace`, `mount`, `bpf`, …) make `build()` throw.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("s").seccompProfile("minimal").seccompAllow(["flock"]);
   * assert.deepEqual(builder.toConfig().seccomp, { profile: "minimal", allow: ["flock"] });
   * assert.throws(() => new SandboxBuilder("s").seccompAllow(["ptrace"]).build(), RangeError);
   * ```
   */
  seccompAllow(names: string[]): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), allow: names } });
  }

  /**
   * Refuses syscalls the profile would allow (config `seccomp.deny`; replaces an earlier list).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const result = await new SandboxBuilder("s").seccompDeny(["uname"]).build().run("uname");
   * assert.equal(result.reason, "seccomp");
   * assert.equal(result.seccompViolation?.syscall, "uname");
   * ```
   */
  seccompDeny(names: string[]): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), deny: names } });
  }

  /**
   * What a refused syscall does (config `seccomp.action`): `kill` the whole sandbox (the default;
   * reason `"seccomp"`) or fail with `errno` EPERM and go on. Both name the syscall in the result.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("s").seccompDeny(["uname"]).seccompAction("errno").build();
   * const result = await sandbox.run("uname");
   * assert.equal(result.reason, "exited");
   * assert.equal(result.killedBySeccomp, false);
   * assert.equal(result.seccompViolation?.syscall, "uname");
   * ```
   */
  seccompAction(action: "kill" | "errno"): SandboxBuilder {
    return this.#with({ seccomp: { ...this.#seccomp(), action } });
  }

  #seccomp(): SeccompConfig {
    const s = this.#config.seccomp;
    return typeof s === "string" ? { profile: s } : { ...s };
  }

  /**
   * Hard memory limit (config `memory`; swap off): bytes or a size like `"256M"`, at least 1M.
   * Needs a cgroup, else `build()` throws `LimitUnavailableError` unless
   * `limitsMode("best-effort")`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("m").memoryLimit(256 * 1024 * 1024);
   * assert.equal(builder.toConfig().memory, 268435456);
   * ```
   */
  memoryLimit(size: number | string): SandboxBuilder {
    return this.#with({ memory: size });
  }

  /**
   * The seed's string form of {@linkcode memoryLimit}: `"256M"`, `"1.5G"`, `"512MB"`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * assert.equal(new SandboxBuilder("m").memoryLimitStr("1.5G").toConfig().memory, "1.5G");
   * ```
   */
  memoryLimitStr(size: string): SandboxBuilder {
    return this.#with({ memory: size });
  }

  /**
   * Maximum processes and threads in the sandbox (config `maxPids`; cgroup `pids.max`); the
   * default is 2048, `null` removes the limit.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * assert.equal(new SandboxBuilder("p").maxPids(64).toConfig().maxPids, 64);
   * assert.equal(new SandboxBuilder("p").build().enforced.limits.defaults?.[0], "pids");
   * ```
   */
  maxPids(n: number | null): SandboxBuilder {
    return this.#with({ maxPids: n });
  }

  /**
   * CPU share in percent of one CPU (config `cpuPercent`; above 100 allowed, up to 100 × CPUs).
   * Replaces an earlier `cpuQuota()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("c").cpuQuota(20_000).cpuLimitPercent(50);
   * assert.equal(builder.toConfig().cpuPercent, 50);
   * assert.equal(builder.toConfig().cpuQuota, undefined);
   * ```
   */
  cpuLimitPercent(percent: number): SandboxBuilder {
    return this.#with({ cpuPercent: percent }, { without: "cpuQuota" });
  }

  /**
   * CPU share as quota and period in microseconds (config `cpuQuota`; the seed's `cpu_quota`).
   * Replaces an earlier `cpuLimitPercent()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("c").cpuQuota(50_000, 100_000);
   * assert.deepEqual(builder.toConfig().cpuQuota, { quota: 50_000, period: 100_000 });
   * ```
   */
  cpuQuota(quota: number, period = 100_000): SandboxBuilder {
    return this.#with({ cpuQuota: { quota, period } }, { without: "cpuPercent" });
  }

  /**
   * CPU time per process (config `cpuTime`): milliseconds or `"2s"`, in whole seconds (RLIMIT_CPU
   * counts nothing finer, so `"1500ms"` is refused rather than rounded; `SIGXCPU`, then `SIGKILL` a
   * second later). Works without a cgroup.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("c").cpuTimeLimit("1s").timeout("10s").build();
   * const result = await sandbox.run("sh", ["-c", "while :; do :; done"]);
   * assert.equal(result.reason, "cpu-time");
   * ```
   */
  cpuTimeLimit(duration: number | string): SandboxBuilder {
    return this.#with({ cpuTime: duration });
  }

  /**
   * Maximum open files per process (config `openFiles`; RLIMIT_NOFILE). Works without a cgroup.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("o").openFiles(64).build();
   * const result = await sandbox.run("sh", ["-c", "ulimit -n"]);
   * assert.equal(result.stdout, "64\n");
   * ```
   */
  openFiles(n: number): SandboxBuilder {
    return this.#with({ openFiles: n });
  }

  /**
   * Maximum size of any file written (config `fileSize`; RLIMIT_FSIZE: past it, `SIGXFSZ` and
   * reason `"file-size"`). Works without a cgroup.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("f").fileSizeLimit("1K").build();
   * const result = await sandbox.run("dd", ["if=/dev/zero", "of=/tmp/big", "bs=4096", "count=1"]);
   * assert.equal(result.reason, "file-size");
   * ```
   */
  fileSizeLimit(size: number | string): SandboxBuilder {
    return this.#with({ fileSize: size });
  }

  /**
   * Cap on captured output per run (config `maxOutput`; stdout + stderr together, default 64M).
   * Past it the sandbox is killed (reason `"output-limit"`) and what fit is kept.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const result = await new SandboxBuilder("o").maxOutput(1000).build().run("yes");
   * assert.equal(result.reason, "output-limit");
   * assert.equal(result.stdout.length, 1000);
   * ```
   */
  maxOutput(size: number | string): SandboxBuilder {
    return this.#with({ maxOutput: size });
  }

  /**
   * `strict` (the default) or `best-effort` limits (config `limits`). Strict: a limit this
   * machine cannot enforce makes `build()` throw `LimitUnavailableError`. Best effort: memory
   * becomes RLIMIT_DATA and pids RLIMIT_NPROC (`enforced.limits.approximated`), a CPU share is
   * dropped (`enforced.limits.dropped`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("l").memoryLimit("256M").limitsMode("best-effort").build();
   * assert.equal(sandbox.enforced.limits.memoryBytes, 256 * 1024 * 1024);
   * assert.ok(["cgroup-v2", "cgroup-v1", "rlimit"].includes(sandbox.enforced.limits.backend));
   * ```
   */
  limitsMode(mode: "strict" | "best-effort"): SandboxBuilder {
    return this.#with({ limits: mode });
  }

  /**
   * Size of the private `/tmp` tmpfs (config `tmpSize`; default 64M).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const result = await new SandboxBuilder("t").tmpSize("1M").build()
   *   .run("sh", ["-c", "head -c 2000000 /dev/zero > /tmp/f"]);
   * assert.notEqual(result.exitCode, 0); // No space left on device
   * ```
   */
  tmpSize(size: number | string): SandboxBuilder {
    return this.#with({ tmpSize: size });
  }

  #mount(m: MountConfig): SandboxBuilder {
    return this.#with({ mounts: [...(this.#config.mounts ?? []), m] });
  }

  /**
   * Binds a host path (read-write unless `readOnly`) at `target` (default: the same path); adds a
   * `{ type: "bind" }` entry to config `mounts`. The sandbox's uid must be allowed to write it.
   * `bind(source, target)` is short for `bind(source, { target })`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * Deno.chmodSync(dir, 0o777);
   * const sandbox = new SandboxBuilder("b").bind(dir, { target: "/out" }).build();
   * await sandbox.run("sh", ["-c", "echo done > /out/result"]);
   * assert.equal(Deno.readTextFileSync(`${dir}/result`), "done\n");
   * const ro = new SandboxBuilder("b").bind(dir, { target: "/in", readOnly: true }).toConfig();
   * assert.deepEqual(ro.mounts, [{ type: "bind", source: dir, target: "/in", readOnly: true }]);
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  bind(source: string, options?: string | { target?: string; readOnly?: boolean }): SandboxBuilder;
  /** @deprecated Put the target in the options: `bind(source, { target, readOnly })`. */
  bind(source: string, target: string | undefined, options: { readOnly?: boolean }): SandboxBuilder;
  bind(
    source: string,
    options: string | { target?: string; readOnly?: boolean } = {},
    legacy: { readOnly?: boolean } = {},
  ): SandboxBuilder {
    const { target, ...rest } = typeof options === "string" ? { target: options } : options;
    return this.#mount({ type: "bind", source, ...(target ? { target } : {}), ...legacy, ...rest });
  }

  /**
   * Binds a host path read-only (a `bind` mount with `readOnly: true`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * Deno.chmodSync(dir, 0o755); // readable by the sandbox's uid
   * Deno.writeTextFileSync(`${dir}/input.txt`, "data");
   * const sandbox = new SandboxBuilder("r").roBind(dir, "/in").build();
   * assert.equal((await sandbox.run("cat", ["/in/input.txt"])).stdout, "data");
   * assert.notEqual((await sandbox.run("touch", ["/in/new"])).exitCode, 0);
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  roBind(source: string, target?: string): SandboxBuilder {
    return this.bind(source, { ...(target ? { target } : {}), readOnly: true });
  }

  /**
   * A fresh tmpfs at `target` (default size 64M, mode 0o755); a `{ type: "tmpfs" }` mount.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("t").tmpfs("/scratch", { size: "16M" }).build();
   * const result = await sandbox.run("sh", ["-c", "echo x > /scratch/f && cat /scratch/f"]);
   * assert.equal(result.stdout, "x\n");
   * ```
   */
  tmpfs(target: string, options: { size?: number | string; mode?: number } = {}): SandboxBuilder {
    return this.#mount({ type: "tmpfs", target, ...options });
  }

  /**
   * Copy-on-write over a host directory at `target` (default: the same path; a
   * `{ type: "overlay" }` mount): writes are discarded with the run (kept meanwhile in a private
   * tmpfs of `size`, default 64M), or kept in the host directory `upper` (work dir
   * `upper + ".work"`; both created when missing). `overlay(source, target)` is short for
   * `overlay(source, { target })`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const src = Deno.makeTempDirSync();
   * Deno.chmodSync(src, 0o777); // writable by the sandbox's uid, as for a bind
   * Deno.writeTextFileSync(`${src}/a.txt`, "original");
   * const sandbox = new SandboxBuilder("o").overlay(src, { target: "/project" }).build();
   * const result = await sandbox.run("sh", ["-c", "echo new > /project/b.txt; ls /project"]);
   * assert.equal(result.stdout, "a.txt\nb.txt\n");
   * assert.deepEqual([...Deno.readDirSync(src)].map((e) => e.name), ["a.txt"]); // host untouched
   * Deno.removeSync(src, { recursive: true });
   * ```
   */
  overlay(
    source: string,
    options?: string | { target?: string; upper?: string; size?: number | string },
  ): SandboxBuilder;
  /** @deprecated Put the target in the options: `overlay(source, { target, upper, size })`. */
  overlay(
    source: string,
    target: string | undefined,
    options: { upper?: string; size?: number | string },
  ): SandboxBuilder;
  overlay(
    source: string,
    options: string | { target?: string; upper?: string; size?: number | string } = {},
    legacy: { upper?: string; size?: number | string } = {},
  ): SandboxBuilder {
    const { target, ...rest } = typeof options === "string" ? { target: options } : options;
    return this.#mount({
      type: "overlay",
      source,
      ...(target ? { target } : {}),
      ...legacy,
      ...rest,
    });
  }

  /**
   * Uses a directory's entries as the root (config `rootfs`; read-only unless `writable`),
   * instead of the host's system directories; `/proc`, `/dev` and `/tmp` stay fresh.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("r").rootfs("/srv/image", { writable: true });
   * assert.deepEqual(builder.toConfig().rootfs, { path: "/srv/image", writable: true });
   * ```
   */
  rootfs(path: string, options: { writable?: boolean } = {}): SandboxBuilder {
    return this.#with({ rootfs: { path, ...options } });
  }

  /**
   * The seed's `root(path)`: the sandbox's root directory, i.e. {@linkcode rootfs} (read-only).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * assert.deepEqual(new SandboxBuilder("r").root("/srv/image").toConfig().rootfs, {
   *   path: "/srv/image",
   * });
   * ```
   */
  root(path: string): SandboxBuilder {
    return this.rootfs(path);
  }

  /**
   * `true`, `false` (Landlock alone) or `"auto"` (the default: namespaces where the machine
   * allows them, else Landlock alone). The seed's `NamespaceConfig` object is accepted too:
   * `{ net: false }` shares the host network; switching off pid, mount, user, uts or ipc alone
   * is refused (a run's processes could then outlive it or see the host), use `false` instead.
   * Sets config `namespaces` (and `network` for the object form).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * assert.equal(new SandboxBuilder("n").namespaces("auto").toConfig().namespaces, "auto");
   * const seed = new SandboxBuilder("n").namespaces({ net: false }).toConfig();
   * assert.deepEqual([seed.namespaces, seed.network], [true, "host"]);
   * ```
   */
  namespaces(value: boolean | "auto" | SeedNamespaces): SandboxBuilder {
    if (typeof value !== "object" || value === null) return this.#with({ namespaces: value });
    return this.#with(seedNamespaces(value));
  }

  /**
   * Landlock mode (config `landlock`): `best-effort` (the default), `required` or `off`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("l").landlock("off").build();
   * assert.equal(sandbox.enforced.landlock, null);
   * ```
   */
  landlock(mode: LandlockMode): SandboxBuilder {
    return this.#with({ landlock: mode });
  }

  /**
   * Id-mapped binds and overlays (config `idmap`): `best-effort` (the default), `required` or
   * `off`. See {@linkcode IdmapMode}; `enforced.mounts` says how each mount came out.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("i").bind("/usr/share", "/share").idmap("off").build();
   * assert.deepEqual(sandbox.enforced.mounts, [{ target: "/share", idmap: false, reason: "off" }]);
   * ```
   */
  idmap(mode: IdmapMode): SandboxBuilder {
    return this.#with({ idmap: mode });
  }

  /**
   * The host id range a root caller's runs take their own uid/gid pair from (config `hostIds`;
   * gids from `options.gidStart`, default `start`). Unprivileged callers' runs are the caller.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const builder = new SandboxBuilder("h").hostIds(0x7f200000, 1024);
   * assert.deepEqual(builder.toConfig().hostIds, { start: 0x7f200000, count: 1024 });
   * ```
   */
  hostIds(start: number, count: number, options: { gidStart?: number } = {}): SandboxBuilder {
    return this.#with({ hostIds: { start, count, ...options } });
  }

  /**
   * Kernel budgets of each run (config `budgets`; fields not given keep their defaults).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("b").budgets({ inotifyWatches: 4096, ptys: 8 }).build();
   * assert.equal(sandbox.config.budgets.ptys, 8);
   * assert.equal(sandbox.config.budgets.inotifyInstances, 128);
   * ```
   */
  budgets(budgets: BudgetsConfig): SandboxBuilder {
    return this.#with({ budgets });
  }

  /**
   * Uses a specific launcher binary (the `launcherPath` option; not part of the config).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const launcher = new URL("../launcher/sandbox-launcher", import.meta.url).pathname;
   * const result = await new SandboxBuilder("l").launcherPath(launcher).build().run("true");
   * assert.equal(result.exitCode, 0);
   * ```
   */
  launcherPath(path: string): SandboxBuilder {
    return this.#with({}, { options: { ...this.#options, launcherPath: path } });
  }

  /**
   * The configuration so far, as plain data (a copy): what `--config FILE.json` takes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const config = new SandboxBuilder("job").timeout("5s").memoryLimit("64M").toConfig();
   * assert.deepEqual(config, { id: "job", timeout: "5s", memory: "64M" });
   * assert.equal(JSON.parse(JSON.stringify(config)).memory, "64M");
   * ```
   */
  toConfig(): SandboxConfig {
    return structuredClone(this.#config);
  }

  /**
   * Validates everything and returns a reusable {@linkcode Sandbox}. Also prepares it (finds or
   * builds the launcher, picks the limits backend), so a limit this machine cannot enforce
   * fails here with an `UnsupportedError` (`LimitUnavailableError`), a missing launcher with a
   * `LauncherError`, and a bad value with a `TypeError`/`RangeError`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SandboxBuilder } from "../mod.ts";
   *
   * const sandbox = new SandboxBuilder("job").timeout("2s").build();
   * assert.equal(sandbox.id, "job");
   * assert.throws(() => new SandboxBuilder("job").cpuLimitPercent(-5).build(), RangeError);
   * ```
   */
  build(): Sandbox {
    return new Sandbox(this.#config, this.#options).prepare();
  }
}
