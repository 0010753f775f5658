/**
 * The frames between the library and a session's agent (`launcher/session_wire.h`, the same
 * numbers): a u32 little-endian length of what follows, a u8 type, a u32 little-endian id, the
 * payload (NUL-terminated tokens, then raw bytes where the type says so). Pure: no `Deno.*`.
 *
 * @module
 */

/** Frame types (launcher/session_wire.h SESSION_FRAMES). */
export const FRAME = Object.freeze({
  SPAWN: 1,
  STDIN: 2,
  STDIN_EOF: 3,
  KILL: 4,
  FS: 5,
  CONNECT: 6,
  CONN_DATA: 7,
  CONN_CLOSE: 8,
  USAGE: 9,
  RESIZE: 10,
  READY: 64,
  STDOUT: 65,
  STDERR: 66,
  EXIT: 67,
  FS_RESULT: 68,
  CONN_OPEN: 69,
  CONN_BYTES: 70,
  CONN_EOF: 71,
  USAGE_RESULT: 72,
  STDIN_ACK: 73,
  CONN_ACK: 74,
  SPAWN_FAILED: 75,
});

/** The largest payload either side sends (launcher/session_wire.h SW_MAX_PAYLOAD). */
export const MAX_PAYLOAD = 1 << 20;
/** The largest chunk of data the library puts in one frame (stdin, files, connections). */
export const CHUNK = 256 * 1024;
const HEADER = 9;

/** One decoded frame. */
export interface Frame {
  type: number;
  id: number;
  payload: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes one frame: `tokens` NUL-terminated, then `data`. */
export function encodeSessionFrame(
  type: number,
  id: number,
  tokens: readonly string[] = [],
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const parts = tokens.map((t) => {
    if (t.includes("\0")) throw new TypeError(`Invalid token ${JSON.stringify(t)}: contains NUL`);
    return enc.encode(t + "\0");
  });
  const len = parts.reduce((n, p) => n + p.length, 0) + data.length;
  if (len > MAX_PAYLOAD) {
    throw new RangeError(`Request too large: ${len} bytes (at most ${MAX_PAYLOAD})`);
  }
  const out = new Uint8Array(HEADER + len);
  const view = new DataView(out.buffer);
  view.setUint32(0, len + 5, true);
  view.setUint8(4, type);
  view.setUint32(5, id, true);
  let off = HEADER;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  out.set(data, off);
  return out;
}

/**
 * Splits a payload into `count` tokens (all of them when omitted) and the bytes after them.
 * Throws on an unterminated token: the agent is not trusted to be well-formed.
 */
export function splitTokens(
  payload: Uint8Array,
  count = Infinity,
): { tokens: string[]; rest: Uint8Array } {
  const tokens: string[] = [];
  let off = 0;
  while (tokens.length < count && off < payload.length) {
    const end = payload.indexOf(0, off);
    if (end < 0) throw new Error("Malformed session frame: unterminated token");
    tokens.push(dec.decode(payload.subarray(off, end)));
    off = end + 1;
  }
  return { tokens, rest: payload.subarray(off) };
}

/**
 * Incremental frame decoder for the agent's stdout: feed it chunks, get whole frames. A frame
 * longer than the agent may send throws (the session is then ended).
 */
export class FrameReader {
  #buf = new Uint8Array(0);

  /** Adds a chunk; returns the frames it completed. */
  push(chunk: Uint8Array): Frame[] {
    const merged = new Uint8Array(this.#buf.length + chunk.length);
    merged.set(this.#buf);
    merged.set(chunk, this.#buf.length);
    const frames: Frame[] = [];
    let off = 0;
    const view = new DataView(merged.buffer);
    while (merged.length - off >= HEADER) {
      const n = view.getUint32(off, true);
      if (n < 5 || n > MAX_PAYLOAD + 5) throw new Error(`Malformed session frame: length ${n}`);
      if (merged.length - off < 4 + n) break;
      frames.push({
        type: view.getUint8(off + 4),
        id: view.getUint32(off + 5, true),
        payload: merged.slice(off + HEADER, off + 4 + n),
      });
      off += 4 + n;
    }
    this.#buf = merged.slice(off);
    return frames;
  }
}
