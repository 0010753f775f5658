// Reaching the host from inside: network, abstract sockets, signals, secrets, oversized input.
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { kernelTest, marker, sandbox } from "../_helpers.ts";
import { ProgramNotFoundError, SandboxSetupError } from "../../mod.ts";

kernelTest("adversarial: connecting to a TCP server on the host's loopback fails", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  let accepted = false;
  listener.accept().then((c) => {
    accepted = true;
    c.close();
  }).catch(() => {});
  try {
    const r = await sandbox({ seccomp: "network" }).run("python3", [
      "-c",
      `import socket\ntry:\n  socket.create_connection(("127.0.0.1", ${port}), timeout=1); print("connected")\nexcept OSError as e: print("refused", e.errno)`,
    ]);
    assertMatch(r.stdout, /^refused/);
    assert(!accepted);
  } finally {
    listener.close();
  }
});

kernelTest("adversarial: connecting to a host abstract unix socket fails", async () => {
  const name = `sbx-adv-${marker()}`;
  const host = new Deno.Command("python3", {
    args: [
      "-c",
      `import socket,time\ns=socket.socket(socket.AF_UNIX)\ns.bind("\\0${name}")\ns.listen()\nprint("up", flush=True)\ntime.sleep(10)`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = host.stdout.getReader();
  await reader.read();
  try {
    const r = await sandbox({ seccomp: "network" }).run("python3", [
      "-c",
      `import socket\ns=socket.socket(socket.AF_UNIX)\ntry:\n  s.connect("\\0${name}"); print("connected")\nexcept OSError as e: print("refused", e.errno)`,
    ]);
    assertEquals(r.stdout, "refused 111\n"); // ECONNREFUSED: another network namespace
  } finally {
    host.kill();
    reader.releaseLock();
    await host.stdout.cancel();
    await host.status;
  }
});

kernelTest("adversarial: signalling a host process fails and it survives", async () => {
  const victim = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const r = await sandbox().run("sh", ["-c", `kill -KILL ${victim.pid} 2>&1; echo rc=$?`]);
    assertMatch(r.stdout, /rc=1/);
    assertEquals(Deno.readTextFileSync(`/proc/${victim.pid}/stat`).split(" ")[2] !== "Z", true);
  } finally {
    victim.kill();
    await victim.status;
  }
});

kernelTest("adversarial: /etc/shadow and the host's home directories cannot be read", async () => {
  const r = await sandbox().run("sh", [
    "-c",
    "cat /etc/shadow 2>/dev/null && exit 71; ls /root /home 2>/dev/null && exit 72; exit 0",
  ]);
  assertEquals(r.exitCode, 0);
});

kernelTest(
  "adversarial: very long argv and env: passed when the kernel takes them, typed errors past that",
  async () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `arg-${i}`);
    const ok = await sandbox().run("sh", ["-c", "echo $#", "sh", ...many]);
    assertEquals(ok.stdout, "20000\n");
    const env = { BIG: "x".repeat(100_000) };
    assertEquals((await sandbox({ env }).run("sh", ["-c", "echo ${#BIG}"])).stdout, "100000\n");
    // Past the kernel's per-string limit (128 KiB): execve fails with E2BIG, reported as such.
    const e = await assertRejects(
      () => sandbox().run("echo", ["y".repeat(200_000)]),
      SandboxSetupError,
    );
    assertEquals([e.name, e.step, e.errno, e.exitCode], [
      "SandboxSetupError",
      "exec",
      "E2BIG",
      126,
    ]);
    // Past the launcher's frame cap: refused before anything starts.
    let threw: unknown;
    try {
      await sandbox().run("true", Array.from({ length: 100 }, () => "z".repeat(100_000)));
    } catch (err) {
      threw = err;
    }
    assert(threw instanceof RangeError, String(threw));
  },
);

kernelTest("adversarial: NUL bytes anywhere are refused before anything starts", async () => {
  for (
    const run of [
      () => sandbox().run("ec\0ho"),
      () => sandbox().run("echo", ["a\0b"]),
      () => sandbox({ env: { A: "x\0y" } }).run("true"),
      () => sandbox().run("true", [], { cwd: "/tmp\0" }),
    ]
  ) {
    let threw: unknown;
    try {
      await run();
    } catch (err) {
      threw = err;
    }
    assert(threw instanceof RangeError, String(threw));
  }
});

kernelTest("adversarial: a program named like an option is just a program", async () => {
  await assertRejects(() => sandbox().run("--bind"), ProgramNotFoundError);
  await assertRejects(() => sandbox().run("-h"), ProgramNotFoundError);
});
