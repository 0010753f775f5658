/**
 * Ownership on user binds and overlays: whether they are id-mapped — the caller's files are the
 * sandbox user's inside, and what the sandbox makes there is the caller's on the host — and why
 * not. The launcher does the mapping (launcher/idmap.c); this decides when to ask. Pure.
 *
 * Only a root caller's runs need it: an unprivileged caller's sandbox user is the caller already
 * (and the kernel would not let it map onto host ids it does not own). A root caller's runs are
 * id-mapped only under a seccomp filter: through the mapping a file the sandbox makes is host
 * root's, and the filter is what refuses set-id modes and nested user namespaces (whose root
 * could write `security.capability`). Without namespaces there are no mounts to map.
 *
 * @module
 */

import type { Op } from "./config.ts";
import { UnsupportedError } from "./errors.ts";
import { validateChoice } from "./parse.ts";
import type { IdmapFallback, IdmapMode, MountOwnership, ResolvedConfig } from "./types.ts";

/**
 * Validates `SandboxConfig.idmap` (undefined: `"best-effort"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateIdmap } from "./ownership.ts";
 * assert.equal(validateIdmap(undefined), "best-effort");
 * assert.throws(() => validateIdmap("always"), /idmap/);
 * ```
 */
export function validateIdmap(value: unknown): IdmapMode {
  if (value === undefined) return "best-effort";
  return validateChoice(value, {
    field: "idmap",
    allowed: ["best-effort", "required", "off"] as const,
  });
}

/** Who runs the sandbox, and how. */
export interface OwnershipContext {
  /** Whether the run has namespaces (else Landlock alone: no mounts). */
  namespaces: boolean;
  /** Whether the run gets host ids of its own (a root caller): only then is there a mapping. */
  rootCaller: boolean;
}

/** What the launcher is asked to id-map, and what `enforced.mounts` says before any run. */
export interface OwnershipPlan {
  /** Whether the user binds and overlays are id-mapped (their ops are the `*-idmap` twins). */
  idmap: boolean;
  /** The `idmap` op (`try` or `required`) when they are; else none. */
  ops: Op[];
  /** Each user bind and overlay, in config order. */
  mounts: MountOwnership[];
}

function fallback(config: ResolvedConfig, context: OwnershipContext): IdmapFallback | null {
  if (config.idmap === "off") return "off";
  if (!context.namespaces) return "no-namespaces";
  if (!context.rootCaller) return "caller";
  if (config.seccomp.profile === "none") return "no-seccomp";
  return null;
}

/**
 * Plans id-mapping for a config. Throws {@linkcode UnsupportedError} when `idmap: "required"`
 * cannot be met by any run (no seccomp filter, or no namespaces) and there is a bind or overlay.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownershipPlan } from "./ownership.ts";
 * import { validateConfig } from "./policy.ts";
 * const config = validateConfig({ mounts: [{ type: "bind", source: "/srv", target: "/srv" }] });
 * const root = ownershipPlan(config, { namespaces: true, rootCaller: true });
 * assert.deepEqual(root.ops, [["idmap", "try"]]);
 * assert.deepEqual(root.mounts, [{ target: "/srv", idmap: true }]);
 * const user = ownershipPlan(config, { namespaces: true, rootCaller: false });
 * assert.deepEqual(user.mounts, [{ target: "/srv", idmap: false, reason: "caller" }]);
 * ```
 */
export function ownershipPlan(config: ResolvedConfig, context: OwnershipContext): OwnershipPlan {
  const targets = config.mounts.filter((m) => m.type === "bind" || m.type === "overlay")
    .map((m) => m.target);
  const reason = fallback(config, context);
  if (config.idmap === "required" && targets.length > 0) {
    if (reason === "no-seccomp") {
      throw new UnsupportedError(
        `idmap "required" cannot be met without a seccomp filter: through an id-mapped mount a file the sandbox makes is the caller's (host root's), and only the filter refuses set-id modes and nested user namespaces; choose a seccomp profile, or idmap "best-effort"`,
      );
    }
    if (reason === "no-namespaces") {
      throw new UnsupportedError(
        `idmap "required" needs namespaces (a mount namespace to id-map binds in), which this run does not have; use namespaces, or idmap "best-effort"`,
      );
    }
  }
  const idmap = reason === null && targets.length > 0;
  return {
    idmap,
    ops: idmap ? [["idmap", config.idmap === "required" ? "required" : "try"]] : [],
    mounts: targets.map((target) =>
      reason === null ? { target, idmap: true } : { target, idmap: false, reason }
    ),
  };
}

/**
 * A result's `enforced.mounts`: the plan's, with the mounts the launcher could not id-map (a
 * filesystem that refused: its targets and errno names) turned into fallbacks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withRefusals } from "./ownership.ts";
 * assert.deepEqual(
 *   withRefusals([{ target: "/nfs", idmap: true }], [{ target: "/nfs", errno: "EINVAL" }]),
 *   [{ target: "/nfs", idmap: false, reason: "filesystem", errno: "EINVAL" }],
 * );
 * ```
 */
export function withRefusals(
  mounts: readonly MountOwnership[],
  refused: readonly { target: string; errno: string }[],
): MountOwnership[] {
  return mounts.map((m) => {
    const r = refused.find((x) => x.target === m.target);
    return r && m.idmap
      ? { target: m.target, idmap: false, reason: "filesystem", errno: r.errno }
      : m;
  });
}
