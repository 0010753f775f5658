/**
 * `sandbox session start|exec|cp|stop|list`: sessions a shell script can use. A session is held
 * by a small daemon (this CLI, `session serve`) that owns the `SandboxSession` and listens on a
 * unix socket named after the session's id in the user's private state directory
 * (`$XDG_RUNTIME_DIR/sandbox-ts/sessions`, else `/tmp/sandbox-ts-UID/sessions`; 0700, owned by
 * the user, checked on every use: a directory someone else made or a symlink is refused). Only
 * that user (and root) can reach the socket, so a session is owned by the user who started it.
 * The daemon dies with the session (`stop`, idle timeout, lifetime); the session dies with the
 * daemon.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { SandboxBuilder } from "./builder.ts";
import { parseArgs, UsageError } from "./cli_args.ts";
import { buildConfig, nameFlags, RUN_SPECS } from "./cli_config.ts";
import { prepareLauncher } from "./launcher.ts";
import { exitCodeFor } from "./status.ts";
import type { SandboxSession } from "./session.ts";
import type { SandboxConfig } from "./types.ts";

const encodeBase64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const decodeBase64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** `sandbox help session`. */
export const SESSION_HELP = `Usage: sandbox session COMMAND ...

A session is one sandbox that stays up: many commands, files in and out, one cgroup.

  start [RUN OPTIONS] [--idle-timeout D] [--lifetime D]
        start a session with the options of "sandbox run" (memory, pids, seccomp, binds, ...);
        prints its id (16 hex digits). It ends after --idle-timeout with no command running
        (default 30m), after --lifetime, or on "stop".
  exec [--cwd DIR] [--env K=V]... [--timeout D] [--stdin] [--json] ID [--] PROGRAM [ARGS...]
        run a command in the session; its output passes through, the CLI exits with its code
        (124 timeout, 128+N signal N). --stdin sends this process's stdin as its input.
  cp ID:/PATH HOSTPATH | HOSTPATH ID:/PATH
        copy a file or tree out of (HOSTPATH must not exist) or into the session. Paths inside
        are resolved inside the sandbox; symlinks are skipped, never followed.
  stop ID
        end the session: every process in it is killed, nothing is left behind.
  list
        the ids of this user's running sessions.

Sessions belong to the user who started them: each is reached through a unix socket in
$XDG_RUNTIME_DIR/sandbox-ts/sessions (else /tmp/sandbox-ts-UID/sessions), a 0700 directory of
that user; a directory there of anyone else, or a symlink, is refused.

Example:
  id=$(sandbox session start --memory 512M)
  sandbox session exec "$id" -- sh -c 'echo "print(42)" > /tmp/m.py'
  sandbox session exec "$id" -- python3 /tmp/m.py
  sandbox session cp "$id":/tmp/m.py ./m.py
  sandbox session stop "$id"`;

/** The idle timeout of a CLI session unless `--idle-timeout` says otherwise. */
export const CLI_IDLE_TIMEOUT = "30m";
const ID = /^[0-9a-f]{16}$/;

/** The user's private session directory, made 0700 when missing; refused if anyone else's. */
export function sessionDir(create: boolean): string {
  const uid = Deno.uid() ?? 0;
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  const base = runtime ? `${runtime}/sandbox-ts` : `/tmp/sandbox-ts-${uid}`;
  const dir = `${base}/sessions`;
  for (const d of [base, dir]) {
    if (create) {
      try {
        Deno.mkdirSync(d, { mode: 0o700 });
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    }
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(d);
    } catch (e) {
      if (!create && e instanceof Deno.errors.NotFound) return dir;
      throw e;
    }
    if (!st.isDirectory || st.uid !== uid || ((st.mode ?? 0) & 0o077) !== 0) {
      throw new Error(
        `Refusing the session directory "${d}": it must be a directory of uid ${uid} with mode 0700 (not a symlink); remove it if it is not yours`,
      );
    }
  }
  return dir;
}

function socketPath(id: string): string {
  if (!ID.test(id)) {
    throw new UsageError(
      `Invalid session id "${id}": expected 16 hex digits (from "session start")`,
    );
  }
  return `${sessionDir(false)}/${id}.sock`;
}

/** One request to a session's daemon; the replies as they come (JSON lines). */
async function* ask(
  id: string,
  request: Record<string, unknown>,
): AsyncGenerator<Record<string, unknown>> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath(id) });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new Error(`No session "${id}" of this user is running (${(e as Error).message})`);
  }
  await conn.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
  let rest = "";
  for await (const text of conn.readable.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const l of lines) if (l) yield JSON.parse(l);
  }
}

async function cmdStart(argv: string[]): Promise<number> {
  const specs = {
    ...RUN_SPECS,
    "idle-timeout": { value: true },
    lifetime: { value: true },
  };
  const p = parseArgs(argv, specs, { stopAtPositional: false });
  if (p.positionals.length) throw new UsageError(`Unexpected argument "${p.positionals[0]}"`);
  await prepareLauncher(p.options.get("launcher")?.[0], { onBuild: (l) => console.error(l) });
  const config = buildConfig(p);
  // Validated here, where the flags can be named; the daemon builds the same again.
  try {
    new SandboxBuilder(config.id ?? "session", config).build();
  } catch (e) {
    const message = nameFlags((e as Error).message, p, 0);
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(message);
    throw e;
  }
  sessionDir(true);
  const request = {
    config,
    launcher: p.options.get("launcher")?.[0] ?? null,
    idleTimeout: p.options.get("idle-timeout")?.[0] ?? CLI_IDLE_TIMEOUT,
    lifetime: p.options.get("lifetime")?.[0] ?? null,
  };
  const daemon = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("../cli.ts", import.meta.url).pathname,
      "session",
      "serve",
    ],
    stdin: "piped",
    stdout: "piped",
    // Nothing of the caller's: a daemon holding its stderr would hang "$(... 2>&1)".
    stderr: "null",
  }).spawn();
  const w = daemon.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(request)));
  await w.close();
  // The daemon's first line: "ready ID" or its error. (Its stdout stays open: Deno holds a copy.)
  let line = "";
  const reader = daemon.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!line.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    line += r.value;
  }
  line = line.split("\n")[0]!.trim();
  reader.cancel().catch(() => {});
  daemon.unref();
  const m = /^ready ([0-9a-f]{16})$/.exec(line);
  if (!m) {
    console.error(`sandbox: the session did not start: ${line || "no answer"}`);
    return 125;
  }
  console.log(m[1]);
  return 0;
}

/** `session serve`: the daemon. Reads its request on stdin, answers "ready ID" on stdout. */
async function cmdServe(): Promise<number> {
  const out = Deno.stdout.writable.getWriter();
  const say = async (s: string) => {
    await out.write(new TextEncoder().encode(s + "\n"));
    await out.close();
  };
  let session: SandboxSession;
  let sock: string;
  let listener: Deno.Listener;
  try {
    const req = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
      config: SandboxConfig;
      launcher: string | null;
      idleTimeout: string;
      lifetime: string | null;
    };
    let builder = new SandboxBuilder(req.config.id ?? "session", req.config);
    if (req.launcher) builder = builder.launcherPath(req.launcher);
    session = await builder.build().session({
      idleTimeout: req.idleTimeout,
      ...(req.lifetime ? { lifetime: req.lifetime } : {}),
    });
    sock = `${sessionDir(true)}/${session.id}.sock`;
    listener = Deno.listen({ transport: "unix", path: sock });
    Deno.chmodSync(sock, 0o600);
  } catch (e) {
    await say(`error: ${(e as Error).message}`);
    return 125;
  }
  // Detached from the terminal that started it: its hangup and Ctrl-C are not ours.
  for (const s of ["SIGHUP", "SIGINT"] as const) Deno.addSignalListener(s, () => {});
  await say(`ready ${session.id}`);
  session.closed.then(() => {
    try {
      listener.close();
    } catch {
      // closed already
    }
  });
  try {
    for await (const conn of listener) serveOne(session, conn as Deno.UnixConn).catch(() => {});
  } catch {
    // the listener was closed: the session ended
  }
  await session.close();
  try {
    Deno.removeSync(sock);
  } catch {
    // gone already
  }
  return 0;
}

async function serveOne(session: SandboxSession, conn: Deno.UnixConn): Promise<void> {
  const enc = new TextEncoder();
  const send = (o: unknown) => conn.write(enc.encode(JSON.stringify(o) + "\n"));
  try {
    let text = "";
    const buf = new Uint8Array(65536);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (text.includes("\n")) break;
      if (text.length > 128 * 1024 * 1024) throw new Error("Request too large");
    }
    const req = JSON.parse(text.slice(0, text.indexOf("\n")));
    if (req.op === "exec") {
      const child = session.spawn(req.program, req.args ?? [], {
        ...(req.cwd ? { cwd: req.cwd } : {}),
        ...(req.env ? { env: req.env } : {}),
        ...(req.timeout ? { timeout: req.timeout } : {}),
        ...(req.input !== undefined ? { input: decodeBase64(req.input) } : {}),
      });
      let writes = Promise.resolve();
      for await (const c of child.output()) {
        writes = writes.then(() => send({ [c.stream]: encodeBase64(c.data) }).then(() => {}));
      }
      await writes;
      await send({ result: await child.status });
    } else if (req.op === "upload") {
      await session.fs.upload(req.hostPath, req.sandboxPath);
      await send({ result: { ok: true } });
    } else if (req.op === "download") {
      await send({ result: await session.fs.download(req.sandboxPath, req.hostPath) });
    } else if (req.op === "stop") {
      const end = await session.close();
      await send({ result: { reason: end.reason } });
    } else {
      throw new Error(`Unknown request "${req.op}"`);
    }
  } catch (e) {
    await send({ error: (e as Error).message }).catch(() => {});
  } finally {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

async function cmdExec(argv: string[]): Promise<number> {
  const specs = {
    cwd: { value: true },
    env: { value: true, multiple: true },
    timeout: { value: true },
    stdin: {},
    json: {},
  };
  const p = parseArgs(argv, specs, { stopAtPositional: true });
  const [id, ...command] = p.positionals;
  // Options stop at ID; a "--" after it only separates the program.
  if (command[0] === "--") command.shift();
  const [program, ...args] = command;
  if (!id || !program) {
    throw new UsageError(
      "Missing ID or PROGRAM: sandbox session exec [OPTIONS] ID [--] PROGRAM [ARGS...]",
    );
  }
  const env: Record<string, string> = {};
  for (const kv of p.options.get("env") ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new UsageError(`Invalid --env "${kv}": expected KEY=VALUE`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const input = p.options.has("stdin")
    ? encodeBase64(new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()))
    : undefined;
  const request = {
    op: "exec",
    program,
    args,
    ...(p.options.get("cwd") ? { cwd: p.options.get("cwd")![0] } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(p.options.get("timeout") ? { timeout: p.options.get("timeout")![0] } : {}),
    ...(input !== undefined ? { input } : {}),
  };
  for await (const r of ask(id, request)) {
    if (typeof r.stdout === "string") await Deno.stdout.write(decodeBase64(r.stdout));
    else if (typeof r.stderr === "string") await Deno.stderr.write(decodeBase64(r.stderr));
    else if (r.error) {
      console.error(`sandbox: ${r.error}`);
      return 125;
    } else if (r.result) {
      if (p.options.has("json")) console.error(JSON.stringify(r.result));
      return exitCodeFor(r.result as Parameters<typeof exitCodeFor>[0]);
    }
  }
  console.error(`sandbox: session "${id}" ended before the command did`);
  return 125;
}

async function cmdCp(argv: string[]): Promise<number> {
  const p = parseArgs(argv, {}, { stopAtPositional: false });
  const [src, dst, extra] = p.positionals;
  if (!src || !dst || extra !== undefined) {
    throw new UsageError("Usage: sandbox session cp ID:/PATH HOSTPATH | HOSTPATH ID:/PATH");
  }
  const remote = (s: string) => /^([0-9a-f]{16}):(\/.*)$/.exec(s);
  const from = remote(src), to = remote(dst);
  if (!!from === !!to) {
    throw new UsageError(
      `Exactly one side of cp must be ID:/PATH inside a session ("${src}", "${dst}")`,
    );
  }
  const abs = (h: string) => h.startsWith("/") ? h : `${Deno.cwd()}/${h}`;
  const [id, request] = from
    ? [from[1]!, { op: "download", sandboxPath: from[2], hostPath: abs(dst) }]
    : [to![1]!, { op: "upload", sandboxPath: to![2], hostPath: abs(src) }];
  for await (const r of ask(id, request)) {
    if (r.error) {
      console.error(`sandbox: ${r.error}`);
      return 1;
    }
    if (r.result) return 0;
  }
  return 1;
}

async function cmdStop(argv: string[]): Promise<number> {
  const p = parseArgs(argv, {}, { stopAtPositional: false });
  const [id, extra] = p.positionals;
  if (!id || extra !== undefined) throw new UsageError("Usage: sandbox session stop ID");
  for await (const r of ask(id, { op: "stop" })) {
    if (r.error) {
      console.error(`sandbox: ${r.error}`);
      return 1;
    }
    if (r.result) return 0;
  }
  return 0;
}

function cmdList(): number {
  const dir = sessionDir(false);
  try {
    for (const e of Deno.readDirSync(dir)) {
      const m = /^([0-9a-f]{16})\.sock$/.exec(e.name);
      if (m) console.log(m[1]);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return 0;
}

/** `sandbox session SUBCOMMAND ...`; returns the exit code. */
export async function cmdSession(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (
    sub === undefined || sub === "-h" || sub === "--help" ||
    rest.includes("--help") && sub !== "exec"
  ) {
    console.log(SESSION_HELP);
    return 0;
  }
  switch (sub) {
    case "start":
      return await cmdStart(rest);
    case "serve":
      return await cmdServe();
    case "exec":
      return await cmdExec(rest);
    case "cp":
      return await cmdCp(rest);
    case "stop":
      return await cmdStop(rest);
    case "list":
      return cmdList();
    default:
      throw new UsageError(
        `Unknown session command "${sub}": expected start, exec, cp, stop or list`,
      );
  }
}
