// Imported from a remote URL (as from JSR), the module fetches its launcher's C sources and
// builds them in the cache dir. Served here from a loopback HTTP server.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { euid, isRoot, kernelTest, ROOT } from "./_helpers.ts";
import { buildIdOf } from "../lib/launcher.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** The launcher sources under /broken/: main.c does not compile. */
const BROKEN_MAIN = "#error broken\n";
const brokenId = buildIdOf((name) =>
  name === "main.c"
    ? new TextEncoder().encode(BROKEN_MAIN)
    : Deno.readFileSync(`${ROOT}launcher/${name}`)
);

/** Paths of the launcher sources the server has been asked for. */
const fetched: string[] = [];

/**
 * Serves the tree; under /broken/ the launcher's main.c does not compile (and the generated build
 * id matches it, as in a package published that way).
 */
function serve(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    let path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("no", { status: 403 });
    if (path.includes("/launcher/")) fetched.push(path);
    const ts = { headers: { "content-type": "application/typescript" } };
    if (path === "/tampered/launcher/main.c") return new Response(BROKEN_MAIN);
    if (path.startsWith("/tampered/")) path = path.slice("/tampered".length);
    if (path.startsWith("/broken/")) {
      if (path === "/broken/launcher/main.c") return new Response(BROKEN_MAIN);
      if (path === "/broken/lib/_build_id.ts") {
        return new Response(`export const LAUNCHER_BUILD_ID = "${brokenId}";\n`, ts);
      }
      path = path.slice("/broken".length);
    }
    try {
      return new Response(Deno.readFileSync(`${ROOT}${path.slice(1)}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

kernelTest(
  "a remote import builds its launcher with prepareLauncher(), once, without blocking",
  async () => {
    const server = serve();
    const home = Deno.makeTempDirSync();
    const url = `http://127.0.0.1:${server.addr.port}/mod.ts`;
    const run = (code: string, base = url) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-lock", code.replaceAll("URL", base)],
        env: { XDG_CACHE_HOME: `${home}/cache`, DENO_DIR: `${home}/deno`, SANDBOX_LAUNCHER: "" },
        stdin: "null",
      }).output();
    try {
      const before = await run(
        `import { SandboxBuilder } from "URL"; try { new SandboxBuilder("r").build(); } catch (e) { console.log(e.name, e.message); }`,
      );
      assertMatch(dec(before.stdout), /LauncherError .*prepareLauncher/);
      // Three first uses at once: one builds (the others wait on the lock), none stalls its
      // event loop (a synchronous make would stall it for seconds).
      const prepare = `import { prepareLauncher, SandboxBuilder } from "URL";
      const t0 = performance.now();
      let last = t0, gap = 0;
      const tick = setInterval(() => { const now = performance.now(); gap = Math.max(gap, now - last); last = now; }, 20);
      const p = await prepareLauncher(undefined, { onBuild: () => console.log("BUILD") });
      const took = performance.now() - t0;
      clearInterval(tick);
      const r = await new SandboxBuilder("r").build().run("sh", ["-c", "echo remote $(hostname)"]);
      console.log(p); console.log(r.stdout.trim()); console.log("GAP", Math.round(gap), Math.round(took));`;
      const outs = await Promise.all([run(prepare), run(prepare), run(prepare)]);
      const id = buildIdOf((name) => Deno.readFileSync(`${ROOT}launcher/${name}`));
      let builds = 0;
      for (const out of outs) {
        const lines = dec(out.stdout).trim().split("\n");
        if (lines[0] === "BUILD") {
          builds++;
          lines.shift();
        }
        const [path, line, gap] = lines;
        assertEquals(line, "remote sandbox", dec(out.stderr));
        assertEquals(path, `${home}/cache/sandbox-ts/${id}/sandbox-launcher`);
        // A synchronous make would stall the loop for (nearly) all of the wait; loaded machines
        // stretch both numbers alike.
        const [, stall, took] = gap!.split(" ").map(Number);
        assert(stall! < Math.max(500, took! / 2), `event loop stalled: ${gap}`);
      }
      assertEquals(builds, 1);
      assertEquals(Deno.statSync(`${home}/cache/sandbox-ts`).mode! & 0o777, 0o700);
      // Once built, neither finding it nor a run with README's narrow permissions fetches
      // the C sources (the build id is generated into lib/_build_id.ts).
      fetched.length = 0;
      const launcher = `${home}/cache/sandbox-ts/${id}/sandbox-launcher`;
      const state = `/tmp/sandbox-ts-${euid}`;
      const script = `${home}/narrow.ts`;
      Deno.writeTextFileSync(
        script,
        `import { SandboxBuilder } from "${url}";
        const r = await new SandboxBuilder("n").launcherPath(Deno.args[0]).build().run("true");
        console.log("narrow", r.exitCode);`,
      );
      const narrow = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-lock",
          "--no-prompt",
          `--allow-import=127.0.0.1:${server.addr.port}`,
          `--allow-run=${launcher}`,
          `--allow-read=${launcher},${state}`,
          `--allow-write=${state}`,
          // A launcher the caller owns (not root's): Deno tells the uid to compare only so.
          ...(isRoot ? [] : ["--allow-sys=uid,gid"]),
          script,
          launcher,
        ],
        env: { DENO_DIR: `${home}/deno`, SANDBOX_LAUNCHER: "" },
        stdin: "null",
      }).output();
      assertEquals(dec(narrow.stdout).trim(), "narrow 0", dec(narrow.stderr));
      const again = await run(
        `import { prepareLauncher } from "URL"; console.log(await prepareLauncher());`,
      );
      assertEquals(dec(again.stdout).trim(), launcher, dec(again.stderr));
      assertEquals(fetched, [], "the C sources were fetched again");
      // A failed build says why and leaves no build directory behind.
      const broken = await run(
        `import { prepareLauncher } from "URL"; try { await prepareLauncher(); } catch (e) { console.log(e.name, e.message); }`,
        `http://127.0.0.1:${server.addr.port}/broken/mod.ts`,
      );
      assertMatch(dec(broken.stdout), /LauncherError Cannot build .* make exited with 2: .*broken/);
      const left = [...Deno.readDirSync(`${home}/cache/sandbox-ts`)].map((e) => e.name).sort();
      assertEquals(left.filter((n) => n !== ".lock"), [id]);
      // Sources that do not hash to the module's generated build id are refused before make.
      const tampered = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          "--no-lock",
          `import { prepareLauncher } from "http://127.0.0.1:${server.addr.port}/tampered/mod.ts";
          try { await prepareLauncher(); } catch (e) { console.log(e.name, e.message); }`,
        ],
        env: { XDG_CACHE_HOME: `${home}/cache2`, DENO_DIR: `${home}/deno`, SANDBOX_LAUNCHER: "" },
        stdin: "null",
      }).output();
      assertMatch(
        dec(tampered.stdout),
        new RegExp(
          `^LauncherError The launcher sources at ".*/tampered/launcher/" have build id ${brokenId}, this module expects ${id}`,
        ),
      );
    } finally {
      await server.shutdown();
      Deno.removeSync(home, { recursive: true });
    }
  },
);

kernelTest(
  "without a home, the launcher is cached in a private per-uid dir, never a planted one",
  async () => {
    const server = serve();
    const tmp = Deno.makeTempDirSync({ prefix: "sandbox-ts-nohome-" });
    const url = `http://127.0.0.1:${server.addr.port}/mod.ts`;
    const id = buildIdOf((name) => Deno.readFileSync(`${ROOT}launcher/${name}`));
    const root = `${tmp}/sandbox-ts-cache-${euid}`;
    const prepare = () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          "--no-lock",
          `import { prepareLauncher } from "${url}"; try { console.log(await prepareLauncher()); } catch (e) { console.log(e.name, e.message); }`,
        ],
        clearEnv: true, // no HOME, no XDG_CACHE_HOME: the case that once fell back to /tmp/.cache
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          TMPDIR: tmp,
          DENO_DIR: `${tmp}/deno`,
        },
        stdin: "null",
      }).output();
    try {
      if (isRoot) {
        // Another user got there first and planted a "launcher": it must not run as root.
        Deno.mkdirSync(`${root}/${id}`, { recursive: true, mode: 0o700 });
        Deno.writeTextFileSync(`${root}/${id}/sandbox-launcher`, "#!/bin/sh\necho planted\n");
        Deno.chmodSync(`${root}/${id}/sandbox-launcher`, 0o755);
        for (const p of [root, `${root}/${id}`, `${root}/${id}/sandbox-launcher`]) {
          Deno.chownSync(p, 65534, 65534);
        }
        const planted = dec((await prepare()).stdout);
        assertMatch(planted, /^LauncherError Refusing to run .* is owned by uid 65534/);
        Deno.removeSync(root, { recursive: true });
      }
      const out = await prepare();
      assertEquals(dec(out.stdout).trim(), `${root}/${id}/sandbox-launcher`, dec(out.stderr));
      assertEquals(Deno.statSync(root).mode! & 0o777, 0o700);
    } finally {
      await server.shutdown();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
);
