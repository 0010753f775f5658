// Which launcher binary the library agrees to run, and how it is built (issue 13): never one
// another user could have written, never one built from other sources, and the build never
// blocks the event loop or leaves a half-built directory behind.
import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { isRoot, kernelTest, LAUNCHER, ROOT } from "./_helpers.ts";
import { buildIdOf, findLauncher } from "../lib/launcher.ts";
import { privateDir } from "../lib/_trust.ts";
import { LauncherError } from "../mod.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sourceId = () => buildIdOf((name) => Deno.readFileSync(`${ROOT}launcher/${name}`));

kernelTest("--version and --features report the build id of the launcher's sources", async () => {
  const version = dec((await new Deno.Command(LAUNCHER, { args: ["--version"] }).output()).stdout);
  assertEquals(version.trim().split(" ")[2], sourceId());
  const features = dec(
    (await new Deno.Command(LAUNCHER, { args: ["--features"] }).output()).stdout,
  );
  assertEquals(JSON.parse(features).buildId, sourceId());
});

/** A copy of the launcher in a fresh private directory; removed after `fn`. */
async function withCopy(fn: (dir: string, path: string) => void | Promise<void>) {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-trust-" });
  try {
    Deno.copyFileSync(LAUNCHER, `${dir}/sandbox-launcher`);
    await fn(dir, `${dir}/sandbox-launcher`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

kernelTest("a launcher planted by another uid is refused, naming the path", {
  skip: !isRoot && "only root can give a file to another uid (chown)",
}, () =>
  withCopy((_dir, path) => {
    Deno.chownSync(path, 65534, 65534);
    const e = assertThrows(() => findLauncher(path), LauncherError);
    assertMatch(e.message, /Refusing to run the sandbox launcher ".*": ".*" is owned by uid 65534/);
  }));

kernelTest("a launcher in a directory others can write is refused", () =>
  withCopy((dir, path) => {
    Deno.chmodSync(dir, 0o777);
    const e = assertThrows(() => findLauncher(path), LauncherError);
    assertMatch(e.message, /is writable by every user \(mode 0777\)/);
    Deno.chmodSync(dir, 0o775);
    assertMatch(assertThrows(() => findLauncher(path), LauncherError).message, /by its group/);
    Deno.chmodSync(dir, 0o755);
    assertEquals(findLauncher(path), path);
  }));

kernelTest("a cache directory that is not private to the caller is refused", () => {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-trust-" });
  try {
    assertEquals(privateDir(`${dir}/fresh`), `${dir}/fresh`);
    assertEquals(Deno.statSync(`${dir}/fresh`).mode! & 0o777, 0o700);
    Deno.mkdirSync(`${dir}/open`, { mode: 0o755 });
    Deno.chmodSync(`${dir}/open`, 0o755);
    assertThrows(() => privateDir(`${dir}/open`), LauncherError, "not a private directory");
    if (isRoot) {
      Deno.mkdirSync(`${dir}/planted`, { mode: 0o700 });
      Deno.chownSync(`${dir}/planted`, 65534, 65534);
      assertThrows(() => privateDir(`${dir}/planted`), LauncherError, "owner 65534");
    }
    Deno.chmodSync(dir, 0o500);
    if (!isRoot) assertEquals(privateDir(`${dir}/unwritable/x`), null);
  } finally {
    Deno.chmodSync(dir, 0o700);
    Deno.removeSync(dir, { recursive: true });
  }
});

kernelTest(
  "a stale in-tree launcher is refused by build() and rebuilt by prepareLauncher()",
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-stale-" });
    try {
      for (const p of ["mod.ts", "deno.json", "lib", "launcher"]) {
        const cp = await new Deno.Command("cp", { args: ["-a", `${ROOT}${p}`, dir] }).output();
        assert(cp.success, dec(cp.stderr));
      }
      Deno.writeTextFileSync(`${dir}/launcher/proctitle.c`, "/* changed */\n", { append: true });
      const code = `import { prepareLauncher, SandboxBuilder } from "${dir}/mod.ts";
      try { new SandboxBuilder("s").build(); } catch (e) { console.log(e.name, e.message); }
      const p = await prepareLauncher(undefined, { onBuild: () => console.log("BUILD") });
      console.log((await new SandboxBuilder("s").launcherPath(p).build().run("true")).exitCode);`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-lock", code],
        env: { SANDBOX_LAUNCHER: "" },
      }).output();
      const [refused, build, exit] = dec(out.stdout).trim().split("\n");
      assertMatch(refused!, /^LauncherError .*stale: .* has build id [0-9a-f]{16}, its sources/);
      assertEquals([build, exit], ["BUILD", "0"], dec(out.stderr));
      const version = await new Deno.Command(`${dir}/launcher/sandbox-launcher`, {
        args: ["--version"],
      }).output();
      const id = buildIdOf((name) => Deno.readFileSync(`${dir}/launcher/${name}`));
      assertEquals(dec(version.stdout).trim().split(" ")[2], id);
      assert(id !== sourceId());
      // An old binary copied in over a built tree is newer than its objects: make alone would
      // keep it; it is removed and relinked.
      const binary = `${dir}/launcher/sandbox-launcher`;
      Deno.writeTextFileSync(binary, "#!/bin/sh\necho sandbox-launcher 0.1.0 0000000000000000\n");
      const again = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-lock", code],
        env: { SANDBOX_LAUNCHER: "" },
      }).output();
      assertEquals(
        dec(again.stdout).trim().split("\n").slice(1),
        ["BUILD", "0"],
        dec(again.stderr),
      );
      const rebuilt = await new Deno.Command(binary, { args: ["--version"] }).output();
      assertEquals(dec(rebuilt.stdout).trim().split(" ")[2], id);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("lib/_build_id.ts holds the build id of launcher/'s sources (else: deno task build-id)", async () => {
  const { LAUNCHER_BUILD_ID } = await import("../lib/_build_id.ts");
  assertEquals(LAUNCHER_BUILD_ID, sourceId(), 'stale: run "deno task build-id" and commit it');
});

kernelTest(
  "a named launcher (launcherPath, SANDBOX_LAUNCHER) with another build id is refused",
  () =>
    withCopy(async (dir, path) => {
      // A launcher built from other sources: its --version names another id.
      const other = `${dir}/other`;
      Deno.writeTextFileSync(other, "#!/bin/sh\necho sandbox-launcher 0.1.0 0123456789abcdef\n");
      Deno.chmodSync(other, 0o755);
      const e = assertThrows(() => findLauncher(other), LauncherError);
      assertMatch(
        e.message,
        new RegExp(
          `^Sandbox launcher ".*other" reports build id 0123456789abcdef, this module needs ${sourceId()}: rebuild it from this module's sources \\(make -C .*launcher/\\)`,
        ),
      );
      // Not a launcher at all.
      assertMatch(
        assertThrows(() => findLauncher("/bin/true"), LauncherError).message,
        /reports build id \(none: not a sandbox-launcher that answers --version\)/,
      );
      // A copy of the right one is accepted.
      assertEquals(findLauncher(path), path);
      // SANDBOX_LAUNCHER is checked the same way.
      const code = `import { SandboxBuilder } from "${ROOT}mod.ts";
      try { new SandboxBuilder("s").build(); console.log("built"); } catch (e) { console.log(e.message); }`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-lock", code],
        env: { SANDBOX_LAUNCHER: other },
      }).output();
      assertMatch(
        dec(out.stdout),
        /^SANDBOX_LAUNCHER ".*other" reports build id 0123456789abcdef, this module needs/,
      );
    }),
);

kernelTest(
  "a directory above the launcher that Deno may not read is checked by the launcher itself",
  () =>
    withCopy(async (dir) => {
      // dir/open (mode 0777, not sticky) holds the launcher; a narrow --allow-read names only the
      // binary, so Deno cannot stat dir/open: the launcher's --features reports it.
      const open = `${dir}/open`;
      Deno.mkdirSync(open);
      Deno.copyFileSync(LAUNCHER, `${open}/sandbox-launcher`);
      Deno.chmodSync(open, 0o777);
      const path = `${open}/sandbox-launcher`;
      const state = `/tmp/sandbox-ts-${isRoot ? 0 : Deno.uid()}`;
      Deno.writeTextFileSync(
        `${dir}/run.ts`,
        `import { SandboxBuilder } from "${ROOT}mod.ts";
        try { new SandboxBuilder("s").launcherPath(Deno.args[0]).build(); console.log("built"); }
        catch (e) { console.log(e.name, e.message); }`,
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-lock",
          "--no-prompt",
          `--allow-run=${path}`,
          `--allow-read=${path},${state}`,
          `--allow-write=${state}`,
          ...(isRoot ? [] : ["--allow-sys=uid"]),
          `${dir}/run.ts`,
          path,
        ],
        env: { SANDBOX_LAUNCHER: "" },
      }).output();
      assertMatch(
        dec(out.stdout),
        /^LauncherError Refusing to run the sandbox launcher ".*\/open\/sandbox-launcher": ".*\/open" is writable by every user \(mode 0777\)/,
      );
    }),
);
