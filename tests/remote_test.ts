// Imported from a remote URL (as from JSR), the module fetches its launcher's C sources and
// builds them in the cache dir. Served here from a loopback HTTP server.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { kernelTest, ROOT } from "./_helpers.ts";

kernelTest("a remote import builds its launcher with prepareLauncher()", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("no", { status: 403 });
    try {
      return new Response(Deno.readFileSync(`${ROOT}${path.slice(1)}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const home = Deno.makeTempDirSync();
  const url = `http://127.0.0.1:${server.addr.port}/mod.ts`;
  const run = (code: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-lock", code],
      env: { XDG_CACHE_HOME: `${home}/cache`, DENO_DIR: `${home}/deno`, SANDBOX_LAUNCHER: "" },
      stdin: "null",
    }).output();
  try {
    const before = await run(
      `import { SandboxBuilder } from "${url}"; try { new SandboxBuilder("r").build(); } catch (e) { console.log(e.name, e.message); }`,
    );
    assertMatch(new TextDecoder().decode(before.stdout), /LauncherError .*prepareLauncher/);
    const after = await run(
      `import { prepareLauncher, SandboxBuilder } from "${url}"; const p = await prepareLauncher(); const r = await new SandboxBuilder("r").build().run("sh", ["-c", "echo remote $(hostname)"]); console.log(p); console.log(r.stdout.trim());`,
    );
    const [path, line] = new TextDecoder().decode(after.stdout).trim().split("\n");
    assertEquals(line, "remote sandbox", new TextDecoder().decode(after.stderr));
    assertEquals(path, `${home}/cache/sandbox-ts/0.1.0/sandbox-launcher`);
    assert(Deno.statSync(path!).isFile);
  } finally {
    await server.shutdown();
    Deno.removeSync(home, { recursive: true });
  }
});
