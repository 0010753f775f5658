// The stale-run sweep (issue 13 item 3): a run's status file and cgroup are locked for its
// lifetime, and a sweep removes only what no live process holds — even when the sweeping
// process cannot read /proc (a narrow --allow-read once made every run look dead).
import { assert, assertEquals } from "./_assert.ts";
import { euid, exists, kernelTest, ROOT, sandbox } from "./_helpers.ts";
import { cgroupHost } from "../lib/cgroups.ts";

const DEAD = "999999999-1"; // a pid no process has (above pid_max)
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  assert(ok(), `timed out waiting for ${what}`);
}

kernelTest(
  "a sweep without /proc access keeps a live run's status file, removes a dead one's",
  async () => {
    const runtime = Deno.makeTempDirSync({ prefix: "sandbox-ts-rundir-" });
    const base = `${runtime}/sandbox-ts-${euid}`;
    const script = `${runtime}/script.ts`;
    const env = { XDG_RUNTIME_DIR: runtime };
    try {
      // A: a live run in a process with every permission; it lasts until this test writes a line
      // to it (a fixed sleep could end first on a slow machine: under emulation Deno's start-up
      // for B outlasted a 2 s one).
      Deno.writeTextFileSync(
        script,
        `import { SandboxBuilder } from "${ROOT}mod.ts";
       import { runDirBase } from "${ROOT}lib/rundir.ts";
       if (Deno.args[0] === "sweep") { console.log(runDirBase()); Deno.exit(0); }
       const r = await new SandboxBuilder("a").build().run("sh", ["-c", "read x"], { stdin: "inherit" });
       console.log(r.exitCode, r.reason);`,
      );
      const a = new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-lock", "-A", script],
        env,
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const live = () => exists(base) ? [...Deno.readDirSync(base)].map((e) => e.name) : [];
      await until("the live run's status file", () => live().some((n) => /^\d+-\d+$/.test(n)));
      const mine = live();
      // What a SIGKILLed process leaves: a status file and its lock file, which nobody holds.
      Deno.writeTextFileSync(`${base}/${DEAD}`, "");
      Deno.writeTextFileSync(`${base}/${DEAD}.lock`, "");
      // B: a first use that sweeps, with no read access to /proc.
      const b = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-lock",
          `--allow-read=${runtime}`,
          `--allow-write=${runtime}`,
          "--allow-env",
          "--allow-sys=uid",
          script,
          "sweep",
        ],
        env,
      }).output();
      assertEquals(dec(b.stdout).trim(), base, dec(b.stderr));
      for (const name of mine) {
        assert(
          exists(`${base}/${name}`),
          `the live run's ${name} was swept`,
        );
      }
      assert(
        !exists(`${base}/${DEAD}`) && !exists(`${base}/${DEAD}.lock`),
        "the dead run was kept",
      );
      const w = a.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
      const out = await a.output();
      assertEquals(dec(out.stdout).trim(), "0 exited");
      assertEquals(live(), [], "the run left its files behind");
    } finally {
      Deno.removeSync(runtime, { recursive: true });
    }
  },
);

const host = cgroupHost(euid);
const containers = host.version === 2
  ? [host.parent]
  : host.version === 1
  ? [...new Set(Object.values(host.parents))]
  : [];

kernelTest("a cgroup sweep keeps a live run's cgroup (its launcher holds a lock on it)", {
  skip: !containers.length && "no cgroup hierarchy this user can create cgroups in",
}, async () => {
  for (const c of containers) Deno.mkdirSync(`${c}/${DEAD}-0-x`);
  // Live until this test writes a line to it (a fixed sleep could end first on a slow machine).
  const child = sandbox({ memory: "64M" }).spawn("sh", ["-c", "read x"], { stdin: "piped" });
  try {
    const ours = () =>
      containers.flatMap((c) =>
        [...Deno.readDirSync(c)].filter((e) => e.name.startsWith(`${Deno.pid}-`))
          .map((e) => `${c}/${e.name}`)
      );
    await until("the live run's cgroup", () => ours().length > 0);
    const live = ours();
    const b = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--no-lock",
        `import { sweepCgroups } from "${ROOT}lib/cgroups.ts"; for (const c of ${
          JSON.stringify(containers)
        }) sweepCgroups(c);`,
      ],
    }).output();
    assert(b.success, dec(b.stderr));
    for (const path of live) assert(exists(path), `${path} was swept`);
    for (const c of containers) assert(!exists(`${c}/${DEAD}-0-x`), `dead cgroup kept in ${c}`);
    const w = child.stdin!.getWriter();
    await w.write(new TextEncoder().encode("go\n"));
    await w.close();
    const r = await child.status;
    assertEquals([r.exitCode, r.reason], [0, "exited"], r.stderr);
  } finally {
    child.kill(); // a failed check left it waiting for its line
    await child.status.catch(() => {});
    for (const c of containers) {
      if (exists(`${c}/${DEAD}-0-x`)) Deno.removeSync(`${c}/${DEAD}-0-x`);
    }
  }
});
