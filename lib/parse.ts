/**
 * Parsing and validation of user-facing values: sizes, durations, ids, paths. Errors name the
 * field, quote the value and say what is allowed.
 *
 * @module
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  KB: 1024,
  KIB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1024 ** 4,
  TIB: 1024 ** 4,
};

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  if (value === undefined) return "undefined";
  return Object.prototype.toString.call(value);
}

/**
 * Parses a size: a non-negative integer number of bytes, or a string like `"64M"`, `"1.5G"`,
 * `"256MB"`, `"512KiB"` (units `B`, `K`/`KB`/`KiB`, `M`…, `G`…, `T`…, case-insensitive, all
 * powers of 1024; fractions of a byte are dropped). Throws a `RangeError` (or `TypeError` for a
 * value of the wrong type) naming `field`, the value and what is allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSize } from "../mod.ts";
 *
 * assert.equal(parseSize("1.5G", "memory"), 1610612736);
 * assert.equal(parseSize("256MB", "memory"), 256 * 1024 * 1024);
 * assert.equal(parseSize(4096, "memory"), 4096);
 * assert.throws(() => parseSize("lots", "memory"), RangeError);
 * ```
 */
export function parseSize(value: unknown, field: string): number {
  const allowed = 'a size like 1048576, "64M", "1.5G" or "256MB"';
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Invalid ${field} ${describe(value)}: expected ${allowed}`);
    }
    return value;
  }
  if (typeof value !== "string") {
    throw new TypeError(`Invalid ${field} ${describe(value)}: expected ${allowed}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? SIZE_UNITS[m[2]!.toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    throw new RangeError(`Invalid ${field} ${describe(value)}: expected ${allowed}`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`Invalid ${field} ${describe(value)}: too large`);
  }
  return bytes;
}

/**
 * {@linkcode parseSize} for sizes where 0 means nothing useful (a tmpfs, a file-size or output
 * cap): 0 is refused with a `RangeError` naming `field`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNonZeroSize } from "./parse.ts";
 * assert.equal(parseNonZeroSize("1K", "tmpSize"), 1024);
 * assert.throws(() => parseNonZeroSize(0, "tmpSize"), /^RangeError: Invalid tmpSize 0: must not be 0$/);
 * ```
 */
export function parseNonZeroSize(value: unknown, field: string): number {
  const n = parseSize(value, field);
  if (n === 0) throw new RangeError(`Invalid ${field} ${describe(value)}: must not be 0`);
  return n;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** The largest duration accepted: one year, in milliseconds. */
export const MAX_DURATION_MS = 365 * 24 * 3_600_000;

/**
 * Parses a duration into milliseconds: a positive number of milliseconds, or a string like
 * `"500ms"`, `"2s"`, `"1.5m"`, `"1h"`, at most one year. Fractions of a millisecond are rounded
 * up. (The CLI also reads a bare number as seconds; the API does not.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "../mod.ts";
 *
 * assert.equal(parseDuration("2s", "timeout"), 2000);
 * assert.equal(parseDuration("1.5m", "timeout"), 90_000);
 * assert.equal(parseDuration(250, "timeout"), 250);
 * assert.throws(() => parseDuration("soon", "timeout"), /Invalid timeout "soon"/);
 * ```
 */
export function parseDuration(value: unknown, field: string): number {
  const allowed = 'a duration like 500, "500ms", "2s" or "1m" (at most one year)';
  let ms: number;
  if (typeof value === "number") {
    ms = value;
  } else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
    if (!m) throw new RangeError(`Invalid ${field} ${describe(value)}: expected ${allowed}`);
    ms = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  } else {
    throw new TypeError(`Invalid ${field} ${describe(value)}: expected ${allowed}`);
  }
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_DURATION_MS) {
    throw new RangeError(`Invalid ${field} ${describe(value)}: expected ${allowed}`);
  }
  return Math.ceil(ms);
}

/**
 * Checks an integer from `min` to `max`: a `RangeError` naming `field` for a number out of range
 * or not an integer, a `TypeError` for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateInt } from "./parse.ts";
 * assert.equal(validateInt(64, "budgets.ptys", 1, 1 << 20), 64);
 * assert.throws(
 *   () => validateInt(0, "budgets.ptys", 1, 1 << 20),
 *   /^RangeError: Invalid budgets.ptys 0: expected an integer from 1 to 1048576$/,
 * );
 * ```
 */
export function validateInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new (typeof value === "number" ? RangeError : TypeError)(
      `Invalid ${field} ${describe(value)}: expected an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * Checks a sandbox id: `^[A-Za-z0-9_.-]{1,64}$`, and not `.` or `..`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateId } from "./parse.ts";
 * assert(validateId("job-1") === "job-1");
 * ```
 */
export function validateId(value: unknown, field = "id"): string {
  if (typeof value !== "string") {
    throw new TypeError(`Invalid ${field} ${describe(value)}: expected a string`);
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value) || value === "." || value === "..") {
    throw new RangeError(
      `Invalid ${field} ${describe(value)}: expected 1-64 characters of A-Z a-z 0-9 _ . -`,
    );
  }
  return value;
}

/** Rejects non-strings and strings containing NUL bytes. */
export function validateString(value: unknown, field: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`Invalid ${field} ${describe(value)}: expected a string`);
  }
  if (value.includes("\0")) {
    throw new RangeError(`Invalid ${field} ${describe(value)}: NUL bytes are not allowed`);
  }
  return value;
}

/**
 * Checks an absolute path without `.` or `..` components or NUL bytes, and normalises repeated
 * and trailing slashes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateAbsolutePath } from "./parse.ts";
 * assert(validateAbsolutePath("/srv//data/", "cwd") === "/srv/data");
 * ```
 */
export function validateAbsolutePath(value: unknown, field: string): string {
  const s = validateString(value, field);
  const parts = s.split("/").filter((p) => p !== "");
  if (!s.startsWith("/") || parts.some((p) => p === "." || p === "..") || s.length > 4000) {
    throw new RangeError(
      `Invalid ${field} ${
        describe(value)
      }: expected an absolute path without "." or ".." components`,
    );
  }
  return "/" + parts.join("/");
}

/**
 * Checks an environment object: names of letters, digits and `_` (not first a digit), string
 * values without NUL bytes. Returns a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateEnv } from "./parse.ts";
 * assert.deepEqual(validateEnv({ LANG: "C" }, "env"), { LANG: "C" });
 * assert.throws(() => validateEnv({ "1X": "a" }, "env"), /^RangeError: Invalid env name "1X"/);
 * ```
 */
export function validateEnv(env: unknown, field: string): Record<string, string> {
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    throw new TypeError(`Invalid ${field} ${describe(env)}: expected an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new RangeError(
        `Invalid ${field} name ${describe(k)}: expected letters, digits and _ (not first a digit)`,
      );
    }
    out[k] = validateString(v, `${field}.${k}`);
  }
  return out;
}

/**
 * Checks that a value is one of the allowed words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateChoice } from "./parse.ts";
 * const allowed = ["none", "host"] as const;
 * assert.equal(validateChoice("host", { field: "network", allowed }), "host");
 * assert.throws(
 *   () => validateChoice("lan", { field: "network", allowed }),
 *   /^RangeError: Invalid network "lan": expected one of "none", "host"$/,
 * );
 * ```
 */
export function validateChoice<T extends string>(
  value: unknown,
  spec: { field: string; allowed: readonly T[] },
): T {
  if (typeof value !== "string" || !(spec.allowed as readonly string[]).includes(value)) {
    throw new RangeError(
      `Invalid ${spec.field} ${describe(value)}: expected one of ${
        spec.allowed.map((a) => JSON.stringify(a)).join(", ")
      }`,
    );
  }
  return value as T;
}

/**
 * Refuses an object field that is not one of `allowed` (a typo must not pass silently as a
 * default): a `RangeError` naming the object, the field and what is allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFields } from "./parse.ts";
 * checkFields({ path: "/srv" }, { name: "rootfs", allowed: ["path", "writable"] });
 * assert.throws(
 *   () => checkFields({ writeable: true }, { name: "rootfs", allowed: ["path", "writable"] }),
 *   /^RangeError: Unknown rootfs field "writeable": expected one of path, writable$/,
 * );
 * ```
 */
export function checkFields(
  obj: object,
  spec: { name: string; allowed: readonly string[] },
): void {
  for (const key of Object.keys(obj)) {
    if (!spec.allowed.includes(key)) {
      throw new RangeError(
        `Unknown ${spec.name} field "${key}": expected one of ${spec.allowed.join(", ")}`,
      );
    }
  }
}

export { describe as describeValue };
