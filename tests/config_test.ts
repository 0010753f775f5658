// The wire frame the launcher reads (lib/config.ts): magic, length, NUL-terminated tokens.
import { assertEquals, assertThrows } from "./_assert.ts";
import { encodeFrame, joinFrames } from "../lib/config.ts";

Deno.test("frames: magic, little-endian length, NUL-terminated tokens, joined", () => {
  const f = encodeFrame([["exec", "ab"]]);
  assertEquals([...f], [
    0x53,
    0x42,
    0x58,
    0x31,
    8,
    0,
    0,
    0,
    ...new TextEncoder().encode("exec\0ab\0"),
  ]);
  const j = joinFrames(f, encodeFrame([["arg", "x"]]));
  assertEquals(new TextDecoder().decode(j.subarray(8)), "exec\0ab\0arg\0x\0");
  assertEquals(new DataView(j.buffer).getUint32(4, true), 14);
  assertThrows(() => encodeFrame([["arg", "a\0b"]]), RangeError, "NUL");
  assertThrows(() => encodeFrame([["arg", "x".repeat(9 << 20)]]), RangeError, "too large");
});
