/**
 * Host identities: the host uid and gid a sandbox's uid 1000 is. An unprivileged caller's sandbox
 * maps to the caller (the only ids it may map). Every run of a root caller gets a uid/gid pair of
 * its own, allocated by the launcher from a range (`hostIds`) and held for the run's life, so no
 * two sandboxes — and no local user running a setuid file a sandbox planted — share an identity:
 * no signals or ptrace between them, no shared per-user kernel budgets. The range is
 * {@linkcode DEFAULT_HOST_IDS} unless the config names one: never read from the host. Pure.
 *
 * @module
 */

import type { Op } from "./config.ts";
import type { HostIdRange } from "./identity_types.ts";
import { checkFields, describeValue, validateInt } from "./parse.ts";

/** Ids stay below 2^31: some kernel and user code treats uids as signed (systemd's advice). */
const MAX_ID = 0x7fffffff;
/** The overflow id of user namespaces, and 16-bit `(uid_t) -1`: never a sandbox's. */
const RESERVED = [65534, 65535];

/**
 * The range root callers use unless `hostIds` names another: 0x7F000000 + 65536 (2130706432 to
 * 2130771967), whatever the host's `/etc/subuid` says. In systemd's unused range
 * 0x70000000…0x7FFDFFFF: above the `systemd-nspawn` container ranges (to 0x6FFFFFFF) and
 * shadow's default subordinate ids (100000 to 600100000), below systemd's foreign-image range
 * (0x7FFE0000), the range podman documents for `--userns=auto` (2147483647 on) and 2^31. Root's
 * own `/etc/subuid` entry is never the default: LXC and rootful podman allocate their containers'
 * ids from it, and a sandbox sharing a uid with a container could signal and ptrace it. To use it
 * anyway (it must then serve nothing else), name it in `hostIds`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_HOST_IDS } from "../mod.ts";
 *
 * assert.equal(DEFAULT_HOST_IDS.start, 0x7f000000);
 * assert.equal(DEFAULT_HOST_IDS.count, 65536);
 * ```
 */
export const DEFAULT_HOST_IDS: Readonly<HostIdRange> = Object.freeze({
  start: 0x7f000000,
  gidStart: 0x7f000000,
  count: 65536,
});

function checkRange(start: number, gidStart: number, count: number): HostIdRange {
  const field = "hostIds";
  for (const [first, what] of [[start, "uids"], [gidStart, "gids"]] as const) {
    const last = first + count - 1;
    if (first < 1) {
      throw new RangeError(`Invalid ${field}: ${what} from ${first} include 0, host root`);
    }
    if (last > MAX_ID) {
      throw new RangeError(
        `Invalid ${field}: ${what} ${first} to ${last} pass 2147483647; keep host ids below 2^31`,
      );
    }
    const reserved = RESERVED.find((id) => id >= first && id <= last);
    if (reserved !== undefined) {
      throw new RangeError(
        `Invalid ${field}: ${what} ${first} to ${last} include ${reserved}, which is never a sandbox's (nobody, (uid_t) -1)`,
      );
    }
  }
  return { start, gidStart, count };
}

/**
 * Validates `SandboxConfig.hostIds` (undefined: {@linkcode DEFAULT_HOST_IDS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_HOST_IDS, validateHostIds } from "./host_ids.ts";
 * assert.deepEqual(validateHostIds({ start: 1000000000, count: 10, gidStart: 1200000 }), {
 *   start: 1000000000,
 *   gidStart: 1200000,
 *   count: 10,
 * });
 * assert.equal(validateHostIds(undefined), DEFAULT_HOST_IDS);
 * assert.throws(() => validateHostIds({ start: 60000, count: 10000 }), /include 65534/);
 * assert.throws(() => validateHostIds({ start: 0, count: 1 }), /hostIds.start/);
 * ```
 */
export function validateHostIds(value: unknown): HostIdRange {
  if (value === undefined) return DEFAULT_HOST_IDS;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Invalid hostIds ${describeValue(value)}: expected { start, count, gidStart? }`,
    );
  }
  checkFields(value, { name: "hostIds", allowed: ["start", "count", "gidStart"] });
  const o = value as Record<string, unknown>;
  const start = validateInt(o.start, "hostIds.start", 1, MAX_ID);
  const count = validateInt(o.count, "hostIds.count", 1, MAX_ID);
  const gidStart = o.gidStart === undefined
    ? start
    : validateInt(o.gidStart, "hostIds.gidStart", 1, MAX_ID);
  return checkRange(start, gidStart, count);
}

/**
 * The launcher op that gives a root caller's run its own host uid/gid pair from `range`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_HOST_IDS, hostIdsOp } from "./host_ids.ts";
 * assert.deepEqual(hostIdsOp(DEFAULT_HOST_IDS), ["host-ids", "2130706432", "2130706432", "65536"]);
 * ```
 */
export function hostIdsOp(range: HostIdRange): Op {
  return ["host-ids", String(range.start), String(range.gidStart), String(range.count)];
}
