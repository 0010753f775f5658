// Network egress by allow-list on the real kernel: the sandbox keeps its private network, and
// the only way out is the launcher's relay to the filtering proxy. Servers listen on several
// 127.0.0.x addresses; test names map to them through the proxy's test-only resolver hook.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { cli, kernelTest, LAUNCHER, sandbox } from "./_helpers.ts";
import { _setEgressResolverForTests, EgressProxy, MAX_CLIENTS } from "../lib/egress/proxy.ts";
import { validateNetworkPolicy } from "../lib/egress/policy.ts";
import type { NetworkPolicy, SandboxConfig } from "../mod.ts";

const NAMES: Record<string, string[]> = {
  "good.test": ["127.0.0.2"],
  "blocked.test": ["127.0.0.2"],
  "meta.test": ["169.254.169.254"],
  "db.corp.test": ["10.0.0.5"],
};
const testResolve = (host: string) => Promise.resolve(NAMES[host] ?? []);

/** Why the tests that run curl inside cannot run here, or false. */
const NO_CURL = ["/usr/bin/curl", "/bin/curl"].some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  })
  ? false
  : "curl is not installed (Debian: curl; scripts/test.sh installs it)";

/** A test that runs curl inside the sandbox: skipped, with the reason, where there is none. */
function curlTest(
  name: string,
  optionsOrFn: { skip: string | false } | (() => Promise<void>),
  maybeFn?: () => Promise<void>,
): void {
  const [skip, fn] = typeof optionsOrFn === "function"
    ? [false as const, optionsOrFn]
    : [optionsOrFn.skip, maybeFn!];
  kernelTest(name, { skip: NO_CURL || skip }, fn);
}

/** HTTP servers on 127.0.0.2 (two ports) and 127.0.0.3, stopped after fn. */
async function withServers(
  fn: (port: number, port2: number) => Promise<void>,
  body = (addr: string) => `hello from ${addr}\n`,
): Promise<void> {
  const servers: Deno.HttpServer[] = [];
  const start = (hostname: string, port = 0) => {
    const s = Deno.serve({ hostname, port, onListen() {} }, () => new Response(body(hostname)));
    servers.push(s);
    return s.addr.port;
  };
  const port = start("127.0.0.2");
  start("127.0.0.3", port);
  const port2 = start("127.0.0.2");
  _setEgressResolverForTests(testResolve);
  try {
    await fn(port, port2);
  } finally {
    _setEgressResolverForTests(null);
    for (const s of servers) await s.shutdown();
  }
}

function egressSandbox(network: NetworkPolicy, extra: SandboxConfig = {}) {
  return sandbox({ network, timeout: "60s", ...extra });
}

/** `curl` through the proxy: one line per URL, "<http code> <curl exit>". */
function curls(urls: string[], flags = ""): string {
  return urls.map((u) =>
    `c=$(curl -s -o /dev/null -m 10 ${flags} -w '%{http_code}' '${u}'); echo "$c $?"`
  ).join("; ");
}

curlTest(
  "an allowed host is reached; others are refused by name, IP, CIDR and port",
  async () => {
    await withServers(async (port, port2) => {
      const sb = egressSandbox({
        allow: [`good.test:${port}`, "blocked.test", `127.0.0.0/24:${port}`],
        deny: ["blocked.test", "127.0.0.3", "127.0.0.4/30"],
      });
      const r = await sb.run("sh", [
        "-c",
        `curl -sS -m 10 http://good.test:${port}/; ` + curls([
          `http://127.0.0.2:${port}/`, // by address (CIDR allow)
          `http://blocked.test:${port}/`, // deny by name
          `http://127.0.0.3:${port}/`, // deny by IP
          `http://127.0.0.5:${port}/`, // deny by CIDR
          `http://good.test:${port2}/`, // a port not allowed
        ]) + "; " + curls([`http://good.test:${port}/`], "--proxytunnel"),
      ]);
      assertEquals(r.exitCode, 0, r.stderr);
      assertEquals(r.stdout.split("\n"), [
        "hello from 127.0.0.2",
        "200 0",
        "403 0",
        "403 0",
        "403 0",
        "403 0",
        "200 0", // CONNECT tunnel
        "",
      ]);
      const net = r.network!;
      assertEquals(net.allowedCount, 3);
      assertEquals(net.deniedCount, 4);
      assertEquals(net.allowed.map((a) => [a.host, a.method, a.address]), [
        ["good.test", "HTTP", "127.0.0.2"],
        ["127.0.0.2", "HTTP", "127.0.0.2"],
        ["good.test", "CONNECT", "127.0.0.2"],
      ]);
      assertEquals(net.denied.map((d) => [d.host, d.port, d.reason]), [
        ["blocked.test", port, 'denied by "blocked.test"'],
        ["127.0.0.3", port, 'denied by "127.0.0.3"'],
        ["127.0.0.5", port, 'denied by "127.0.0.4/30"'],
        ["good.test", port2, "loopback address; allow it by address to reach it"],
      ]);
      assert(net.bytesIn > 0 && net.bytesOut > 0 && net.connections === 7, JSON.stringify(net));
    });
  },
);

curlTest(
  "an allowed name that resolves to a metadata or private address is refused",
  async () => {
    await withServers(async () => {
      const r = await egressSandbox({ allow: ["meta.test", "*.corp.test"] }).run("sh", [
        "-c",
        curls(["http://meta.test/latest/meta-data/", "http://db.corp.test:5432/"]) + "; " +
        curls(["https://meta.test/"]),
      ]);
      assertEquals(r.exitCode, 0, r.stderr);
      assertEquals(r.stdout, "403 0\n403 0\n000 56\n"); // https: the CONNECT itself is refused
      assertEquals(r.network!.denied.map((d) => [d.address, d.reason.split(";")[0]]), [
        ["169.254.169.254", "link-local address (cloud metadata)"],
        ["10.0.0.5", "private address (RFC 1918)"],
        ["169.254.169.254", "link-local address (cloud metadata)"],
      ]);
    });
  },
);

kernelTest("Deno's fetch inside finds the proxy from the environment alone", async () => {
  await withServers(async (port, port2) => {
    // The Deno running these tests, bound read-only into the sandbox: its fetch reads HTTP_PROXY.
    // The servers are on loopback: allowed by address (the first test shows the refusal).
    const r = await egressSandbox({ allow: [`good.test:${port}`, `127.0.0.2:${port}`] }, {
      mounts: [{ type: "bind", source: Deno.execPath(), target: "/opt/deno", readOnly: true }],
      env: { DENO_DIR: "/tmp/deno", DENO_NO_UPDATE_CHECK: "1" },
    }).run("/opt/deno", [
      "eval",
      `for (const u of ["http://good.test:${port}/", "http://good.test:${port2}/"]) {` +
      ` const r = await fetch(u); const t = (await r.text()).trim();` +
      ` console.log(r.status, r.ok ? t : "refused"); }`,
    ]);
    assertEquals(r.exitCode, 0, r.stderr);
    assertEquals(r.stdout, "200 hello from 127.0.0.2\n403 refused\n");
    assertEquals(r.network!.allowed.length, 1);
  });
});

curlTest("a client that ignores the proxy has no route anywhere", async () => {
  await withServers(async (port) => {
    const r = await egressSandbox({ allow: ["*", "127.0.0.0/8"] }).run("bash", [
      "-c",
      // Allowed through the proxy, but not directly: the host's loopback, a LAN and a public
      // address. The sentinel 77 only if a direct connection got through.
      `curl -s --noproxy '*' -m 5 -o /dev/null http://127.0.0.2:${port}/ && exit 77; ` +
      `for a in 127.0.0.2/${port} 10.0.0.1/80 1.1.1.1/443 169.254.169.254/80; do ` +
      `(exec 3<>/dev/tcp/\${a%/*}/\${a#*/}) 2>/dev/null && exit 77; done; ` +
      `ip route 2>/dev/null | grep -q default && exit 78; ` +
      `curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.2:${port}/`,
    ]);
    assertEquals([r.exitCode, r.stdout], [0, "200"], r.stderr);
  });
});

curlTest(
  "CONNECT to the proxy itself and hostile clients inside are refused; 1,000 connections leak nothing",
  async () => {
    const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
    await withServers(async (port) => {
      const sb = egressSandbox({ allow: [`127.0.0.2:${port}`] });
      // Warm-up run: Deno's first-use resources (the DNS pool, the launcher) are not leaks.
      await sb.run("true");
      const before = fds();
      const rssBefore = Deno.memoryUsage().rss;
      const r = await sb.run("bash", [
        "-c",
        // CONNECT to the proxy's own address inside: loopback, refused.
        `curl -s -o /dev/null -w '%{http_connect}\\n' -p -x http://127.0.0.1:3128 --noproxy '' -m 5 http://127.0.0.1:3128/; ` +
        // 1,000 connections: a request each, half allowed, half refused.
        `ok=0; for i in $(seq 1000); do exec 3<>/dev/tcp/127.0.0.1/3128 || exit 9; ` +
        `if [ $((i % 2)) = 0 ]; then t=127.0.0.2:${port}; else t=127.0.0.9:${port}; fi; ` +
        `printf 'GET http://%s/ HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' $t >&3; read -r line <&3; ` +
        `case "$line" in *200*) ok=$((ok+1));; esac; exec 3<&-; done; echo "ok=$ok"`,
      ]);
      assertEquals(r.stdout, "403\nok=500\n", r.stderr);
      const net = r.network!;
      assertEquals([net.connections, net.allowedCount, net.deniedCount], [1001, 500, 501]);
      assertEquals(net.denied.length, 256); // bounded; the counts are exact
      assertEquals(fds(), before, "file descriptors left open after 1,000 connections");
      const grown = Deno.memoryUsage().rss - rssBefore;
      assert(grown < 64 * 1024 * 1024, `RSS grew by ${grown} bytes`);
    });
  },
);

curlTest("the byte cap cuts the connection and is reported", async () => {
  await withServers(async (port) => {
    const r = await egressSandbox({ allow: [`127.0.0.2:${port}`], maxBytes: "4K" }).run("sh", [
      "-c",
      `curl -s -m 10 http://127.0.0.2:${port}/ | wc -c`,
    ]);
    const net = r.network!;
    assertEquals(net.byteLimitHit, true);
    assert(Number(r.stdout.trim()) < 4096, r.stdout);
    assert(net.bytesIn + net.bytesOut > 4096);
  }, () => "x".repeat(100_000));
});

Deno.test("the proxy survives hostile clients: slowloris, huge headers, garbage", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/p.sock`;
  const proxy = new EgressProxy({
    policy: validateNetworkPolicy({ allow: ["*"] }, "network"),
    path,
    headTimeoutMs: 300,
  });
  const dec = new TextDecoder();
  const talk = async (data: string, wait = true) => {
    const c = await Deno.connect({ transport: "unix", path });
    await c.write(new TextEncoder().encode(data));
    const buf = new Uint8Array(4096);
    let out = "";
    const start = Date.now();
    if (wait) {
      for (let n; (n = await c.read(buf).catch(() => null)) !== null;) {
        out += dec.decode(buf.subarray(0, n));
      }
    }
    c.close();
    return { out, ms: Date.now() - start };
  };
  try {
    // Slowloris: half a request head, then silence — cut after the head timeout.
    const slow = await talk("GET http://example.test/ HTTP/1.1\r\nHost: exa");
    assert(slow.ms < 3000 && slow.out === "", `slowloris held ${slow.ms} ms: ${slow.out}`);
    // A head past the cap: 431, whatever follows.
    const huge = await talk(`GET http://a.test/ HTTP/1.1\r\nX: ${"a".repeat(20_000)}\r\n\r\n`);
    assertMatch(huge.out, /^HTTP\/1\.1 431 /);
    for (
      const junk of [
        "\x00\x01\x02\r\n\r\n",
        "GET /relative HTTP/1.1\r\n\r\n",
        "CONNECT a@b.test:443 HTTP/1.1\r\n\r\n",
        "GET https://x.test/ HTTP/1.1\r\n\r\n",
      ]
    ) {
      assertMatch((await talk(junk)).out, /^HTTP\/1\.1 400 /, JSON.stringify(junk));
    }
    // Still serving after all that.
    assertMatch((await talk("CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n")).out, /^HTTP\/1\.1 403 /);
  } finally {
    const report = await proxy.close();
    Deno.removeSync(dir, { recursive: true });
    assertEquals(report.deniedCount, 1);
  }
});

const registry = await npmRegistry();

/** The configured npm registry's URL, or why the real check cannot run here. */
async function npmRegistry(): Promise<{ url: string; host: string } | string> {
  let url: string;
  try {
    const out = await new Deno.Command("npm", {
      args: ["config", "get", "registry"],
      stderr: "null",
    }).output();
    url = new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "npm is not installed";
  }
  const u = URL.parse(url);
  if (!u || u.protocol !== "https:") return `npm registry "${url}" is not an https URL`;
  const port = Number(u.port || 443);
  try {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 3000);
    const c = await Promise.race([
      Deno.connect({ hostname: u.hostname, port }),
      new Promise<never>((_, rej) =>
        ac.signal.addEventListener("abort", () => rej(new Error("timeout")))
      ),
    ]).finally(() => clearTimeout(t));
    c.close();
  } catch (e) {
    return `npm registry ${u.hostname}:${port} unreachable (${(e as Error).message})`;
  }
  return { url, host: `${u.hostname}:${port}` };
}

curlTest(
  "npm view through the proxy with only the configured registry allowed",
  { skip: typeof registry === "string" ? registry : false },
  async () => {
    const reg = registry as { url: string; host: string };
    const ca = "/etc/ssl/certs/ca-certificates.crt";
    const caEnv: Record<string, string> = {};
    try {
      Deno.statSync(ca);
      caEnv.NODE_EXTRA_CA_CERTS = ca;
      caEnv.npm_config_cafile = ca;
    } catch {
      // the system store only
    }
    const r = await cli(
      "run",
      "--allow-net",
      reg.host,
      "--timeout",
      "90s",
      ...Object.entries({
        ...caEnv,
        npm_config_registry: reg.url,
        npm_config_update_notifier: "false",
      })
        .flatMap(([k, v]) => ["--env", `${k}=${v}`]),
      "--",
      "sh",
      "-c",
      "npm view is-number version && (curl -s -m 10 -o /dev/null -w '%{http_code}' https://example.com/; true)",
    );
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /^\d+\.\d+\.\d+\n000$/);
    assertMatch(r.stderr, /net_denied=example\.com:443/);
  },
);

kernelTest("the CLI refuses a bad --allow-net entry naming the flag", async () => {
  const r = await cli("run", "--allow-net", "http://x", "--", "true");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /Invalid --allow-net entry "http:\/\/x": expected HOST, HOST:PORT/);
  const both = await cli("run", "--net", "host", "--deny-net", "x.test", "--", "true");
  assertMatch(both.stderr, /Conflicting --deny-net and --net/);
});

Deno.test("the proxy caps concurrent clients: one past the cap gets 503, then it serves again", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/p.sock`;
  const proxy = new EgressProxy({ policy: validateNetworkPolicy({ allow: [] }, "network"), path });
  const idle: Deno.UnixConn[] = [];
  const request = async () => {
    const c = await Deno.connect({ transport: "unix", path });
    await c.write(new TextEncoder().encode("CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n"));
    const out = await new Response(c.readable).text();
    return out.split("\r\n")[0];
  };
  try {
    for (let i = 0; i < MAX_CLIENTS; i++) {
      idle.push(await Deno.connect({ transport: "unix", path }));
    }
    // Let the proxy accept them all: each holds a slot while it waits for its head.
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(await request(), "HTTP/1.1 503 Service Unavailable");
    for (const c of idle.splice(0)) c.close();
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(await request(), "HTTP/1.1 403 Forbidden");
  } finally {
    for (const c of idle) c.close();
    await proxy.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

kernelTest(
  "a CONNECT tunnel carries 1 MiB each way and passes half-close through the relay",
  async () => {
    // The server answers only after the client's end of file: a lost half-close hangs the run.
    const server = Deno.listen({ hostname: "127.0.0.2", port: 0 });
    const port2 = (server.addr as Deno.NetAddr).port;
    const serving = (async () => {
      const conn = await server.accept();
      const buf = new Uint8Array(65536);
      let n = 0;
      for (let r; (r = await conn.read(buf)) !== null;) n += r;
      const reply = new Uint8Array(1 << 20).fill(98);
      await conn.write(new TextEncoder().encode(`got:${n}\n`));
      for (let off = 0; off < reply.length;) off += await conn.write(reply.subarray(off));
      conn.close();
    })();
    try {
      const script = [
        "import socket",
        "s = socket.create_connection(('127.0.0.1', 3128))",
        `s.sendall(b'CONNECT 127.0.0.2:${port2} HTTP/1.1\\r\\n\\r\\n')`,
        "head = b''",
        "while not head.endswith(b'\\r\\n\\r\\n'): head += s.recv(1)",
        "s.sendall(b'a' * (1 << 20))",
        "s.shutdown(socket.SHUT_WR)",
        "data = b''",
        "while True:",
        "    d = s.recv(65536)",
        "    if not d: break",
        "    data += d",
        "print(head.split(b'\\r\\n')[0].decode(), data[:data.index(b'\\n')].decode(), len(data))",
      ].join("\n");
      const r = await egressSandbox({ allow: [`127.0.0.2:${port2}`] }, { timeout: "30s" })
        .run("python3", ["-c", script]);
      assertEquals(
        r.stdout,
        `HTTP/1.1 200 Connection established got:1048576 ${(1 << 20) + 12}\n`,
        r.stderr,
      );
      assertEquals([r.network!.bytesOut, r.network!.bytesIn], [1 << 20, (1 << 20) + 12]);
    } finally {
      server.close();
      await serving.catch(() => {});
    }
  },
);

kernelTest(
  "the launcher's egress op fails closed on a bad port, path or a missing loopback",
  async () => {
    const dir = Deno.makeTempDirSync();
    const base = ["status", `${dir}/status`, "unshare", "user", "unshare", "net"];
    const cases: [string[], RegExp][] = [
      [["loopback", "egress", "0", `${dir}/s`], /egress port must be 1\.\.65535: op "egress"/],
      [["loopback", "egress", "65536", `${dir}/s`], /egress port must be/],
      [["loopback", "egress", "3128", "rel/s"], /egress socket must be an absolute path/],
      [["loopback", "egress", "3128", `/${"x".repeat(120)}`], /under 108 bytes/],
      [["egress", "3128", `${dir}/s`], /egress needs: op "loopback"/],
    ];
    try {
      for (const [ops, want] of cases) {
        const out = await new Deno.Command(LAUNCHER, {
          args: [...base, ...ops, "exec", "/bin/true"],
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).output();
        assertEquals(out.code, 125, ops.join(" "));
        assertMatch(new TextDecoder().decode(out.stderr), want);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

curlTest("the CLI summary names denied hosts, and --json carries result.network", async () => {
  const r = await cli(
    "run",
    "--allow-net",
    "127.0.0.2",
    "--json",
    "--",
    "sh",
    "-c",
    "curl -s -m 5 -o /dev/null http://10.1.2.3/; curl -s -m 5 -o /dev/null http://127.0.0.7:81/; true",
  );
  assertEquals(r.code, 0, r.stderr);
  assertMatch(
    r.stderr,
    /\| net_bytes_out=\d+ \| net_bytes_in=\d+ \| net_denied=10\.1\.2\.3:80,127\.0\.0\.7:81$/m,
  );
  const json = JSON.parse(r.stderr.trim().split("\n").at(-1)!);
  assertEquals(
    json.network.denied.map((
      d: { host: string; reason: string },
    ) => [d.host, d.reason.split(";")[0]]),
    [["10.1.2.3", "private address (RFC 1918)"], ["127.0.0.7", "loopback address"]],
  );
});

curlTest("a session's commands reach the allow-list through the session's proxy", async () => {
  await withServers(async (port, port2) => {
    // The servers are on loopback: allowed by address too.
    await using session = await egressSandbox({ allow: [`good.test:${port}`, `127.0.0.2:${port}`] })
      .session();
    // The proxy variables go over a command's own env, as in a run.
    const r = await session.run("sh", [
      "-c",
      curls([`http://good.test:${port}/`, `http://good.test:${port2}/`]),
    ], { env: { http_proxy: "", HTTP_PROXY: "" } });
    assertEquals(r.stdout, "200 0\n403 0\n", r.stderr);
    const end = await session.close();
    assertEquals(end.result?.network?.allowedCount, 1);
    assertEquals(end.result?.network?.deniedCount, 1);
  });
});
