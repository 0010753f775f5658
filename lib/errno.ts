/**
 * Linux errno numbers to names (the generic table, shared by x86_64 and aarch64).
 *
 * @module
 */

const NAMES = [
  "",
  "EPERM",
  "ENOENT",
  "ESRCH",
  "EINTR",
  "EIO",
  "ENXIO",
  "E2BIG",
  "ENOEXEC",
  "EBADF",
  "ECHILD",
  "EAGAIN",
  "ENOMEM",
  "EACCES",
  "EFAULT",
  "ENOTBLK",
  "EBUSY",
  "EEXIST",
  "EXDEV",
  "ENODEV",
  "ENOTDIR",
  "EISDIR",
  "EINVAL",
  "ENFILE",
  "EMFILE",
  "ENOTTY",
  "ETXTBSY",
  "EFBIG",
  "ENOSPC",
  "ESPIPE",
  "EROFS",
  "EMLINK",
  "EPIPE",
  "EDOM",
  "ERANGE",
  "EDEADLK",
  "ENAMETOOLONG",
  "ENOLCK",
  "ENOSYS",
  "ENOTEMPTY",
  "ELOOP",
] as const;

const EXTRA = {
  75: "EOVERFLOW",
  87: "EUSERS",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  110: "ETIMEDOUT",
} as const satisfies Record<number, string>;

/** An errno name this module knows. */
export type ErrnoName =
  | Exclude<(typeof NAMES)[number], "">
  | (typeof EXTRA)[keyof typeof EXTRA];

/**
 * Errno numbers by name, from the same table as {@link errnoName}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ERRNO } from "./errno.ts";
 * assert(ERRNO.EPERM === 1 && ERRNO.ENOSYS === 38 && ERRNO.EAFNOSUPPORT === 97);
 * ```
 */
export const ERRNO: Readonly<Record<ErrnoName, number>> = Object.freeze(
  Object.fromEntries([
    ...NAMES.flatMap((name, n) => (name ? [[name, n] as const] : [])),
    ...Object.entries(EXTRA).map(([n, name]) => [name, Number(n)] as const),
  ]) as Record<ErrnoName, number>,
);

/**
 * The symbolic name of an errno number, or `"E<n>"` when unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoName } from "./errno.ts";
 * assert(errnoName(2) === "ENOENT");
 * ```
 */
export function errnoName(n: number): string {
  return (n > 0 && NAMES[n]) || (EXTRA as Record<number, string>)[n] || `E${n}`;
}
