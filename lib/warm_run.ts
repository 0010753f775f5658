/**
 * A run handed to the sandbox's warm launcher (lib/warm.ts), with the cold way behind it: when the
 * warm launcher dies before the run said "ready", its program never ran, and the run goes the cold
 * way on the same FIFOs and status file.
 *
 * Interface: {@linkcode startWarmRun} returns the {@linkcode Launched} a `SandboxChild` waits on
 * and kills through (lib/run.ts).
 *
 * @module
 */

import type { FifoStdio } from "./fifo_stdio.ts";
import type { Op } from "./config.ts";
import { awaitReady } from "./run_stdio.ts";
import { spawnLauncher } from "./spawn.ts";
import type { WarmPool } from "./warm.ts";

/** The process a run's status and kill go through: its own launcher, or the warm launcher. */
export interface Launched {
  /** The process a kill goes to now. */
  readonly pid: number;
  status: Promise<{ code: number; signal: Deno.Signal | null }>;
  kill(signal: Deno.Signal): void;
}

/** What running the request the cold way takes, should the warm launcher die first. */
export interface ColdWay {
  launcher: string;
  /** The whole frame (static ops and the run's, with its cgroup): made only if needed. */
  frame: () => Uint8Array;
  statusPath: string;
  stdioDir: string;
}

/**
 * Hands `ops` to `warm` (the run's FIFOs in `fifo`: opened on "ready", or at once when they were
 * made ahead, `premade`: the opens then wait in the kernel while the request travels). A run that
 * never started (its prepared run failed, or a dead warm launcher left it) runs the cold way
 * unless it was killed: its status file, if the monitor made it, is removed first; the FIFOs stay
 * (a launcher uses FIFOs it finds, and opens of ours may be waiting on them). Kills go to
 * whichever run is live.
 */
export function startWarmRun(
  warm: WarmPool,
  fifo: FifoStdio,
  ops: readonly Op[],
  coldWay: ColdWay,
  premade: boolean,
): Launched {
  const run = warm.start(ops, () => fifo.open())!;
  if (premade) fifo.open();
  let again: Deno.ChildProcess | null = null;
  // A run killed (kill(), an abort, the library's own timeout) is never run again the cold way.
  let killed = false;
  const cold = async () => {
    try {
      Deno.removeSync(coldWay.statusPath);
    } catch {
      // not made yet
    }
    const p = again = spawnLauncher(coldWay.launcher);
    p.stderr.cancel().catch(() => {});
    awaitReady(p.stdout, fifo);
    const w = p.stdin.getWriter();
    w.write(coldWay.frame()).then(() => w.close()).catch(() => {});
    const ended = warm.coldRun();
    const st = await p.status;
    ended();
    return { code: st.code, signal: st.signal };
  };
  return {
    get pid() {
      return again?.pid ?? run.pid;
    },
    status: run.status.then((st) => st.unstarted && !killed ? cold() : st),
    kill: (sig) => {
      if (again) return again.kill(sig);
      killed = true;
      run.kill(sig);
    },
  };
}
