/**
 * Linux errno numbers to names (the generic table, shared by x86_64 and aarch64).
 *
 * @module
 */

const NAMES: readonly string[] = [
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
];

const EXTRA: Record<number, string> = {
  75: "EOVERFLOW",
  87: "EUSERS",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
};

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
  return (n > 0 && NAMES[n]) || EXTRA[n] || `E${n}`;
}
