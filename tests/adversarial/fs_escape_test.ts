// Escapes from a writable bind, attempted by the target under the default profile; the host
// directory next to the bind and the host's own files are checked afterwards.
import { assertEquals } from "../_assert.ts";
import { kernelTest, sandbox } from "../_helpers.ts";

kernelTest("adversarial: symlink and hard-link escapes from a writable bind", async () => {
  const root = Deno.makeTempDirSync();
  const work = `${root}/work`;
  const outside = `${root}/outside`;
  Deno.mkdirSync(work);
  Deno.mkdirSync(outside);
  Deno.writeTextFileSync(`${outside}/secret`, "host secret");
  // Writable by the sandbox's mapped uid in either mode; the walls alone must hold.
  for (const d of [root, work, outside]) Deno.chmodSync(d, 0o777);
  const passwd = Deno.readTextFileSync("/etc/passwd");
  try {
    const r = await sandbox({ mounts: [{ type: "bind", source: work, target: "/w" }] }).run("sh", [
      "-c",
      [
        // hard links out of the bind: other mounts (EXDEV), or no such path in the sandbox
        `ln /etc/passwd /w/passwd 2>/dev/null && exit 71`,
        `ln ${outside}/secret /w/secret 2>/dev/null && exit 72`,
        // symlinks pointing out, then written through: they resolve inside the sandbox
        `ln -s ${outside} /w/abs && ln -s ../outside /w/rel`,
        `(echo pwn > /w/abs/pwned) 2>/dev/null && exit 73`,
        `(echo pwn > /w/rel/pwned) 2>/dev/null && exit 74`,
        `cat /w/rel/secret 2>/dev/null && exit 75`,
        // renaming the bind's contents out does not reach the host either
        `echo data > /w/f && mv /w/f /tmp/f && test ! -e /w/f || exit 76`,
        "exit 0",
      ].join("; "),
    ]);
    assertEquals(r.exitCode, 0, `probe ${r.exitCode}: ${r.stderr}`);
    assertEquals([...Deno.readDirSync(outside)].map((e) => e.name), ["secret"]);
    assertEquals(Deno.readTextFileSync(`${outside}/secret`), "host secret");
    assertEquals(Deno.readTextFileSync("/etc/passwd"), passwd);
    // What the target left in the bind are plain links the host can see for what they are.
    assertEquals(Deno.readLinkSync(`${work}/rel`), "../outside");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
