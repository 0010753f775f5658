import { assertEquals, assertThrows } from "./_assert.ts";
import {
  parseDuration,
  parseSize,
  validateAbsolutePath,
  validateId,
  validateString,
} from "../lib/parse.ts";

Deno.test("parseSize accepts bytes, K/M/G/T with optional B or iB, and decimals", () => {
  assertEquals(parseSize(1048576, "memory"), 1048576);
  assertEquals(parseSize("64M", "memory"), 64 << 20);
  assertEquals(parseSize("256MB", "memory"), 256 << 20);
  assertEquals(parseSize("1.5G", "memory"), 1.5 * 2 ** 30);
  assertEquals(parseSize("512KiB", "memory"), 512 * 1024);
  assertEquals(parseSize("10", "memory"), 10);
  assertEquals(parseSize(" 2 g ", "memory"), 2 * 2 ** 30);
});

Deno.test("parseSize rejects bad sizes naming the field and what is allowed", () => {
  for (const bad of ["12QB", "", "-1M", "M", "1..5G", "0x10", "1e3"]) {
    assertThrows(() => parseSize(bad, "memory"), RangeError, `Invalid memory "${bad}"`);
  }
  assertThrows(() => parseSize(-1, "memory"), RangeError, "expected a size");
  assertThrows(() => parseSize(1.5, "memory"), RangeError);
  assertThrows(() => parseSize(NaN, "memory"), RangeError);
  assertThrows(() => parseSize(2 ** 60, "memory"), RangeError);
  assertThrows(() => parseSize(null, "memory"), TypeError);
  assertThrows(() => parseSize("99999999999999T", "memory"), RangeError, "too large");
});

Deno.test("parseDuration accepts ms numbers and ms/s/m/h strings", () => {
  assertEquals(parseDuration(500, "timeout"), 500);
  assertEquals(parseDuration("500ms", "timeout"), 500);
  assertEquals(parseDuration("2s", "timeout"), 2000);
  assertEquals(parseDuration("1m", "timeout"), 60000);
  assertEquals(parseDuration("1.5s", "timeout"), 1500);
  assertEquals(parseDuration(0.2, "timeout"), 1);
});

Deno.test("parseDuration rejects zero, negatives, NaN, huge values and unknown units", () => {
  for (const bad of [0, -5, NaN, Infinity, 1e15, "2", "2x", "s", "-1s", "1 day"]) {
    assertThrows(() => parseDuration(bad, "timeout"), RangeError, "Invalid timeout");
  }
  assertThrows(() => parseDuration({}, "timeout"), TypeError, "Invalid timeout");
});

Deno.test("ids, strings and paths are validated", () => {
  assertEquals(validateId("job-1.a_B"), "job-1.a_B");
  for (const bad of ["", "a/b", "..", ".", "x".repeat(65), "a b", "é"]) {
    assertThrows(() => validateId(bad), RangeError, "Invalid id");
  }
  assertThrows(() => validateId(7), TypeError);
  assertThrows(() => validateString("a\0b", "args[0]"), RangeError, "NUL");
  assertEquals(validateAbsolutePath("/a//b/", "cwd"), "/a/b");
  assertEquals(validateAbsolutePath("/", "cwd"), "/");
  for (const bad of ["rel", "/a/../b", "/./a", "", "/a\0"]) {
    assertThrows(() => validateAbsolutePath(bad, "cwd"), RangeError, "Invalid cwd");
  }
});
