/**
 * The per-run record of egress: every connection attempt (bounded), bytes and counts.
 *
 * @module
 */

import type { EgressRecord, NetworkReport } from "../types.ts";

/** The most records kept per list. */
export const MAX_EGRESS_RECORDS = 256;

/** Accumulates a {@linkcode NetworkReport}. */
export class EgressLog {
  #r: NetworkReport = {
    allowed: [],
    denied: [],
    allowedCount: 0,
    deniedCount: 0,
    bytesOut: 0,
    bytesIn: 0,
    connections: 0,
    byteLimitHit: false,
  };

  /** Records one decided attempt. */
  add(allowed: boolean, record: EgressRecord): void {
    const list = allowed ? this.#r.allowed : this.#r.denied;
    if (allowed) this.#r.allowedCount++;
    else this.#r.deniedCount++;
    if (list.length < MAX_EGRESS_RECORDS) list.push(record);
  }

  /** Counts one accepted client connection. */
  connection(): void {
    this.#r.connections++;
  }

  /** Adds relayed bytes; returns the total so far. */
  bytes(direction: "in" | "out", n: number): number {
    if (direction === "in") this.#r.bytesIn += n;
    else this.#r.bytesOut += n;
    return this.#r.bytesIn + this.#r.bytesOut;
  }

  /** Marks the byte cap as reached. */
  limitHit(): void {
    this.#r.byteLimitHit = true;
  }

  /** A copy of the report so far. */
  snapshot(): NetworkReport {
    return { ...this.#r, allowed: [...this.#r.allowed], denied: [...this.#r.denied] };
  }
}
