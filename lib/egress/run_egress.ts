/**
 * One run's egress proxy, as `lib/run.ts` drives it: started before the launcher, its socket next
 * to the run's status file (in the caller's private 0700 state dir), finished once the sandbox is
 * gone.
 *
 * @module
 */

import { EGRESS_PORT } from "./env.ts";
import { EgressProxy } from "./proxy.ts";
import type { NetworkReport, ResolvedEgress } from "../types.ts";

/** A run's proxy and where the launcher finds it. */
export interface RunEgress {
  /** The launcher's `egress` op: the listener's port inside, the proxy's socket outside. */
  spec: { port: number; socketPath: string };
  /** Starts the proxy (listening when this returns). */
  start(): void;
  /** Stops the proxy, removes its socket and returns the run's report (an unstarted one: empty). */
  finish(): Promise<NetworkReport | undefined>;
}

/** The egress of a run next to `statusPath`, or null without an allow-list. */
export function runEgress(policy: ResolvedEgress | null, statusPath: string): RunEgress | null {
  if (!policy) return null;
  const socketPath = `${statusPath}.egress`;
  let proxy: EgressProxy | null = null;
  return {
    spec: { port: EGRESS_PORT, socketPath },
    start() {
      proxy = new EgressProxy({ policy, path: socketPath });
    },
    async finish() {
      const report = await proxy?.close();
      try {
        Deno.removeSync(socketPath);
      } catch {
        // never made (the proxy failed to listen), or already swept
      }
      return report;
    },
  };
}
