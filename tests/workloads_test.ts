// Real programs under the defaults (profile `compute`, network `none`, the synthesized identity):
// build tools, runtimes, servers on loopback, databases. A program missing on this machine skips
// its test with the reason printed (scripts/test.sh installs them from Debian when root).
import { assert, assertEquals } from "./_assert.ts";
import { kernelTest, sandbox } from "./_helpers.ts";
import type { SandboxConfig, SandboxResult } from "../mod.ts";
import { cgroupHost } from "../lib/cgroups.ts";

const cgroups = cgroupHost(Deno.uid() ?? 0);
/** Why this machine has no cgroup for the runs, or false. */
const noCgroup = cgroups.version === null && cgroups.reason;

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Why a test cannot run: the first of `programs` missing from the sandbox's PATH, or false. */
function missing(...programs: string[]): string | false {
  for (const p of programs) {
    const found = DEFAULT_PATH.split(":").some((dir) => {
      try {
        return Deno.statSync(`${dir}/${p}`).isFile;
      } catch {
        return false;
      }
    });
    if (!found) return `"${p}" is not installed (Debian: see scripts/test.sh)`;
  }
  return false;
}

/** Runs `sh -c script` under the defaults with a generous timeout. */
async function run(script: string, config: SandboxConfig = {}): Promise<SandboxResult> {
  return await sandbox({ timeout: "120s", ...config }).run("sh", ["-c", script]);
}

/** Exit 0 and no seccomp kill; the output for the message. */
function assertRan(r: SandboxResult): void {
  assertEquals(
    [r.exitCode, r.reason, r.killedBySeccomp],
    [0, "exited", false],
    `${r.seccompViolation?.syscall ?? ""}\n${r.stdout}\n${r.stderr}`,
  );
}

/** A workload test: `start` must exit 0, unkilled, printing exactly `stdout`. */
function workload(
  name: string,
  skip: string | false,
  start: () => Promise<SandboxResult>,
  stdout: string,
): void {
  kernelTest(name, { skip }, async () => {
    const r = await start();
    assertRan(r);
    assertEquals(r.stdout, stdout);
  });
}

workload(
  "make builds a C program from a Makefile",
  missing("make", "cc"),
  () =>
    run(
      "cd /tmp && printf 'int main(void){return 0;}\\n' > m.c && " +
        "printf 'all: m\\nm: m.c\\n\\t$(CC) -O1 -o $@ $<\\n' > Makefile && make -s && ./m && echo built",
    ),
  "built\n",
);

workload(
  "cmake configures and builds a project",
  missing("cmake", "make", "c++"),
  () =>
    run(
      "mkdir -p /tmp/p && cd /tmp/p && " +
        "printf 'cmake_minimum_required(VERSION 3.10)\\nproject(p CXX)\\nadd_executable(p p.cpp)\\n' > CMakeLists.txt && " +
        "printf '#include <iostream>\\nint main(){std::cout<<\"cmake-ok\"<<std::endl;}\\n' > p.cpp && " +
        "cmake -S . -B b >/dev/null && cmake --build b >/dev/null && ./b/p",
    ),
  "cmake-ok\n",
);

workload(
  "javac compiles and java runs",
  missing("javac", "java"),
  () =>
    run(
      "cd /tmp && printf 'public class H { public static void main(String[] a) { System.out.println(\"java-ok\"); } }' > H.java && " +
        "javac H.java && java -cp . H",
    ),
  "java-ok\n",
);

kernelTest(
  "the JVM's max heap stays within the memory limit",
  {
    skip: missing("java") ||
      (noCgroup && `no writable cgroup here (${noCgroup}), so no memory limit for the JVM to see`),
  },
  async () => {
    // The heap size the JVM chose at start (its ergonomics), printed without compiling or running
    // any Java: under qemu's emulation a source-file launch (javac in-process, then the JIT) once
    // aborted the JVM itself (exit 134) in CI.
    const r = await run("java -XX:+PrintFlagsFinal -version | grep -E ' MaxHeapSize '", {
      memory: "512M",
    });
    assertRan(r);
    // The JVM's default: a quarter of the memory it sees (the limit, not the host's).
    const mib = Number(r.stdout?.match(/MaxHeapSize\s*=\s*(\d+)/)?.[1]) / 2 ** 20;
    assert(mib > 0 && mib <= 512 / 4, r.stdout);
  },
);

/** Runs `program args` under the defaults with a generous timeout. */
function exec(program: string, ...args: string[]): Promise<SandboxResult> {
  return sandbox({ timeout: "60s" }).run(program, args);
}

workload(
  "node: an HTTP server and a client on loopback",
  missing("node"),
  () =>
    exec(
      "node",
      "-e",
      `
const http = require("http");
const server = http.createServer((req, res) => res.end("node-ok"));
server.listen(0, "127.0.0.1", () => {
  http.get({ host: "localhost", family: 4, port: server.address().port }, (res) => {
    let body = "";
    res.on("data", (c) => body += c);
    res.on("end", () => { console.log(body); server.close(); });
  });
});`,
    ),
  "node-ok\n",
);

workload(
  "python asyncio: a TCP server and client on loopback",
  missing("python3"),
  () =>
    exec(
      "python3",
      "-c",
      `
import asyncio
async def handle(reader, writer):
    writer.write((await reader.readline()).upper()); await writer.drain(); writer.close()
async def main():
    server = await asyncio.start_server(handle, "localhost", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("localhost", port)
    writer.write(b"asyncio-ok\\n"); await writer.drain()
    print((await reader.readline()).decode().strip())
    server.close(); await server.wait_closed()
asyncio.run(main())`,
    ),
  "ASYNCIO-OK\n",
);

workload(
  "python multiprocessing: a Pool and a Manager",
  missing("python3"),
  () =>
    exec(
      "python3",
      "-c",
      `
import multiprocessing as mp
def square(x): return x * x
if __name__ == "__main__":
    with mp.Pool(2) as pool: print(sum(pool.map(square, range(10))))
    with mp.Manager() as m:
        d = m.dict(); p = mp.Process(target=d.__setitem__, args=("k", 7)); p.start(); p.join()
        print(d["k"])`,
    ),
  "285\n7\n",
);

workload(
  "sqlite: a database in /tmp",
  missing("python3"),
  () =>
    exec(
      "python3",
      "-c",
      `
import sqlite3
db = sqlite3.connect("/tmp/t.db")
db.execute("pragma journal_mode=wal"); db.execute("create table t (x)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)]); db.commit()
print(db.execute("select sum(x) from t").fetchone()[0])`,
    ),
  "4950\n",
);

workload(
  "git: config --global, init, commit",
  missing("git"),
  () =>
    run(
      "git config --global user.name Sandbox && git config --global user.email s@example.com && " +
        "git config --global init.defaultBranch main && cd /tmp && git init -q r && cd r && " +
        "echo x > f && git add f && git commit -qm first && git log --format=%an:%s && cat ~/.gitconfig | grep -c name",
    ),
  "Sandbox:first\n1\n",
);

kernelTest("network host: a client reaches a server on the host's loopback", {
  skip: missing("python3"),
}, async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const served = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("host-ok\n"));
    conn.close();
  })();
  try {
    const r = await sandbox({ network: "host", timeout: "60s" }).run("python3", [
      "-c",
      `import socket; s = socket.create_connection(("127.0.0.1", ${port})); print(s.makefile().readline().strip())`,
    ]);
    await served;
    assertRan(r);
    assertEquals(r.stdout, "host-ok\n");
  } finally {
    listener.close();
    // When the run failed, accept() fails once the listener is closed: that is not the error.
    await served.catch(() => {});
  }
});

/** The directory of PostgreSQL's server programs (Debian keeps them off PATH), or null. */
function postgresBin(): string | null {
  try {
    for (const v of [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).sort()) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      if (Deno.statSync(`${dir}/initdb`).isFile) return dir;
    }
  } catch {
    // not installed
  }
  return null;
}

workload(
  "PostgreSQL: initdb, a server on a unix socket, psql",
  postgresBin() === null && "PostgreSQL is not installed (Debian: postgresql)",
  () =>
    run(
      `export PATH=${postgresBin()}:$PATH; initdb -D /tmp/pg -A trust >/dev/null && ` +
        `pg_ctl -D /tmp/pg -o "-k /tmp -c listen_addresses=" -l /tmp/pg.log -w start >/dev/null && ` +
        `psql -h /tmp -d postgres -Atc "select 40 + 2"; rc=$?; pg_ctl -D /tmp/pg -m fast -w stop >/dev/null; ` +
        `test $rc = 0 || cat /tmp/pg.log; exit $rc`,
    ),
  "42\n",
);
