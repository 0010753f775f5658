// session.exposeHttp / exposeTcp: a server started in the background inside a session, reached
// from the host through the agent's relay, while the session's network stays "none" otherwise.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { kernelTest, reachesHostListener, sandbox } from "./_helpers.ts";

/** Fetches `url` until the server inside answers (it starts in the background). */
async function fetchWhenUp(url: string): Promise<Response> {
  for (let i = 0;; i++) {
    try {
      return await fetch(url);
    } catch (e) {
      if (i >= 200) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

kernelTest("session: a background server reached through exposeHttp", async () => {
  await using session = await sandbox({ id: "http" }).session();
  const body = "x".repeat(300_000); // more than one frame
  await session.fs.writeTextFile("/tmp/www/index.html", body).catch(async () => {
    await session.fs.mkdir("/tmp/www");
    await session.fs.writeTextFile("/tmp/www/index.html", body);
  });
  // The command that starts the server returns at once; the server stays.
  const start = await session
    .sh`cd /tmp/www && python3 -m http.server 8123 -b 127.0.0.1 >/dev/null 2>&1 &`;
  assertEquals(start.exitCode, 0);
  const url = await session.exposeHttp({ port: 8123 });
  assert(url.startsWith("http://127.0.0.1:"), url);
  const res = await fetchWhenUp(`${url}/index.html`);
  assertEquals(res.status, 200);
  assertEquals(await res.text(), body);
  // A request with a body goes in (the server answers 501 to POST, after reading the request).
  const post = await fetch(`${url}/`, { method: "POST", body: "y".repeat(100_000) });
  assertEquals(post.status, 501);
  await post.body?.cancel();
  // The network is still "none" for everything else.
  assertEquals(await reachesHostListener(), false);
});

kernelTest("session: exposeTcp relays both ways; closing the session closes the port", async () => {
  const session = await sandbox({ id: "tcp" }).session();
  // An upper-casing echo server on 127.0.0.1:9000 inside.
  session.spawn("python3", [
    "-c",
    `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9000)); s.listen()
while True:
    c, _ = s.accept()
    data = b""
    while True:
        d = c.recv(65536)
        if not d: break
        data += d
    c.sendall(data.upper()); c.close()
`,
  ]);
  const addr = await session.exposeTcp(9000);
  let conn: Deno.TcpConn | undefined;
  for (let i = 0; i < 200; i++) {
    conn = await Deno.connect(addr);
    await conn.write(new TextEncoder().encode("hello"));
    await conn.closeWrite();
    const got = await new Response(conn.readable).text();
    if (got === "HELLO") break;
    conn = undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert(conn, "no answer from the port");
  // A port nothing listens on: the connection is closed at once.
  const none = await session.exposeTcp(9999);
  const c2 = await Deno.connect(none);
  assertEquals(await new Response(c2.readable).text(), "");
  await session.close();
  await assertRejects(() => Deno.connect(addr), Error);
  await assertRejects(() => session.exposeTcp(9000), Error);
  await assertRejects(() => session.exposeTcp(0), RangeError);
});
