/**
 * The warm launcher of one `Sandbox` (launcher/warm.c): a long-lived launcher started with the
 * sandbox's fixed policy that keeps runs prepared ahead (namespaces, root, cgroup), each waiting
 * only for its per-run part.
 *
 * Interface: `new WarmPool(launcher, staticOps, options)` sets it up; the launcher process
 * (through lib/spawn.ts) starts once the first run (the second for a default pool, `implicit`),
 * which goes the cold way, ended, or on `full()`; a default pool not while
 * `IMPLICIT_LAUNCHERS_MAX` are up;
 * `start(runOps, onReady)` hands one run's ops (status, stdio-fifos, chdir, timeout, env, exec,
 * args) to a prepared run and returns a {@linkcode WarmRun} (or null when the pool is unusable:
 * the caller goes the cold way); `onReady` fires when the run's FIFOs exist (lib/fifo_stdio.ts
 * then opens the host's ends). `close()` stops it: prepared runs end, runs in progress are killed
 * and still report. Control channel: frames on the launcher's stdin (`run ID OPS...`,
 * `kill ID SIGNO`, `wake`, `hold`, `go`, `busy`, `calm`, `fifos KEY DIR`), event lines on its
 * stdout (`ready ID`, `exit ID CODE SIGNAL`, `prepared N`, `idle`, `held PGID`, `resumed PGID`,
 * `lost`, `broken`, `fifos KEY`, `fifos-failed KEY ERRNO`). For each prepared run a status lock
 * and stdio dir are made ahead, the warm launcher making the FIFOs in it (`takeStdio()`): a run
 * that takes them opens its ends as it sends its request, not on "ready".
 * Nothing is prepared before the launcher starts. After `idleMs` without a run the prepared runs
 * end and the launcher stops (`idle`); the next cold run starts it again. A run goes through the
 * pool only while a prepared run waits (`canStart()`); otherwise it goes the cold way at once, and
 * the pool is woken once it ended (`coldRun()`). While this process has more runs in flight than
 * CPUs, no warm launcher starts a prepare (`busy`, until `calm`; `countRun()`). A pool that fails
 * (its launcher died, or `broken`: prepared runs keep failing) is reported once with
 * `console.warn` and never used again; runs go the cold way.
 *
 * @module
 */

import { encodeFrame, type Op } from "./config.ts";
import { makeRunStatus, type RunStatus } from "./rundir.ts";
import { spawnLauncher } from "./spawn.ts";
import { signalName } from "./status.ts";

/** How the pool of one sandbox behaves. */
export interface WarmSettings {
  /** Runs kept prepared. */
  pool: number;
  /**
   * After this long without a run, the prepared runs end and the warm launcher stops (it starts
   * again on demand).
   */
  idleMs: number;
  /**
   * The sandbox's default pool, not asked for: it starts once two runs ended the cold way (one for
   * a pool asked for), and not while `IMPLICIT_LAUNCHERS_MAX` warm launchers are up in this
   * process.
   */
  implicit?: boolean;
}

/**
 * Warm launchers up in one process beyond which a sandbox's default pool does not start (its runs
 * go the cold way until one stops): a program that makes a sandbox per request and runs it twice
 * must not collect a warm launcher, and prepared runs, per request. Pools asked for (`warm`) are
 * not held back by it, but count.
 */
export const IMPLICIT_LAUNCHERS_MAX = 8;

/**
 * A run's status file and stdio dir made ahead, with its FIFOs made by the warm launcher
 * (`fifos KEY DIR`): a run that takes one opens its ends of the FIFOs as it hands its request
 * over, so that nothing waits for its "ready".
 */
export interface Premade {
  status: RunStatus;
  /** The stdio dir, its FIFOs in it. */
  dir: string;
}

/** One run served by the warm launcher. */
export interface WarmRun {
  /** The warm launcher's pid (the run's own monitor is its child). */
  readonly pid: number;
  /**
   * The run's monitor exited: its code, or the signal that killed it. `unstarted`: it ended (or
   * the warm launcher died) before the run said "ready", so its program never ran: a prepare
   * that failed (a missing bind source, a refused host path, no host ids left), or a request the
   * monitor could not take. The caller may run it the cold way instead, which reports the
   * failure as a cold run does (with its step, path and errno).
   */
  readonly status: Promise<{ code: number; signal: Deno.Signal | null; unstarted?: boolean }>;
  /** Signals the run's monitor (forwarded signals reach the target; `SIGPWR` ends the run). */
  kill(signal: Deno.Signal): void;
}

/** Signal numbers for `kill ID SIGNO` (x86_64 and aarch64 agree on these). */
const SIGNO: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCONT: 18,
  SIGWINCH: 28,
  SIGPWR: 30,
};

interface Pending {
  onReady: () => void;
  /** "ready" came: the run's FIFOs exist, its program may run. */
  ready: boolean;
  resolve: (s: { code: number; signal: Deno.Signal | null; unstarted?: boolean }) => void;
}

/** One warm launcher process (a pool that stops when idle starts a new one on demand). */
interface Generation {
  proc: Deno.ChildProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  runs: Map<string, Pending>;
  closing: boolean;
  /** Prepared runs waiting, as the launcher last said (less those handed out since). */
  available: number;
  /** Resolved (and emptied) once the launcher says the pool is full, or when it is gone. */
  whenFull: (() => void)[];
  /** Runs of other warm launchers holding this one's prepares (`hold` sent while > 0). */
  held: number;
  /** Process groups of prepares the launcher holds stopped now (`held`, `resumed`). */
  stopped: Set<number>;
  /** The launcher process exited. */
  dead: boolean;
  /** Premade stdio (`fifos KEY DIR` sent, by KEY); `made` once the launcher said `fifos KEY`. */
  premade: Map<string, Premade & { made: boolean }>;
  /** Settles once the process exited and its stdout and stderr are drained. */
  done: Promise<void>;
}

/**
 * The warm launchers of this process that are up. A run handed to one of them holds the others'
 * prepares until it ended (`hold`, `go`; each launcher holds its own): two warm sandboxes used in
 * turn would otherwise have one's refill take the CPU from the other's run.
 */
const launchers = new Set<WarmPool>();

/**
 * Stops every warm launcher of this process as if each had gone idle (they start again on
 * demand); resolves once they and every run they served are gone. For checks that nothing of a
 * run is left behind where earlier sandboxes, never closed, keep their default launchers up.
 */
export async function stopWarmLaunchers(): Promise<void> {
  await Promise.all([...launchers].map((w) => w.stop()));
}

/**
 * Warm launchers not yet gone, whose premade stdio (status locks and FIFO dirs this process made)
 * is removed when this process exits (`unload`) with them still up: a script that never closed a
 * sandbox leaves none of its files behind. (A killed process's are swept by the next one.)
 */
const live = new Set<Generation>();
let unloadHooked = false;

function trackLive(gen: Generation): void {
  live.add(gen);
  gen.done.then(() => live.delete(gen));
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const g of live) dropPremade(g);
  });
}

/** Removes the premade stdio no run took. */
function dropPremade(gen: Generation): void {
  for (const p of gen.premade.values()) p.status.cleanup();
  gen.premade.clear();
}

/**
 * Runs in flight in this process, every sandbox's and either way. Past one per CPU the machine has
 * no CPU to spare for preparing ahead: a prepare then costs what the cold way costs, and more (the
 * hand-over and the messages), so the warm launchers stop refilling (`busy`) until the runs are
 * back down (`calm`). A prepared run that waits is still used.
 */
let running = 0;
let busy = false;
const CPUS = Math.max(1, navigator.hardwareConcurrency || 1);

/** Counts a run of this process from its start to its end (lib/run.ts). */
export function countRun(ended: Promise<unknown>): void {
  running++;
  updateBusy();
  const done = () => {
    running--;
    updateBusy();
  };
  ended.then(done, done);
}

function updateBusy(): void {
  const now = running > CPUS;
  if (now === busy) return;
  busy = now;
  for (const w of launchers) w.tellBusy(busy);
}

/** Resolves what waits for the pool to be full (`full()`): it is, or it will not be. */
function wakeFull(gen: Generation): void {
  for (const wake of gen.whenFull.splice(0)) wake();
}

/** SIGCONT to a prepare's process group (`held` by a launcher that died), if it is still there. */
function continueGroup(pgid: number): void {
  try {
    Deno.kill(-pgid, "SIGCONT");
  } catch {
    // gone already
  }
}

/** The warm launcher and its pool (see the module doc). */
export class WarmPool {
  #launcher: string;
  #frame: Uint8Array;
  #args: string[];
  #stopWhenIdle: boolean;
  #pool: number;
  /** The default pool (`WarmSettings.implicit`): starts on the second run, and is capped. */
  #implicit: boolean;
  /** Runs that ended the cold way while no launcher was up (`coldRun()`). */
  #coldEnded = 0;
  #gen: Generation | null = null;
  #next = 0;
  #failed = false;
  /** A `fifos` failed: runs go on without premade stdio. */
  #noPremade = false;
  /** The launcher's start after a cold run (`coldRun()`), while it waits for its turn. */
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #label: string;
  /** The end of what the warm launcher said on stderr (a prepared run's failure), for #fail. */
  #stderrTail = "";

  /**
   * Starts the warm launcher with the sandbox's static ops; `cgroupName` (runs with a cgroup):
   * the prefix of its prepared runs' cgroups (each adds `.wN`). With `stopWhenIdle` the launcher
   * exits whenever no run is in flight (and a run's status waits for that), and starts again
   * with the next run: what a test suite's resource checks need (`SANDBOX_TS_WARM=1`).
   */
  constructor(
    launcher: string,
    staticOps: readonly Op[],
    cgroupName: string | null,
    settings: WarmSettings & { label: string; stopWhenIdle?: boolean },
  ) {
    this.#label = settings.label;
    this.#launcher = launcher;
    this.#stopWhenIdle = settings.stopWhenIdle ?? false;
    this.#pool = settings.pool;
    this.#implicit = settings.implicit ?? false;
    // config_parse requires status and exec: placeholders, replaced by every run's request.
    this.#frame = encodeFrame([
      ...staticOps,
      ...(cgroupName ? [["cgroup-name", cgroupName] as Op] : []),
      ["status", "/"],
      ["exec", "/"],
    ]);
    this.#args = [
      "--warm",
      String(settings.pool),
      String(settings.idleMs),
      String(staticOps.length),
    ];
    // Started once the first run (which goes the cold way) ended, or by `full()`: starting it now
    // would take CPU from that first run.
  }

  /** Whether runs can go through the pool. */
  get usable(): boolean {
    return !this.#failed && !this.#closed;
  }

  /**
   * Whether a run should go through the pool now: it is usable and a prepared run waits (else the
   * run would wait for a prepare: it goes the cold way, `coldRun()`). A pool that stops when idle
   * always takes the run (it starts again on demand).
   */
  canStart(): boolean {
    if (!this.usable) return false;
    if (this.#stopWhenIdle) return true;
    const gen = this.#gen;
    return gen !== null && !gen.closing && gen.available > 0;
  }

  /**
   * A run of this sandbox went the cold way (no prepared run waited: a new sandbox's first run, a
   * drained or idle pool). Returns what to call when it ended: then the launcher is started if
   * need be and told to prepare (`wake`), not before, so that neither takes the CPU from that run.
   * Not while the process is busy (`countRun`): nothing would be prepared, and a launcher that is
   * up refills on `calm`.
   */
  coldRun(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (busy || !this.usable || this.#stopWhenIdle) return;
      if (this.#gen && !this.#gen.closing) {
        this.#send(this.#gen, encodeFrame([["wake"]]));
        return;
      }
      // A default pool starts once its sandbox was used again (a sandbox run once costs no warm
      // launcher), and not while too many are up.
      if (++this.#coldEnded < (this.#implicit ? 2 : 1) || this.#heldBack()) return;
      // Started off the run's path: the spawn (a fork and exec on this thread) would delay the
      // result of the run that just ended by a millisecond or more. Unref'd: a script whose
      // last run this was exits without starting it.
      if (this.#startTimer !== undefined) return;
      const timer = setTimeout(() => {
        this.#startTimer = undefined;
        if (!this.usable || this.#heldBack()) return;
        if (!this.#gen || this.#gen.closing) this.#gen = this.#spawn();
        this.#send(this.#gen, encodeFrame([["wake"]]));
      }, 0);
      Deno.unrefTimer(timer);
      this.#startTimer = timer;
    };
  }

  /** A default pool whose launcher is not up while `IMPLICIT_LAUNCHERS_MAX` others are. */
  #heldBack(): boolean {
    const up = this.#gen !== null && !this.#gen.closing;
    return this.#implicit && !up && launchers.size >= IMPLICIT_LAUNCHERS_MAX;
  }

  /**
   * A premade status file and stdio dir, its FIFOs made, for a run about to `start()`; null when
   * none is ready (the run makes its own, and opens its FIFOs on "ready"). The caller owns it.
   */
  takeStdio(): Premade | null {
    const gen = this.#gen;
    if (!gen || gen.closing) return null;
    for (const [key, p] of gen.premade) {
      if (!p.made) continue;
      gen.premade.delete(key);
      return { status: p.status, dir: p.dir };
    }
    return null;
  }

  /** Premakes stdio for as many runs as are prepared (none in a pool that stops when idle). */
  #premake(gen: Generation): void {
    if (this.#noPremade || this.#stopWhenIdle || gen.closing || !this.usable) return;
    while (gen.premade.size < gen.available) {
      let status: RunStatus;
      let dir: string;
      try {
        status = makeRunStatus();
      } catch {
        return; // the run makes its own, and says why
      }
      try {
        dir = status.makeStdioDir();
      } catch {
        status.cleanup();
        return;
      }
      const key = `f${++this.#next}`;
      gen.premade.set(key, { status, dir, made: false });
      this.#send(gen, encodeFrame([["fifos", key, dir]]));
    }
  }

  /** Hands one run to a prepared run; null when the pool is not usable (go the cold way). */
  start(runOps: readonly Op[], onReady: () => void): WarmRun | null {
    if (!this.usable) return null;
    if (!this.#gen || this.#gen.closing) this.#gen = this.#spawn();
    const gen = this.#gen;
    const id = `r${++this.#next}`;
    let resolve!: Pending["resolve"];
    const exited = new Promise<{ code: number; signal: Deno.Signal | null; unstarted?: boolean }>(
      (r) => (resolve = r),
    );
    // A run in flight keeps the Deno process alive (its status comes through the launcher); an
    // idle launcher does not (#idle).
    if (gen.runs.size === 0) gen.proc.ref();
    gen.runs.set(id, { onReady, ready: false, resolve });
    gen.available = Math.max(0, gen.available - 1);
    this.#send(gen, encodeFrame([["run", id], ...runOps]));
    if (launchers.size > 1) {
      const others = [...launchers].filter((w) => w !== this).map((w) => w.#hold());
      exited.then(() => others.forEach((release) => release()));
    }
    const status = this.#stopWhenIdle
      ? exited.then(async (st) => {
        // The last run in flight stops the launcher; every run waits until it is gone.
        if (gen.runs.size === 0 && !gen.closing) await this.#stop(gen);
        if (gen.closing) await this.#gone(gen);
        return st;
      })
      : exited;
    return {
      pid: gen.proc.pid,
      status,
      kill: (signal) => {
        const n = SIGNO[signal];
        if (n !== undefined && gen.runs.has(id)) {
          this.#send(gen, encodeFrame([["kill", id, String(n)]]));
        }
      },
    };
  }

  /**
   * Resolves once the launcher says its pool is full (`prepared POOL`), starting it if need be; at
   * once when the pool is not usable or stops when idle, and when the launcher is gone.
   */
  full(): Promise<void> {
    if (!this.usable || this.#stopWhenIdle) return Promise.resolve();
    if (!this.#gen || this.#gen.closing) this.#gen = this.#spawn();
    const gen = this.#gen;
    if (gen.available >= this.#pool) return Promise.resolve();
    // Nothing is prepared before it is asked for; waiting holds the Deno process open (an idle
    // launcher does not). Asked for, it fills even while the process is busy (`countRun`).
    this.#send(gen, encodeFrame([["wake"]]));
    if (busy) this.#send(gen, encodeFrame([["calm"]]));
    gen.proc.ref();
    return new Promise<void>((resolve) => gen.whenFull.push(resolve)).then(() => this.#idle(gen));
  }

  /** Tells the launcher whether the process has runs past its CPUs in flight (`countRun`). */
  tellBusy(now: boolean): void {
    const gen = this.#gen;
    if (gen && !gen.closing) this.#send(gen, encodeFrame([[now ? "busy" : "calm"]]));
  }

  /** Holds this launcher's prepares for a run of another one; returns the release. */
  #hold(): () => void {
    const gen = this.#gen;
    if (!gen || gen.closing) return () => {};
    if (gen.held++ === 0) this.#send(gen, encodeFrame([["hold"]]));
    return () => {
      if (--gen.held === 0 && !gen.closing) this.#send(gen, encodeFrame([["go"]]));
    };
  }

  /** Stops the warm launcher; resolves once it and every run it served are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#startTimer);
    await this.stop();
  }

  /**
   * Stops the launcher as going idle does (runs in flight are killed): it starts again on demand.
   * Resolves once it is gone.
   */
  async stop(): Promise<void> {
    const gen = this.#gen;
    if (!gen) return;
    if (!gen.closing) await this.#stop(gen);
    await this.#gone(gen);
  }

  /** Tells the launcher to stop (end of its stdin): prepared runs end, runs in progress are killed. */
  #stop(gen: Generation): Promise<void> {
    gen.closing = true;
    if (this.#gen === gen) launchers.delete(this);
    return gen.writer.close().catch(() => {});
  }

  /** Waits for the launcher to be gone, holding the Deno process open meanwhile. */
  #gone(gen: Generation): Promise<void> {
    gen.proc.ref();
    return gen.done;
  }

  #spawn(): Generation {
    const proc = spawnLauncher(this.#launcher, this.#args);
    const gen: Generation = {
      proc,
      writer: proc.stdin.getWriter(),
      runs: new Map(),
      closing: false,
      available: 0,
      whenFull: [],
      held: 0,
      stopped: new Set(),
      dead: false,
      premade: new Map(),
      done: Promise.resolve(),
    };
    this.#send(gen, this.#frame);
    if (busy) this.#send(gen, encodeFrame([["busy"]]));
    this.#idle(gen);
    launchers.add(this);
    // Prepares it held stopped when it died: the kernel continues them only where the death
    // orphaned their group (not where this process is their reaper: pid 1 of a container), and a
    // stopped prepare holds the event pipe open. Continued, each ends on its own.
    const continued = proc.status.then(() => {
      gen.dead = true;
      for (const pgid of gen.stopped) continueGroup(pgid);
    });
    gen.done = Promise.all([this.#events(gen), this.#drain(proc.stderr), continued]).then(
      () => {},
    );
    trackLive(gen);
    return gen;
  }

  /**
   * No run in flight: the launcher (its status and its pipes) stops holding the Deno process
   * open, so a sandbox never closed costs a script nothing at exit (the launcher then dies with
   * the process, and its prepared runs with it).
   */
  #idle(gen: Generation): void {
    // Stopping: `#gone()` holds it until it is gone.
    if (gen.runs.size === 0 && !gen.closing) gen.proc.unref();
  }

  #send(gen: Generation, frame: Uint8Array): void {
    gen.writer.write(frame).catch(() => {
      if (!gen.closing) this.#fail("its control channel closed");
    });
  }

  #fail(why: string): void {
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    const said = this.#stderrTail.trim().split("\n").pop();
    console.warn(
      `sandbox-ts: the warm launcher of sandbox "${this.#label}" failed (${why}${
        said ? `: ${said}` : ""
      }); its runs go the cold way`,
    );
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    for await (const c of stream) this.#stderrTail = (this.#stderrTail + dec.decode(c)).slice(-400);
  }

  async #events(gen: Generation): Promise<void> {
    const dec = new TextDecoder();
    let rest = "";
    try {
      for await (const chunk of gen.proc.stdout) {
        const lines = (rest + dec.decode(chunk, { stream: true })).split("\n");
        rest = lines.pop()!;
        for (const line of lines) this.#event(gen, line.split(" "));
      }
    } catch {
      // the pipe broke: the launcher is gone; handled below
    }
    // The launcher is gone: runs it never reported end as killed (their status files say the
    // rest), and, unless it was asked to stop, nothing goes through it any more.
    if (this.#gen === gen) launchers.delete(this);
    if (!gen.closing) this.#fail("it exited");
    for (const p of gen.runs.values()) {
      p.resolve({ code: 137, signal: "SIGKILL", unstarted: !p.ready });
    }
    gen.runs.clear();
    dropPremade(gen);
    wakeFull(gen);
  }

  #event(gen: Generation, words: string[]): void {
    const [kind, id, code, signal] = words;
    if (kind === "ready" && id) {
      const p = gen.runs.get(id);
      if (p) p.ready = true;
      p?.onReady();
    } else if (kind === "exit" && id) {
      const p = gen.runs.get(id);
      gen.runs.delete(id);
      this.#idle(gen);
      const sig = Number(signal);
      p?.resolve({
        code: sig ? 128 + sig : Number(code),
        signal: sig ? signalName(sig) as Deno.Signal : null,
        unstarted: !p.ready,
      });
    } else if (kind === "prepared" && id) {
      gen.available = Number(id);
      if (gen.available >= this.#pool) wakeFull(gen);
      this.#premake(gen);
    } else if (kind === "fifos" && id) {
      const p = gen.premade.get(id);
      if (p) p.made = true;
    } else if (kind === "fifos-failed" && id) {
      // Not worth a warning: runs make their FIFOs themselves, as without premade stdio. (One
      // dropped meanwhile failed for want of its dir: no reason to stop.)
      const p = gen.premade.get(id);
      if (p) {
        p.status.cleanup();
        gen.premade.delete(id);
        this.#noPremade = true;
      }
    } else if (kind === "held" && id) {
      gen.stopped.add(Number(id));
      if (gen.dead) continueGroup(Number(id));
    } else if (kind === "resumed" && id) {
      gen.stopped.delete(Number(id));
    } else if (kind === "idle") {
      // Shrunk to zero after idleMs without a run: the launcher stops too (costs nothing, holds
      // no slot of IMPLICIT_LAUNCHERS_MAX), and starts again after the next cold run. A run sent
      // meanwhile keeps it (the next "idle" comes once it is over); one that stops when idle
      // stops anyway.
      dropPremade(gen);
      wakeFull(gen);
      if (gen.runs.size === 0 && !gen.closing && !this.#stopWhenIdle) this.#stop(gen);
    } else if (kind === "broken") {
      this.#fail("prepared runs keep failing");
      dropPremade(gen);
      wakeFull(gen);
    }
  }
}
