// Two sandboxes running at the same time cannot exchange data.
import { assertEquals } from "../_assert.ts";
import { kernelTest, marker, sandbox } from "../_helpers.ts";

kernelTest(
  "adversarial: two concurrent sandboxes share no /tmp, /dev/shm, abstract socket or keyring",
  async () => {
    const tag = marker();
    const sb = sandbox({ seccomp: "network" });
    const writer = sb.run("python3", [
      "-c",
      `import socket, time
open("/tmp/drop-${tag}", "w").write("secret")
open("/dev/shm/drop-${tag}", "w").write("secret")
s = socket.socket(socket.AF_UNIX); s.bind("\\0drop-${tag}"); s.listen()
time.sleep(1.5)`,
    ]);
    await new Promise((r) => setTimeout(r, 500));
    const reader = await sb.run("python3", [
      "-c",
      `import os, socket, ctypes
found = [p for p in ("/tmp/drop-${tag}", "/dev/shm/drop-${tag}") if os.path.exists(p)]
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\\0drop-${tag}"); found.append("abstract")
except OSError:
    pass
# keyrings: the keyctl family is refused outright (errno mode would say EPERM)
print(found)`,
    ]);
    const w = await writer;
    assertEquals(w.exitCode, 0, w.stderr);
    assertEquals(reader.stdout, "[]\n", reader.stderr);
    const keys = await sandbox({ seccomp: { action: "errno" } }).run("python3", [
      "-c",
      `import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.syscall(248, b"user", b"k", b"v", 1, ctypes.c_long(-4)), ctypes.get_errno())`,
    ]);
    assertEquals(keys.stdout, "-1 1\n"); // add_key refused
  },
);
