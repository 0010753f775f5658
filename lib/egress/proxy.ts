/**
 * The egress filtering proxy of one run: an HTTP proxy (CONNECT tunnels and plain absolute-form
 * requests) on a unix socket in the run's private state dir, which the launcher's relay connects
 * every connection made inside the sandbox to (`launcher/egress.c`). It resolves names itself,
 * checks every resolved address (`policy.ts`), connects to the exact address it checked (no
 * second resolution: DNS rebinding), and records every attempt (`report.ts`).
 *
 * Hostile clients: the request head is capped in size and time (slowloris), concurrent clients
 * are capped, and every connection is closed on every path.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { rethrowPermission } from "../_host.ts";
import { decideEgress, formatIp, parseIp } from "./policy.ts";
import { EgressLog } from "./report.ts";
import type { EgressRecord, NetworkReport, ResolvedEgress } from "../types.ts";

/** Resolves a host name to its addresses. */
export type Resolver = (host: string) => Promise<string[]>;

/** The largest request head (request line and headers) accepted. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** How long a client has to send its request head. */
export const HEAD_TIMEOUT_MS = 10_000;
/** How long connecting to a destination may take. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long, and how many bytes, a refused client's input is drained before closing. */
const LINGER_MS = 1000;
const LINGER_BYTES = 64 * 1024;
/** Clients served at once; more get 503. */
export const MAX_CLIENTS = 128;

/** Options of {@linkcode EgressProxy}. */
export interface EgressProxyOptions {
  /** The validated policy. */
  policy: ResolvedEgress;
  /** The unix socket path to listen on (in a private directory). */
  path: string;
  /**
   * @internal Test-only: resolves names instead of the system resolver (maps test names to
   * 127.0.0.x). Not part of the public API.
   */
  resolve?: Resolver;
  /** @internal Test-only: the request-head timeout. */
  headTimeoutMs?: number;
}

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address. */
const systemResolve: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

let testResolver: Resolver | null = null;

/**
 * @internal Test-only resolver hook, not part of the public API (mod.ts does not export it):
 * every proxy started afterwards resolves names with `resolve` (null: the system resolver again).
 * Tests map names to 127.0.0.x with it.
 */
export function _setEgressResolverForTests(resolve: Resolver | null): void {
  testResolver = resolve;
}

/** The host's own addresses (refused unless allowed by address), canonical form. */
function ownAddresses(): Set<string> {
  const out = new Set<string>();
  try {
    for (const i of Deno.networkInterfaces()) {
      const b = parseIp(i.address.replace(/%.*$/, ""));
      if (b) out.add(formatIp(b));
    }
  } catch {
    // no --allow-sys: loopback and private ranges are still refused by class
  }
  return out;
}

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const NAME =
  /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

function closeQuietly(conn: Deno.Conn | null): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}

/** A parsed request: where to, and what to send there first. */
interface Request {
  method: "CONNECT" | "HTTP";
  host: string;
  port: number;
  /** For HTTP: the head rewritten to origin form with `Connection: close`. */
  head: Uint8Array | null;
}

/** Parses `host[:port]`; null when malformed. */
function parseAuthority(
  text: string,
  defaultPort: number | null,
): { host: string; port: number } | null {
  const m = AUTHORITY.exec(text);
  if (!m) return null;
  const portText = m[2];
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port === null || port < 1 || port > 65535) return null;
  let host = m[1]!.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[")) {
    const b = parseIp(host.slice(1, -1));
    if (!b || b.length !== 16) return null;
    host = formatIp(b);
  } else if (parseIp(host)) {
    host = formatIp(parseIp(host)!);
  } else if (!NAME.test(host)) {
    return null;
  }
  return { host, port };
}

const HOP_BY_HOP = new Set(["proxy-connection", "proxy-authorization", "connection", "keep-alive"]);

/** Parses a request head; a string is the status line of the refusal. */
function parseRequest(head: string): Request | string {
  const lines = head.split("\r\n");
  const m = /^([A-Z]{1,16}) (\S{1,8192}) (HTTP\/1\.[01])$/.exec(lines[0] ?? "");
  if (!m) return "400 Bad Request";
  const [, method, target, version] = m;
  if (method === "CONNECT") {
    const a = parseAuthority(target!, null);
    return a ? { method: "CONNECT", ...a, head: null } : "400 Bad Request";
  }
  const u = /^http:\/\/([^/?#]*)([/?][^#]*)?$/i.exec(target!);
  if (!u) return "400 Bad Request";
  const a = parseAuthority(u[1]!, 80);
  if (!a) return "400 Bad Request";
  let out = `${method} ${u[2] ?? "/"} ${version}\r\n`;
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const name = line.slice(0, line.indexOf(":")).trim().toLowerCase();
    if (!HOP_BY_HOP.has(name)) out += `${line}\r\n`;
  }
  out += "Connection: close\r\n\r\n";
  return { method: "HTTP", ...a, head: enc.encode(out) };
}

function indexOfHeadEnd(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

/**
 * One run's egress proxy. Listens at once; `close()` stops it, closes every connection and
 * returns the report.
 */
export class EgressProxy {
  #listener: Deno.Listener;
  #policy: ResolvedEgress;
  #resolve: Resolver;
  #headTimeoutMs: number;
  #own = ownAddresses();
  #log = new EgressLog();
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #clients = 0;
  #accepting: Promise<void>;

  /** Listens on `options.path` (synchronously: the socket exists when this returns). */
  constructor(options: EgressProxyOptions) {
    this.#policy = options.policy;
    this.#resolve = options.resolve ?? testResolver ?? systemResolve;
    this.#headTimeoutMs = options.headTimeoutMs ?? HEAD_TIMEOUT_MS;
    try {
      this.#listener = Deno.listen({ transport: "unix", path: options.path });
    } catch (e) {
      // Deno asks for --allow-net even for a unix socket (and the proxy connects out anyway).
      rethrowPermission(e, options.path, "for the egress proxy of a run with an allow-list");
      throw e;
    }
    this.#accepting = this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      this.#log.connection();
      const task = this.#serve(conn).catch(() => {}).finally(() => this.#tasks.delete(task));
      this.#tasks.add(task);
    }
  }

  #track(conn: Deno.Conn): void {
    this.#conns.add(conn);
  }

  #drop(conn: Deno.Conn | null): void {
    if (!conn) return;
    this.#conns.delete(conn);
    closeQuietly(conn);
  }

  async #serve(client: Deno.Conn): Promise<void> {
    this.#track(client);
    this.#clients++;
    let upstream: Deno.Conn | null = null;
    try {
      if (this.#clients > MAX_CLIENTS) {
        await this.#refuse(client, "503 Service Unavailable", "too many connections");
        return;
      }
      const got = await this.#readHead(client);
      if (typeof got === "string") {
        if (got) await this.#refuse(client, got, "bad request");
        return;
      }
      const req = parseRequest(latin1.decode(got.head));
      if (typeof req === "string") {
        await this.#refuse(client, req, "expected CONNECT host:port or an http:// absolute URL");
        return;
      }
      upstream = await this.#open(client, req);
      if (!upstream) return;
      this.#track(upstream);
      if (req.method === "CONNECT") {
        await writeAll(client, enc.encode("HTTP/1.1 200 Connection established\r\n\r\n"));
      } else {
        const head = req.head!;
        this.#log.bytes("out", head.length);
        await writeAll(upstream, head);
      }
      if (got.rest.length) {
        this.#log.bytes("out", got.rest.length);
        await writeAll(upstream, got.rest);
      }
      await this.#relay(client, upstream);
    } finally {
      this.#clients--;
      this.#drop(upstream);
      this.#drop(client);
    }
  }

  /** The head and what followed it, or a refusal status ("" for a client that went away). */
  async #readHead(client: Deno.Conn): Promise<{ head: Uint8Array; rest: Uint8Array } | string> {
    const buf = new Uint8Array(MAX_HEAD_BYTES);
    let len = 0;
    const timer = setTimeout(() => {
      closeQuietly(client);
    }, this.#headTimeoutMs);
    try {
      while (len < buf.length) {
        const n = await client.read(buf.subarray(len));
        if (n === null) return "";
        const searchFrom = Math.max(0, len - 3);
        len += n;
        const end = indexOfHeadEnd(buf.subarray(searchFrom, len), len - searchFrom);
        if (end >= 0) {
          const at = searchFrom + end;
          return { head: buf.slice(0, at - 4), rest: buf.slice(at, len) };
        }
      }
      return "431 Request Header Fields Too Large";
    } catch {
      return ""; // cut by the head timeout (slowloris), or the client reset
    } finally {
      clearTimeout(timer);
    }
  }

  async #refuse(client: Deno.Conn, status: string, body: string): Promise<void> {
    const text = `${body}\n`;
    const msg = `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${
      enc.encode(text).length
    }\r\nConnection: close\r\nX-Sandbox-Egress: denied\r\n\r\n${text}`;
    await writeAll(client, enc.encode(msg)).catch(() => {});
    await lingeringClose(client);
  }

  /** Resolves, decides, records, connects; null (the client answered) when refused. */
  async #open(client: Deno.Conn, req: Request): Promise<Deno.Conn | null> {
    const record = (r: Omit<EgressRecord, "host" | "port" | "method">): EgressRecord => ({
      host: req.host,
      port: req.port,
      method: req.method,
      ...r,
    });
    let addresses: string[];
    if (parseIp(req.host)) {
      addresses = [req.host];
    } else {
      try {
        addresses = (await this.#resolve(req.host)).map((a) => {
          const b = parseIp(a);
          return b ? formatIp(b) : a;
        });
      } catch {
        addresses = [];
      }
    }
    const verdict = decideEgress(this.#policy, {
      host: req.host,
      port: req.port,
      addresses,
      ownAddresses: this.#own,
    });
    if (!verdict.allowed) {
      this.#log.add(false, record({ address: verdict.address, reason: verdict.reason }));
      await this.#refuse(
        client,
        "403 Forbidden",
        `sandbox egress: ${req.host}:${req.port} denied: ${verdict.reason}`,
      );
      return null;
    }
    // Every address passed the check: the first of them that answers is used (a host without
    // IPv6 still reaches a name that has both), never one that was not checked; at most four
    // are tried, so a long answer cannot hold a client for minutes.
    let error = "";
    for (const address of addresses.slice(0, 4)) {
      try {
        const conn = await connectWithTimeout(address, req.port);
        this.#log.add(true, record({ address, reason: verdict.reason }));
        return conn;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
    }
    this.#log.add(true, record({ address: verdict.address, reason: verdict.reason, error }));
    await this.#refuse(
      client,
      "502 Bad Gateway",
      `sandbox egress: ${req.host}:${req.port}: ${error}`,
    );
    return null;
  }

  /** Both directions, each passing its end of file on; the byte cap cuts both. */
  async #relay(client: Deno.Conn, upstream: Deno.Conn): Promise<void> {
    const max = this.#policy.maxBytes;
    const cut = () => {
      closeQuietly(client);
      closeQuietly(upstream);
    };
    const pump = async (src: Deno.Conn, dst: Deno.Conn, dir: "in" | "out") => {
      const buf = new Uint8Array(32 * 1024);
      try {
        for (;;) {
          const n = await src.read(buf);
          if (n === null) break;
          const total = this.#log.bytes(dir, n);
          if (max !== null && total > max) {
            this.#log.limitHit();
            cut();
            return;
          }
          await writeAll(dst, buf.subarray(0, n));
        }
        await dst.closeWrite();
      } catch {
        cut();
      }
    };
    await Promise.all([pump(client, upstream, "out"), pump(upstream, client, "in")]);
  }

  /** Stops listening, cuts every connection, and returns the run's report. */
  async close(): Promise<NetworkReport> {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    for (const c of this.#conns) closeQuietly(c);
    this.#conns.clear();
    await Promise.allSettled([...this.#tasks]);
    return this.#log.snapshot();
  }
}

/**
 * After a refusal: our side shut, then what the client still sends is read and dropped (at most
 * LINGER_BYTES, for at most LINGER_MS), so that closing with unread input does not reset the
 * connection before the client read the answer.
 */
async function lingeringClose(conn: Deno.Conn): Promise<void> {
  const timer = setTimeout(() => closeQuietly(conn), LINGER_MS);
  try {
    await conn.closeWrite();
    const buf = new Uint8Array(16 * 1024);
    for (let total = 0; total < LINGER_BYTES;) {
      const n = await conn.read(buf);
      if (n === null) break;
      total += n;
    }
  } catch {
    // closed by the timer, or by the client
  } finally {
    clearTimeout(timer);
  }
}

async function connectWithTimeout(hostname: string, port: number): Promise<Deno.Conn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Deno.connect({ hostname, port });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("connection timed out")), CONNECT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (e) {
    // A connection that completes after the timeout is closed, not leaked.
    pending.then((c) => c.close(), () => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
