/**
 * The config types of a run's host identity and kernel budgets (`SandboxConfig.hostIds`,
 * `SandboxConfig.budgets`) and their validated forms; validation and ops are in `host_ids.ts` and
 * `budgets.ts`. Like `types.ts`, pure and importing nothing: `types.ts` imports these.
 *
 * @module
 */

/**
 * A range of host ids for a root caller's runs (`SandboxConfig.hostIds`): uids `start` to
 * `start + count - 1`, gids `gidStart` (default `start`) on. Nothing else on the host may use
 * them: not a user account, not a container manager's range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HostIdsConfig, Sandbox } from "../mod.ts";
 *
 * const hostIds: HostIdsConfig = { start: 0x7f100000, count: 4096 };
 * const sandbox = new Sandbox({ hostIds });
 * assert.deepEqual(sandbox.config.hostIds, { start: 0x7f100000, gidStart: 0x7f100000, count: 4096 });
 * const result = await sandbox.run("true");
 * if (Deno.uid() === 0) {
 *   // Each run of a root caller is a host uid of its own, from the range.
 *   assert.ok(result.enforced.hostUid! >= 0x7f100000 && result.enforced.hostUid! < 0x7f101000);
 * } else {
 *   assert.equal(result.enforced.hostUid, Deno.uid()); // an unprivileged caller maps itself
 * }
 * ```
 */
export interface HostIdsConfig {
  /** The first host uid (1 to 2147483647). */
  start: number;
  /** How many ids: the most runs that can be live at once. */
  count: number;
  /** The first host gid. @default start */
  gidStart?: number;
}

/** A validated {@linkcode HostIdsConfig}. */
export interface HostIdRange {
  /** The first host uid of the range. */
  start: number;
  /** The first host gid of the range. */
  gidStart: number;
  /** How many uid/gid pairs the range holds. */
  count: number;
}

/**
 * Budgets for one sandbox (`SandboxConfig.budgets`): each field bounds what all the processes of
 * one run together may hold. The defaults let ordinary programs work — IDE and build-tool file
 * watchers, `node --watch`, terminals — while a run that grabs everything it can leaves the host
 * and other runs their share. They need a user namespace (not applied with Landlock alone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BudgetsConfig, Sandbox } from "../mod.ts";
 *
 * const budgets: BudgetsConfig = { inotifyInstances: 8, ptys: 4 };
 * const sandbox = new Sandbox({ budgets });
 * const result = await sandbox.run("python3", [
 *   "-c",
 *   "import ctypes; n = 0\nwhile ctypes.CDLL(None).inotify_init() >= 0: n += 1\nprint(n)",
 * ]);
 * if (sandbox.enforced.namespaces.length) assert.equal(result.stdout, "8\n");
 * ```
 */
export interface BudgetsConfig {
  /** inotify instances (`inotify_init`). @default 128 (the kernel's per-user default) */
  inotifyInstances?: number;
  /** inotify watches, all instances together. @default 65536 */
  inotifyWatches?: number;
  /** fanotify groups (`fanotify_init`). @default 16 */
  fanotifyGroups?: number;
  /** fanotify marks. @default 8192 */
  fanotifyMarks?: number;
  /** Nested user namespaces (the seccomp profiles refuse creating them anyway). @default 16 */
  userNamespaces?: number;
  /** Nested namespaces of each other kind: pid, mount, net, uts, ipc, cgroup, time. @default 16 */
  namespaces?: number;
  /** Pseudo-terminals in the sandbox's devpts (`/dev/ptmx`). @default 64 */
  ptys?: number;
  /**
   * POSIX message queue bytes (`RLIMIT_MSGQUEUE`), at most the caller's own hard limit (raising
   * it needs `CAP_SYS_RESOURCE` on the host). Each sandbox also has its own IPC namespace, hence
   * its own queue count limit (`fs.mqueue.queues_max`, 256).
   * @default the caller's limit (819200 bytes on most hosts)
   */
  mqueueBytes?: number | string;
}

/** Validated budgets: every field set; `mqueueBytes` null keeps the caller's limit. */
export type Budgets = Required<{ [K in Exclude<keyof BudgetsConfig, "mqueueBytes">]: number }> & {
  mqueueBytes: number | null;
};
