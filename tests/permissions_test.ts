// Deno permissions (issue 13 item 5): a missing permission is one clear error naming it — never a
// host fact guessed as "absent" (no system directories: "program not found"; no cgroup mount: a
// limit silently weaker).
import { assertMatch } from "./_assert.ts";
import { kernelTest, LAUNCHER, ROOT } from "./_helpers.ts";

async function runWith(permissions: string[]): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "sandbox-ts-perms-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/run.ts`,
      `import { SandboxBuilder } from "${ROOT}mod.ts";
       try {
         const r = await new SandboxBuilder("p").build().run("true");
         console.log("ran", r.exitCode);
       } catch (e) { console.log(e.name + ": " + e.message); }`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", ...permissions, `${dir}/run.ts`],
      env: { SANDBOX_LAUNCHER: "" },
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

kernelTest("without --allow-all, a run fails naming the /proc read Deno refused", async () => {
  const line = await runWith([
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    `--allow-run=${LAUNCHER}`,
  ]);
  assertMatch(line, /^NotCapable: The sandbox needs "\/proc\/.*--allow-all.*Deno permissions/);
});

kernelTest(
  "without --allow-read, a run fails naming the read, not as a missing launcher",
  async () => {
    const line = await runWith(["--allow-env", "--allow-sys", `--allow-run=${LAUNCHER}`]);
    assertMatch(line, /^NotCapable: .*read access to .*--allow-read/);
  },
);

kernelTest("with -A the same run works", async () => {
  assertMatch(await runWith(["-A"]), /^ran 0$/);
});
