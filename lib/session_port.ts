/**
 * A port out of a session: a listener on the host's loopback whose connections the session's
 * agent opens to `127.0.0.1:PORT` inside the session's network namespace and relays in frames.
 * The namespace keeps `network: "none"` for everything else; closing the session closes it.
 *
 * @module
 */

import { errnoName } from "./errno.ts";
import type { SessionChannel } from "./session_channel.ts";
import { CHUNK, FRAME, splitTokens } from "./session_wire.ts";

/** @internal One exposed port: its host listener and the connections relayed through it. */
export class ExposedPort {
  readonly listener: Deno.TcpListener;
  #channel: SessionChannel;
  #port: number;
  #conns = new Set<Deno.TcpConn>();

  constructor(channel: SessionChannel, port: number) {
    this.#channel = channel;
    this.#port = port;
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accept().catch(() => {
      // the listener was closed with the session
    });
  }

  /** The host address. */
  get address(): Deno.NetAddr {
    return this.listener.addr;
  }

  async #accept(): Promise<void> {
    for await (const conn of this.listener) {
      this.#conns.add(conn);
      this.#relay(conn).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch {
          // closed already
        }
      });
    }
  }

  async #relay(conn: Deno.TcpConn): Promise<void> {
    let opened!: (err: number) => void;
    const open = new Promise<number>((r) => opened = r);
    let ack: (() => void) | null = null;
    let ended = false;
    // conn.read/write/closeWrite, not its streams: a stream that ends closes the whole socket.
    const writeAll = async (data: Uint8Array) => {
      for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
    };
    let hostWrites = Promise.resolve();
    let portDone!: () => void;
    const portFinished = new Promise<void>((r) => portDone = r);
    const id = this.#channel.open((f) => {
      if (!f) {
        ended = true;
        opened(-1);
        ack?.();
        conn.closeWrite().catch(() => {});
        portDone();
        return;
      }
      if (f.type === FRAME.CONN_OPEN) opened(Number(splitTokens(f.payload).tokens[0]));
      else if (f.type === FRAME.CONN_ACK) ack?.();
      else if (f.type === FRAME.CONN_BYTES) {
        const data = f.payload;
        hostWrites = hostWrites.then(() => writeAll(data)).catch(() => {});
      } else if (f.type === FRAME.CONN_EOF) {
        hostWrites = hostWrites.then(() => conn.closeWrite()).catch(() => {}).finally(portDone);
      }
    });
    try {
      await this.#channel.send(FRAME.CONNECT, id, [String(this.#port)]);
      const err = await open;
      if (err !== 0) {
        throw new Error(`connect to port ${this.#port} in the session: ${errnoName(err)}`);
      }
      const buf = new Uint8Array(CHUNK);
      for (let n = await conn.read(buf); n !== null && !ended; n = await conn.read(buf)) {
        const chunk = buf.slice(0, n);
        for (let off = 0; off < chunk.length && !ended; off += CHUNK) {
          const acked = new Promise<void>((r) => ack = r);
          await this.#channel.send(FRAME.CONN_DATA, id, [], chunk.subarray(off, off + CHUNK));
          await acked;
        }
      }
      // The host side is done sending: half close, and wait for the port to finish.
      if (!ended) await this.#channel.send(FRAME.CONN_CLOSE, id, ["0"]);
      await portFinished;
    } finally {
      if (!ended) this.#channel.send(FRAME.CONN_CLOSE, id, ["1"]).catch(() => {});
      this.#channel.release(id);
    }
  }

  /** Stops listening and drops every relayed connection. */
  close(): void {
    try {
      this.listener.close();
    } catch {
      // closed already
    }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
  }
}
