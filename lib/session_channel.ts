/**
 * The library's end of a session's channel: frames out on the agent's stdin, frames in from its
 * stdout, each routed by id to whoever opened it (a command, an fs request, a connection). When
 * the session ends, every open handler hears it once (a `null` frame).
 *
 * @module
 */

import { encodeSessionFrame, type Frame, FrameReader } from "./session_wire.ts";

/** Receives the frames of one id; `null` once the session has ended. */
export type FrameHandler = (frame: Frame | null) => void;

/** The session has ended: no more commands, files or connections. */
export class SessionClosedError extends Error {
  /** The error class name. */
  override name = "SessionClosedError";
}

/** @internal One session's frame router. */
export class SessionChannel {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #handlers = new Map<number, FrameHandler>();
  #nextId = 1;
  #ended: string | null = null;
  /** Called on every frame and request: the session is in use (idle timer). */
  onActivity: () => void = () => {};

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.#writer = writer;
  }

  /** Why the session ended, or null while it runs. */
  get ended(): string | null {
    return this.#ended;
  }

  /** Reads the agent's stdout until it ends; a malformed frame ends the session. */
  async pump(stdout: ReadableStream<Uint8Array>, onReady: (f: Frame) => void): Promise<void> {
    const reader = new FrameReader();
    for await (const chunk of stdout) {
      for (const f of reader.push(chunk)) {
        if (f.id === 0) onReady(f);
        else this.#handlers.get(f.id)?.(f);
      }
    }
  }

  /** Registers a handler under a fresh id. */
  open(handler: FrameHandler): number {
    if (this.#ended) throw new SessionClosedError(`The session has ended (${this.#ended})`);
    const id = this.#nextId++;
    this.#handlers.set(id, handler);
    this.onActivity();
    return id;
  }

  /** Forgets an id once its exchange is over. */
  release(id: number): void {
    this.#handlers.delete(id);
    this.onActivity();
  }

  /** How many exchanges are open (commands, requests, connections). */
  get openCount(): number {
    return this.#handlers.size;
  }

  /** Sends one frame. Rejects with SessionClosedError once the session has ended. */
  async send(type: number, id: number, tokens: readonly string[] = [], data?: Uint8Array) {
    if (this.#ended) throw new SessionClosedError(`The session has ended (${this.#ended})`);
    const frame = encodeSessionFrame(type, id, tokens, data);
    this.onActivity();
    try {
      await this.#writer.write(frame);
    } catch {
      throw new SessionClosedError(`The session has ended (${this.#ended ?? "agent gone"})`);
    }
  }

  /** One request, one reply frame. */
  request(type: number, tokens: readonly string[], data?: Uint8Array): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const id = this.open((f) => {
        this.release(id);
        if (f) resolve(f);
        else reject(new SessionClosedError(`The session has ended (${this.#ended})`));
      });
      this.send(type, id, tokens, data).catch((e) => {
        this.release(id);
        reject(e);
      });
    });
  }

  /** Marks the session ended and tells every open handler. */
  end(reason: string): void {
    if (this.#ended) return;
    this.#ended = reason;
    const handlers = [...this.#handlers.values()];
    this.#handlers.clear();
    for (const h of handlers) h(null);
    // The agent may be gone already: nothing to report.
    this.#writer.close().catch(() => {});
  }
}
