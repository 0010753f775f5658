/**
 * {@linkcode SessionFs}: files inside a session, mirroring Deno's fs API. Every path is resolved
 * inside the sandbox by the session's agent — the sandbox user, under the session's Landlock, in
 * its mount namespace and root — never by the host: a symlink planted by the sandboxed code leads
 * only where that code could go itself (Judge0 CVE-2024-28185/28189 was a host-side write
 * through such a link). Sizes are bounded; errors name the path.
 *
 * @module
 */

import { errnoName } from "./errno.ts";
import type { SessionChannel } from "./session_channel.ts";
import { CHUNK, FRAME, splitTokens } from "./session_wire.ts";

/** The default bound of `readFile` and of each file of `download`: 64 MiB. */
export const DEFAULT_MAX_FILE = 64 * 1024 * 1024;

/**
 * What `session.fs.stat()` and `lstat()` return (a subset of `Deno.FileInfo`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "../mod.ts";
 *
 * await using session = await new SandboxBuilder("stat").build().session();
 * await session.fs.writeTextFile("/tmp/a", "abc");
 * const info = await session.fs.stat("/tmp/a");
 * assert.equal(info.isFile, true);
 * assert.equal(info.size, 3);
 * ```
 */
export interface SessionFileInfo {
  /** A regular file. */
  isFile: boolean;
  /** A directory. */
  isDirectory: boolean;
  /** A symlink (only from `lstat`). */
  isSymlink: boolean;
  /** Size in bytes. */
  size: number;
  /** Permission bits (`0o644`). */
  mode: number;
  /** Last modification. */
  mtime: Date;
  /** Owner uid as seen inside the sandbox. */
  uid: number;
  /** Owner gid as seen inside the sandbox. */
  gid: number;
}

/** One entry of `session.fs.readDir()` (the shape of `Deno.DirEntry`). */
export interface SessionDirEntry {
  /** The entry's name. */
  name: string;
  /** A regular file. */
  isFile: boolean;
  /** A directory. */
  isDirectory: boolean;
  /** A symlink (not followed). */
  isSymlink: boolean;
}

/** What `download()` did. */
export interface DownloadReport {
  /** Files written on the host. */
  files: number;
  /** Bytes written on the host. */
  bytes: number;
  /** Sandbox paths skipped: symlinks and special files are never followed or copied. */
  skipped: string[];
}

const CODES: Record<string, new (message: string) => Error> = {
  ENOENT: Deno.errors.NotFound,
  EEXIST: Deno.errors.AlreadyExists,
  EACCES: Deno.errors.PermissionDenied,
  EPERM: Deno.errors.PermissionDenied,
  EISDIR: Deno.errors.IsADirectory,
  ENOTDIR: Deno.errors.NotADirectory,
};

function fsError(errno: number, op: string, path: string): Error {
  const name = errnoName(errno);
  const what = (name === "EINVAL" || name === "ENXIO") && (op === "read" || op === "write")
    ? " (not a regular file)"
    : name === "EFBIG" || name === "E2BIG"
    ? " (too large)"
    : "";
  const Cls = CODES[name] ?? Error;
  const e = new Cls(`${name}: cannot ${op} "${path}" in the session${what}`);
  (e as Error & { code: string }).code = name;
  return e;
}

function checkPath(path: unknown, field = "path"): string {
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0")) {
    throw new TypeError(
      `Invalid ${field} ${JSON.stringify(path)}: expected an absolute path inside the session`,
    );
  }
  return path;
}

function checkMode(mode: unknown, fallback: number): string {
  const m = mode ?? fallback;
  if (typeof m !== "number" || !Number.isInteger(m) || m < 0 || m > 0o7777) {
    throw new RangeError(`Invalid mode ${JSON.stringify(mode)}: expected 0 to 0o7777`);
  }
  return m.toString(8);
}

/**
 * The session's files, as `session.fs`. Paths are absolute paths inside the sandbox.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SandboxBuilder } from "../mod.ts";
 *
 * await using session = await new SandboxBuilder("fs").build().session();
 * await session.fs.mkdir("/tmp/app/src", { recursive: true });
 * await session.fs.writeTextFile("/tmp/app/src/main.py", "print('hi')\n");
 * const run = await session.run("python3", ["/tmp/app/src/main.py"]);
 * assert.equal(run.stdout, "hi\n");
 * const names = [];
 * for await (const e of session.fs.readDir("/tmp/app/src")) names.push(e.name);
 * assert.deepEqual(names, ["main.py"]);
 * ```
 */
export class SessionFs {
  #channel: SessionChannel;

  /** @internal Use `session.fs`. */
  constructor(channel: SessionChannel) {
    this.#channel = channel;
  }

  async #op(op: string, path: string, args: string[], data?: Uint8Array) {
    const tokens = [op, path, ...args];
    const f = await this.#channel.request(
      FRAME.FS,
      [String(tokens.length), ...tokens],
      data,
    );
    const { tokens: [err], rest } = splitTokens(f.payload, 1);
    if (Number(err) !== 0) throw fsError(Number(err), op, path);
    return rest;
  }

  /** Reads a regular file; past `maxSize` bytes (default 64 MiB) it throws, naming the path. */
  async readFile(path: string, options: { maxSize?: number } = {}): Promise<Uint8Array> {
    checkPath(path);
    const max = options.maxSize ?? DEFAULT_MAX_FILE;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`Invalid maxSize ${JSON.stringify(options.maxSize)}`);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const rest = await this.#op("read", path, [String(total), String(CHUNK)]);
      const { tokens: [size], rest: data } = splitTokens(rest, 1);
      if (Number(size) > max || total + data.length > max) {
        throw new RangeError(
          `File "${path}" in the session is larger than maxSize (${max} bytes)`,
        );
      }
      parts.push(data);
      total += data.length;
      if (data.length === 0 || total >= Number(size)) break;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  /** Reads a file as UTF-8 text. */
  async readTextFile(path: string, options: { maxSize?: number } = {}): Promise<string> {
    return new TextDecoder().decode(await this.readFile(path, options));
  }

  /**
   * Writes a regular file (created with `mode`, default `0o644`); `append` adds to it,
   * `createNew` refuses an existing one. A FIFO or device at the path is refused.
   */
  async writeFile(
    path: string,
    data: Uint8Array,
    options: { mode?: number; append?: boolean; createNew?: boolean } = {},
  ): Promise<void> {
    checkPath(path);
    if (!(data instanceof Uint8Array)) throw new TypeError("Invalid data: expected a Uint8Array");
    const mode = checkMode(options.mode, 0o644);
    let how = options.createNew ? "new" : options.append ? "append" : "trunc";
    let off = 0;
    do {
      await this.#op("write", path, [mode, how], data.subarray(off, off + CHUNK));
      off += CHUNK;
      how = "append";
    } while (off < data.length);
  }

  /** Writes UTF-8 text. */
  writeTextFile(
    path: string,
    text: string,
    options: { mode?: number; append?: boolean; createNew?: boolean } = {},
  ): Promise<void> {
    return this.writeFile(path, new TextEncoder().encode(text), options);
  }

  /** The entries of a directory (not `.` and `..`), symlinks not followed. */
  async *readDir(path: string): AsyncGenerator<SessionDirEntry> {
    checkPath(path);
    const { tokens } = splitTokens(await this.#op("readdir", path, []));
    for (let i = 0; i + 1 < tokens.length; i += 2) {
      const type = tokens[i + 1];
      yield {
        name: tokens[i]!,
        isFile: type === "file",
        isDirectory: type === "dir",
        isSymlink: type === "symlink",
      };
    }
  }

  /** Makes a directory (`recursive`: with its parents, an existing one is fine). */
  async mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    checkPath(path);
    await this.#op("mkdir", path, [checkMode(options.mode, 0o755), options.recursive ? "1" : "0"]);
  }

  /** Removes a file, a symlink (not what it points to) or a directory (`recursive`: its tree). */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    await this.#op("remove", path, [options.recursive ? "1" : "0"]);
  }

  /** Information about a path, following symlinks. */
  stat(path: string): Promise<SessionFileInfo> {
    return this.#stat(path, true);
  }

  /** Information about a path, not following a final symlink. */
  lstat(path: string): Promise<SessionFileInfo> {
    return this.#stat(path, false);
  }

  async #stat(path: string, follow: boolean): Promise<SessionFileInfo> {
    checkPath(path);
    const [type, size, mode, mtime, uid, gid] = splitTokens(
      await this.#op("stat", path, [follow ? "1" : "0"]),
    ).tokens;
    return {
      isFile: type === "file",
      isDirectory: type === "dir",
      isSymlink: type === "symlink",
      size: Number(size),
      mode: Number(mode),
      mtime: new Date(Number(mtime)),
      uid: Number(uid),
      gid: Number(gid),
    };
  }

  /**
   * Copies a host file or directory tree into the session. The host side is read as the caller
   * (its symlinks are skipped, not followed); the session side is written by the agent.
   */
  async upload(hostPath: string, sandboxPath: string): Promise<void> {
    checkPath(sandboxPath, "sandboxPath");
    const info = await Deno.lstat(hostPath);
    if (info.isFile) {
      await this.writeFile(sandboxPath, await Deno.readFile(hostPath), {
        mode: (info.mode ?? 0o644) & 0o777,
      });
    } else if (info.isDirectory) {
      await this.mkdir(sandboxPath, { recursive: true });
      for await (const e of Deno.readDir(hostPath)) {
        if (e.isSymlink) continue;
        await this.upload(`${hostPath}/${e.name}`, `${sandboxPath.replace(/\/$/, "")}/${e.name}`);
      }
    }
  }

  /**
   * Copies a file or directory tree from the session to `hostPath`, which must not exist. Names
   * come from the sandbox and are checked (no `/`, `.` or `..`); every host file and directory
   * is created new (never opened through an existing entry), so nothing the sandboxed code
   * planted can redirect a host write. Symlinks and special files are skipped and listed.
   */
  async download(
    sandboxPath: string,
    hostPath: string,
    options: { maxBytes?: number } = {},
  ): Promise<DownloadReport> {
    checkPath(sandboxPath, "sandboxPath");
    const report: DownloadReport = { files: 0, bytes: 0, skipped: [] };
    const maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
    const walk = async (from: string, to: string, depth: number): Promise<void> => {
      if (depth > 64) throw new RangeError(`Tree under "${sandboxPath}" is too deep (over 64)`);
      const info = await this.lstat(from);
      if (info.isFile) {
        const data = await this.readFile(from, { maxSize: maxBytes - report.bytes });
        await Deno.writeFile(to, data, { createNew: true, mode: info.mode & 0o755 });
        report.files++;
        report.bytes += data.length;
      } else if (info.isDirectory) {
        await Deno.mkdir(to, { mode: 0o755 });
        for await (const e of this.readDir(from)) {
          if (e.name.includes("/") || e.name === "." || e.name === "..") {
            throw new Error(`Refusing entry name ${JSON.stringify(e.name)} under "${from}"`);
          }
          await walk(`${from.replace(/\/$/, "")}/${e.name}`, `${to}/${e.name}`, depth + 1);
        }
      } else {
        report.skipped.push(from);
      }
    };
    await walk(sandboxPath, hostPath, 0);
    return report;
  }
}
