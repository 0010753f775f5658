/**
 * Per-sandbox kernel budgets. The kernel counts inotify instances and watches, fanotify groups and
 * marks, and namespaces per user *and* per user namespace, charging every level up to the host;
 * each sandbox's own user namespace gets its own maxima (written by the launcher's init into
 * `/proc/sys/user/max_*`, out of the target's reach), its devpts instance a pty maximum, and the
 * target an `RLIMIT_MSGQUEUE` when asked. Above the sandbox, its use is also charged to its host uid: for a
 * root caller the run's own (see `lib/host_ids.ts`), for an unprivileged caller the caller's own,
 * shared with the caller's other sandboxes and programs. Pure.
 *
 * @module
 */

import type { Op } from "./config.ts";
import type { Budgets } from "./identity_types.ts";
import { checkFields, describeValue, parseNonZeroSize, validateInt } from "./parse.ts";

/**
 * The default budgets (see `BudgetsConfig`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_BUDGETS } from "../mod.ts";
 *
 * assert.equal(DEFAULT_BUDGETS.inotifyInstances, 128);
 * assert.equal(DEFAULT_BUDGETS.mqueueBytes, null); // the caller's own limit
 * ```
 */
export const DEFAULT_BUDGETS: Readonly<Budgets> = Object.freeze({
  inotifyInstances: 128,
  inotifyWatches: 65536,
  fanotifyGroups: 16,
  fanotifyMarks: 8192,
  userNamespaces: 16,
  namespaces: 16,
  ptys: 64,
  mqueueBytes: null,
});

/** Each namespace-count field's `/proc/sys/user/max_<name>` entries. */
const USERNS_LIMITS: Record<Exclude<keyof Budgets, "ptys" | "mqueueBytes">, string[]> = {
  inotifyInstances: ["inotify_instances"],
  inotifyWatches: ["inotify_watches"],
  fanotifyGroups: ["fanotify_groups"],
  fanotifyMarks: ["fanotify_marks"],
  userNamespaces: ["user_namespaces"],
  namespaces: [
    "pid_namespaces",
    "mnt_namespaces",
    "net_namespaces",
    "uts_namespaces",
    "ipc_namespaces",
    "cgroup_namespaces",
    "time_namespaces",
  ],
};

const INT_MAX = 0x7fffffff;

/**
 * Validates `SandboxConfig.budgets` and fills in the defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateBudgets } from "./budgets.ts";
 * const b = validateBudgets({ inotifyWatches: 1000, mqueueBytes: "1M" });
 * assert.equal(b.inotifyWatches, 1000);
 * assert.equal(b.mqueueBytes, 1048576);
 * assert.equal(b.ptys, 64);
 * assert.throws(() => validateBudgets({ ptys: 0 }), /budgets.ptys/);
 * ```
 */
export function validateBudgets(value: unknown): Budgets {
  if (value === undefined) return { ...DEFAULT_BUDGETS };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Invalid budgets ${describeValue(value)}: expected an object of budgets`);
  }
  checkFields(value, { name: "budgets", allowed: Object.keys(DEFAULT_BUDGETS) });
  const o = value as Record<string, unknown>;
  const out = { ...DEFAULT_BUDGETS };
  for (const key of Object.keys(USERNS_LIMITS) as (keyof typeof USERNS_LIMITS)[]) {
    if (o[key] !== undefined) out[key] = validateInt(o[key], `budgets.${key}`, 0, INT_MAX);
  }
  if (o.ptys !== undefined) out.ptys = validateInt(o.ptys, "budgets.ptys", 1, 1 << 20);
  if (o.mqueueBytes !== undefined) {
    out.mqueueBytes = parseNonZeroSize(o.mqueueBytes, "budgets.mqueueBytes");
  }
  return out;
}

/**
 * The launcher ops for the budgets: one `userns-limit` per `/proc/sys/user` entry this kernel has
 * (`available`: their names without `max_`; absent: all), `pty-max` when the root has a `/dev`,
 * and the message queue rlimit when one is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { budgetOps, DEFAULT_BUDGETS } from "./budgets.ts";
 * const budgets = { ...DEFAULT_BUDGETS, mqueueBytes: 65536 };
 * const ops = budgetOps(budgets, { dev: true, available: ["inotify_instances"] });
 * assert.deepEqual(ops, [
 *   ["userns-limit", "inotify_instances", "128"],
 *   ["pty-max", "64"],
 *   ["rlimit", "msgqueue", "65536", "65536"],
 * ]);
 * ```
 */
export function budgetOps(
  b: Budgets,
  where: { dev: boolean; available?: readonly string[] | undefined },
): Op[] {
  const ops: Op[] = [];
  for (const [key, names] of Object.entries(USERNS_LIMITS)) {
    for (const name of names) {
      if (where.available && !where.available.includes(name)) continue; // the kernel lacks it
      ops.push(["userns-limit", name, String(b[key as keyof Budgets])]);
    }
  }
  if (where.dev) ops.push(["pty-max", String(b.ptys)]);
  if (b.mqueueBytes !== null) {
    ops.push(["rlimit", "msgqueue", String(b.mqueueBytes), String(b.mqueueBytes)]);
  }
  return ops;
}

/**
 * The budgets a run cannot get: all of them without a user namespace (Landlock alone), else those
 * whose `/proc/sys/user` entries this kernel lacks (`available`, as for {@linkcode budgetOps}).
 * Listed in `enforced.budgetsDropped`, so a weaker run is never silent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { droppedBudgets } from "./budgets.ts";
 * assert.deepEqual(droppedBudgets({ userNamespace: true }), []);
 * assert(droppedBudgets({ userNamespace: false }).includes("inotifyInstances"));
 * ```
 */
export function droppedBudgets(
  where: { userNamespace: boolean; available?: readonly string[] | undefined },
): string[] {
  if (!where.userNamespace) return [...Object.keys(USERNS_LIMITS), "ptys"];
  const have = where.available;
  if (!have) return [];
  return Object.entries(USERNS_LIMITS)
    .filter(([, names]) => names.some((n) => !have.includes(n)))
    .map(([key]) => key);
}
