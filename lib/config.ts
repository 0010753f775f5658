/**
 * The wire format to the launcher: "SBX1", a 32-bit little-endian length, then NUL-terminated
 * tokens. Ops have a fixed arity (see launcher/config.c). Pure.
 *
 * @module
 */

/** One launcher op: its name and arguments, e.g. `["ro-bind", "/usr", "/usr"]`. */
export type Op = readonly [string, ...string[]];

/** The launcher's frame size cap (launcher/config.h FRAME_MAX). */
export const FRAME_MAX = 8 << 20;
/** The launcher's token count cap (launcher/config.h TOKENS_MAX). */
export const TOKENS_MAX = 1 << 17;

const encoder = new TextEncoder();

/**
 * Encodes ops into one frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame } from "./config.ts";
 * const frame = encodeFrame([["exec", "/bin/true"]]);
 * assert(new TextDecoder().decode(frame.subarray(0, 4)) === "SBX1");
 * ```
 */
export function encodeFrame(ops: readonly Op[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let len = 0;
  let tokens = 0;
  for (const op of ops) {
    for (const token of op) {
      if (token.includes("\0")) throw new RangeError(`Invalid token in op "${op[0]}": NUL byte`);
      const bytes = encoder.encode(token);
      parts.push(bytes);
      len += bytes.length + 1;
      tokens++;
    }
  }
  if (len > FRAME_MAX || tokens > TOKENS_MAX) {
    throw new RangeError(
      `Sandbox configuration too large: ${len} bytes in ${tokens} tokens (max ${FRAME_MAX} bytes, ${TOKENS_MAX} tokens)`,
    );
  }
  const out = new Uint8Array(8 + len);
  out.set([0x53, 0x42, 0x58, 0x31], 0); // "SBX1"
  new DataView(out.buffer).setUint32(4, len, true);
  let off = 8;
  for (const p of parts) {
    out.set(p, off);
    off += p.length + 1; // the NUL is already there (zero-filled)
  }
  return out;
}

/** Concatenates two frames' token sections (a prepared prefix plus per-run ops). */
export function joinFrames(prefix: Uint8Array, rest: Uint8Array): Uint8Array {
  const len = prefix.length - 8 + rest.length - 8;
  if (len > FRAME_MAX) {
    throw new RangeError(`Sandbox configuration too large: ${len} bytes (max ${FRAME_MAX})`);
  }
  const out = new Uint8Array(8 + len);
  out.set(prefix, 0);
  out.set(rest.subarray(8), prefix.length);
  new DataView(out.buffer).setUint32(4, len, true);
  return out;
}
