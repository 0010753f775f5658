// session.fs: round trips, bounds, errors that name the path — and the hostile cases: links
// planted by the sandboxed code to host paths, `..` escapes, a FIFO at the path, a link swapped
// during an operation, and download of a tree that holds links. Every path is resolved inside the
// sandbox by its agent; none of these may read or write a host file.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { exists, kernelTest, sandbox } from "./_helpers.ts";

kernelTest("session fs: round trips", async () => {
  await using session = await sandbox({ id: "fs" }).session();
  const fs = session.fs;
  await fs.mkdir("/tmp/a/b/c", { recursive: true });
  await fs.mkdir("/tmp/a/b/c", { recursive: true }); // an existing one is fine
  const big = crypto.getRandomValues(new Uint8Array(65536)).map((_, i) => i % 251);
  const data = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => big[i % big.length]!);
  await fs.writeFile("/tmp/a/b/c/big.bin", data); // several frames each way
  assertEquals(await fs.readFile("/tmp/a/b/c/big.bin"), data);
  await fs.writeTextFile("/tmp/a/t.txt", "one\n");
  await fs.writeTextFile("/tmp/a/t.txt", "two\n", { append: true });
  assertEquals(await fs.readTextFile("/tmp/a/t.txt"), "one\ntwo\n");
  await assertRejects(
    () => fs.writeTextFile("/tmp/a/t.txt", "x", { createNew: true }),
    Deno.errors.AlreadyExists,
    '"/tmp/a/t.txt"',
  );
  // What a command wrote, the fs API reads, and the other way round.
  await session.run("sh", ["-c", "echo from-cmd > /tmp/a/cmd.txt; mkdir /tmp/a/d"]);
  assertEquals(await fs.readTextFile("/tmp/a/cmd.txt"), "from-cmd\n");
  assertEquals((await session.run("cat", ["/tmp/a/t.txt"])).stdout, "one\ntwo\n");
  const names: string[] = [];
  for await (const e of fs.readDir("/tmp/a")) names.push(`${e.name}:${e.isDirectory ? "d" : "f"}`);
  assertEquals(names.sort(), ["b:d", "cmd.txt:f", "d:d", "t.txt:f"]);
  const st = await fs.stat("/tmp/a/t.txt");
  assertEquals([st.isFile, st.size, st.mode], [true, 8, 0o644]);
  await fs.remove("/tmp/a", { recursive: true });
  await assertRejects(() => fs.stat("/tmp/a"), Deno.errors.NotFound, '"/tmp/a"');
});

kernelTest("session fs: sizes are bounded and errors name the path", async () => {
  await using session = await sandbox({ id: "fsbound" }).session();
  await session.run("sh", ["-c", "head -c 2000000 /dev/zero > /tmp/big"]);
  await assertRejects(
    () => session.fs.readFile("/tmp/big", { maxSize: 1_000_000 }),
    RangeError,
    '"/tmp/big"',
  );
  await assertRejects(
    () => session.fs.readFile("/no/such/file"),
    Deno.errors.NotFound,
    '"/no/such/file"',
  );
  await assertRejects(() => session.fs.readFile("/tmp"), Deno.errors.IsADirectory, '"/tmp"');
  await assertRejects(
    () => session.fs.writeTextFile("/usr/evil", "x"),
    Error,
    '"/usr/evil"',
  );
  await assertRejects(() => session.fs.readFile("relative"), TypeError, "absolute path");
});

kernelTest("session fs: a link planted to a host path does not reach the host", async () => {
  const hostDir = await Deno.makeTempDir({ prefix: "sbx-secret-" });
  try {
    const secret = `${hostDir}/secret`;
    await Deno.writeTextFile(secret, "HOST SECRET");
    await using session = await sandbox({ id: "fslink" }).session();
    // The sandboxed code plants links to the host file, to the host dir, and a `..` climber.
    const plant = await session.sh`
      ln -s ${secret} /tmp/to-secret
      ln -s ${hostDir} /tmp/to-dir
      ln -s ../../../../../../../.. /tmp/up
      ln -s ${`${hostDir}/written`} /tmp/to-new`;
    assertEquals(plant.exitCode, 0, plant.stderr);
    for (
      const path of [
        "/tmp/to-secret",
        "/tmp/to-dir/secret",
        `/tmp/up${secret}`,
        `/tmp/../../..${secret}`,
      ]
    ) {
      const got = await session.fs.readTextFile(path).catch((e) => e);
      assert(got instanceof Deno.errors.NotFound, `${path}: ${got}`);
      assert(String(got.message).includes(`"${path}"`), got.message);
    }
    // Writes through the links fail inside the sandbox; nothing appears on the host.
    for (const path of ["/tmp/to-new", "/tmp/to-dir/written", `/tmp/up${hostDir}/written`]) {
      await assertRejects(() => session.fs.writeTextFile(path, "pwned"), Deno.errors.NotFound);
    }
    assert(!exists(`${hostDir}/written`), "a write reached the host");
    // remove() of a link removes the link, never its target (inside or out).
    await session.fs.remove("/tmp/to-secret");
    assertEquals(await Deno.readTextFile(secret), "HOST SECRET");
    assertEquals((await session.fs.lstat("/tmp/up")).isSymlink, true);
  } finally {
    await Deno.remove(hostDir, { recursive: true });
  }
});

kernelTest("session fs: a FIFO or device at the path is refused, not waited on", async () => {
  await using session = await sandbox({ id: "fsfifo" }).session();
  await session.run("mkfifo", ["/tmp/fifo"]);
  const start = performance.now();
  await assertRejects(() => session.fs.readFile("/tmp/fifo"), Error, "not a regular file");
  await assertRejects(
    () => session.fs.writeTextFile("/tmp/fifo", "x"),
    Error,
    "not a regular file",
  );
  await assertRejects(() => session.fs.readFile("/dev/zero"), Error, '"/dev/zero"');
  assert(performance.now() - start < 5000, "the agent blocked on the FIFO");
  assertEquals((await session.run("echo", ["alive"])).stdout, "alive\n");
});

kernelTest("session fs: a link swapped in during recursive removal is not followed", async () => {
  await using session = await sandbox({ id: "fsswap" }).session();
  // /tmp/keep/precious must survive; /tmp/victim flips between a tree and a link to /tmp/keep.
  await session.sh`mkdir -p /tmp/keep && echo precious > /tmp/keep/precious`;
  const swapper = session.spawn("sh", [
    "-c",
    `while :; do
       rm -rf /tmp/victim.new; mkdir -p /tmp/victim.new/sub; touch /tmp/victim.new/sub/f
       ln -s /tmp/keep /tmp/victim.new/sub/link
       mv -T /tmp/victim.new /tmp/victim 2>/dev/null
       rm -rf /tmp/victim.l; ln -s /tmp/keep /tmp/victim.l; mv -T /tmp/victim.l /tmp/victim/sub 2>/dev/null
     done`,
  ]);
  for (let i = 0; i < 200; i++) {
    await session.fs.remove("/tmp/victim", { recursive: true }).catch(() => {});
  }
  swapper.kill();
  await swapper.status;
  assertEquals(await session.fs.readTextFile("/tmp/keep/precious"), "precious\n");
});

kernelTest("session fs: upload and download trees; planted links are skipped", async () => {
  const host = await Deno.makeTempDir({ prefix: "sbx-tree-" });
  try {
    await Deno.mkdir(`${host}/src/pkg`, { recursive: true });
    await Deno.writeTextFile(`${host}/src/pkg/mod.py`, "X = 1\n");
    await Deno.writeTextFile(`${host}/src/top.txt`, "top\n");
    await Deno.writeTextFile(`${host}/canary`, "untouched");
    await using session = await sandbox({ id: "fstree" }).session();
    await session.fs.upload(`${host}/src`, "/tmp/up");
    const r = await session.run("python3", ["-B", "-c", "import pkg.mod; print(pkg.mod.X)"], {
      cwd: "/tmp/up",
    });
    assertEquals(r.stdout, "1\n", r.stderr);
    // The sandboxed code adds files and links to host paths; download copies files only.
    await session.sh`
      echo out > /tmp/up/pkg/out.txt
      ln -s ${`${host}/canary`} /tmp/up/evil
      ln -s / /tmp/up/root
      mkfifo /tmp/up/fifo`;
    const report = await session.fs.download("/tmp/up", `${host}/back`);
    assertEquals(report.files, 3);
    assertEquals(report.skipped.sort(), ["/tmp/up/evil", "/tmp/up/fifo", "/tmp/up/root"]);
    assertEquals(await Deno.readTextFile(`${host}/back/pkg/out.txt`), "out\n");
    assertEquals(await Deno.readTextFile(`${host}/back/top.txt`), "top\n");
    assert(!exists(`${host}/back/evil`) && !exists(`${host}/back/root`));
    assertEquals(await Deno.readTextFile(`${host}/canary`), "untouched");
    // An existing host target is refused, not merged into.
    await assertRejects(
      () => session.fs.download("/tmp/up", `${host}/back`),
      Deno.errors.AlreadyExists,
    );
  } finally {
    await Deno.remove(host, { recursive: true });
  }
});
