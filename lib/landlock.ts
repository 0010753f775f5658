/**
 * Landlock policy: right names → bits per kernel ABI, and the launcher ops for a filesystem view
 * (`landlock FS NET SCOPE`, `landlock-path PATH RIGHTS`). The launcher only creates the ruleset
 * it is given; which rights a path gets is decided here. Pure.
 *
 * @module
 */

import type { Op } from "./config.ts";
import { UnsupportedError } from "./errors.ts";
import type { LandlockMode, NetworkMode } from "./types.ts";

/** Filesystem access rights (`LANDLOCK_ACCESS_FS_*`) and the ABI that introduced each. */
export const FS_RIGHTS = {
  execute: { bit: 1 << 0, abi: 1 },
  writeFile: { bit: 1 << 1, abi: 1 },
  readFile: { bit: 1 << 2, abi: 1 },
  readDir: { bit: 1 << 3, abi: 1 },
  removeDir: { bit: 1 << 4, abi: 1 },
  removeFile: { bit: 1 << 5, abi: 1 },
  makeChar: { bit: 1 << 6, abi: 1 },
  makeDir: { bit: 1 << 7, abi: 1 },
  makeReg: { bit: 1 << 8, abi: 1 },
  makeSock: { bit: 1 << 9, abi: 1 },
  makeFifo: { bit: 1 << 10, abi: 1 },
  makeBlock: { bit: 1 << 11, abi: 1 },
  makeSym: { bit: 1 << 12, abi: 1 },
  refer: { bit: 1 << 13, abi: 2 },
  truncate: { bit: 1 << 14, abi: 3 },
  ioctlDev: { bit: 1 << 15, abi: 5 },
} as const;

/** A filesystem right's name. */
export type FsRight = keyof typeof FS_RIGHTS;

/** `LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP` (ABI 4). */
export const NET_TCP = 0b11;
/** `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL` (ABI 6). */
export const SCOPE_ALL = 0b11;
/** The newest ABI this module knows (7 adds audit logging, no new rights). */
export const LANDLOCK_ABI_MAX = 7;

/**
 * How a path of the filesystem view may be used:
 * - `read`: read and execute files, list directories (read-only mounts);
 * - `write`: `read` plus create, write, remove, rename/link within, truncate (writable mounts;
 *   never device nodes);
 * - `device`: read, write, truncate and ioctl (the harmless `/dev` nodes, `/dev/pts`);
 * - `list`: list the directory only (the root itself);
 * - `proc`: read, and write existing files (`/proc/self/...`);
 * - `proc-read`: read only (the host's `/proc` without namespaces).
 */
export type PathAccess = "read" | "write" | "device" | "list" | "proc" | "proc-read";

/** One path of the view Landlock enforces. */
export interface ViewEntry {
  path: string;
  access: PathAccess;
  /** A missing path is skipped (e.g. `/etc` entries a host lacks). */
  optional: boolean;
}

const ACCESS_RIGHTS: Record<PathAccess, readonly FsRight[]> = {
  read: ["execute", "readFile", "readDir"],
  write: [
    "execute",
    "readFile",
    "readDir",
    "writeFile",
    "removeDir",
    "removeFile",
    "makeDir",
    "makeReg",
    "makeSock",
    "makeFifo",
    "makeSym",
    "refer",
    "truncate",
  ],
  device: ["readFile", "writeFile", "readDir", "truncate", "ioctlDev"],
  list: ["readDir"],
  proc: ["readFile", "readDir", "writeFile", "truncate"],
  "proc-read": ["readFile", "readDir"],
};

/**
 * The bitmask of every filesystem right an ABI handles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handledFs } from "./landlock.ts";
 * assert(handledFs(1) === 0x1fff && handledFs(3) === 0x7fff && handledFs(5) === 0xffff);
 * ```
 */
export function handledFs(abi: number): number {
  let bits = 0;
  for (const r of Object.values(FS_RIGHTS)) if (r.abi <= abi) bits |= r.bit;
  return bits;
}

/** The rights bitmask for an access class (before cutting to the ABI). */
export function accessRights(access: PathAccess): number {
  return ACCESS_RIGHTS[access].reduce((bits, r) => bits | FS_RIGHTS[r].bit, 0);
}

/** What a Landlock plan asks for besides the view. */
export interface LandlockOptions {
  /** The running kernel's ABI (0: no Landlock). */
  abi: number;
  mode: LandlockMode;
  network: NetworkMode;
  /** Whether the sandbox has namespaces (then the network namespace confines TCP). */
  namespaces: boolean;
}

/** The ops to send, and what the result reports. */
export interface LandlockPlan {
  ops: Op[];
  /** The ABI used, or null when Landlock is not applied. */
  abi: number | null;
  /** What the policy wanted but the kernel cannot do (`refer`, `truncate`, `net`, …). */
  dropped: string[];
}

/**
 * Turns a filesystem view into Landlock ops for the kernel's ABI. Everything the ABI handles is
 * denied except what the view grants (device creation never is). With `required`, any right the
 * policy needs that the kernel lacks throws an {@linkcode UnsupportedError}; with `best-effort`
 * it is named in `dropped`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planLandlock } from "./landlock.ts";
 * const plan = planLandlock([{ path: "/usr", access: "read", optional: false }], {
 *   abi: 3, mode: "best-effort", network: "none", namespaces: true,
 * });
 * assert(plan.abi === 3 && plan.dropped.join() === "ioctl-dev,scope");
 * assert(plan.ops[1]!.join(" ") === "landlock-path /usr 13");
 * ```
 */
export function planLandlock(view: readonly ViewEntry[], o: LandlockOptions): LandlockPlan {
  if (o.mode === "off") return { ops: [], abi: null, dropped: [] };
  if (o.abi < 1) {
    if (o.mode === "required") {
      throw new UnsupportedError(
        `Landlock is required but this kernel has none: it needs Linux 5.13+ with "landlock" in the lsm= boot parameter, or set landlock to "best-effort"`,
      );
    }
    return { ops: [], abi: null, dropped: ["landlock"] };
  }
  const abi = Math.min(o.abi, LANDLOCK_ABI_MAX);
  // Without namespaces Landlock is the only wall against TCP; with them the private network
  // namespace is (and loopback servers inside the sandbox keep working).
  const wantNet = o.network === "none" && !o.namespaces;
  const dropped: string[] = [];
  if (abi < 2) dropped.push("refer");
  if (abi < 3) dropped.push("truncate");
  if (wantNet && abi < 4) dropped.push("net");
  if (abi < 5) dropped.push("ioctl-dev");
  if (abi < 6) dropped.push("scope");
  if (o.mode === "required" && dropped.length) {
    throw new UnsupportedError(
      `Landlock is required but this kernel's ABI ${o.abi} cannot enforce ${
        dropped.join(", ")
      } (all of it needs ABI 6, Linux 6.12+): use landlock "best-effort" to run with what it has`,
    );
  }
  const fs = handledFs(abi);
  const ops: Op[] = [[
    "landlock",
    String(fs),
    String(wantNet && abi >= 4 ? NET_TCP : 0),
    String(abi >= 6 ? SCOPE_ALL : 0),
  ]];
  const merged = new Map<string, { rights: number; optional: boolean }>();
  for (const e of view) {
    const prev = merged.get(e.path);
    const rights = accessRights(e.access) & fs;
    merged.set(e.path, {
      rights: (prev?.rights ?? 0) | rights,
      optional: (prev?.optional ?? true) && e.optional,
    });
  }
  for (const [path, { rights, optional }] of merged) {
    if (rights) ops.push([optional ? "landlock-path-try" : "landlock-path", path, String(rights)]);
  }
  return { ops, abi, dropped };
}
