/**
 * The bench's second bubblewrap: the default sandbox's own filesystem layout, ids, hostname and
 * seccomp filter, translated from the frame the library sends its launcher (bench/bench.ts
 * captures it). Row (c) is a light bwrap (`/usr`, `/proc`, `/dev`, `/tmp`); this one does the
 * mount work the defaults do, which is what "bubblewrap with the same isolation" asks for.
 *
 * What bwrap has no way to do is left out and said in `missing`: Landlock, cgroups, rlimits, the
 * per-run host ids and the per-namespace budgets. Where bwrap does the same work another way it
 * is said in `approximated` (a copied file is bound instead, a masked path gets `/dev/null` or an
 * empty tmpfs, a read-only `/proc` subtree is the host's bound read-only: the same number of
 * mounts, not the same contents).
 *
 * @module
 */

/** The launcher's op arities (launcher/config.c), for the ops a default frame may carry. */
const ARITY: Record<string, number> = {
  "status": 1,
  "unshare": 1,
  "uid-map": 2,
  "gid-map": 2,
  "uid": 1,
  "gid": 1,
  "hostname": 1,
  "loopback": 0,
  "newroot": 0,
  "ro-bind": 2,
  "ro-bind-try": 2,
  "tmpfs": 3,
  "proc": 1,
  "dev": 1,
  "symlink": 2,
  "dir": 2,
  "chdir": 1,
  "timeout": 1,
  "rlimit": 3,
  "seccomp": 1,
  "seccomp-notify": 1,
  "seccomp-errno": 3,
  "env": 1,
  "arg": 1,
  "exec": 1,
  "cgroup-name": 1,
  "cgroup-v2": 1,
  "cgroup-v1": 2,
  "pids-max": 1,
  "copy-try": 2,
  "remount-ro": 1,
  "mask": 1,
  "landlock": 3,
  "landlock-path": 2,
  "landlock-path-try": 2,
  "host-ids": 3,
  "userns-limit": 2,
  "pty-max": 1,
  "file": 2,
  "cgroupfs": 1,
  "idmap": 1,
};

/** Ops whose work bwrap cannot do: the names shown in `missing`. */
const MISSING: Record<string, string> = {
  "landlock": "Landlock",
  "cgroup-v1": "cgroup",
  "cgroup-v2": "cgroup",
  "rlimit": "rlimits",
  "host-ids": "host ids per run",
  "userns-limit": "namespace budgets",
  "seccomp-notify": "named seccomp violations",
  "seccomp-errno": "seccomp errno rules",
};

/** A bwrap command line doing the defaults' work, and the seccomp program it reads on fd 0. */
export interface BwrapDefaults {
  args: string[];
  /** `--seccomp 0`: the default filter, written to bwrap's stdin. */
  seccomp: Uint8Array | null;
  missing: string[];
  approximated: string[];
}

function exists(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

/**
 * Translates `tokens` (a default frame's ops, run ops included) into bwrap arguments running
 * `program`. `dir` holds the files the frame writes inline (`file`). Throws on an op it does not
 * know, so that a changed frame skips the row with a reason instead of measuring something else.
 */
export function bwrapDefaults(tokens: string[], dir: string, program: string): BwrapDefaults {
  const args = ["--unshare-all", "--die-with-parent", "--new-session"];
  const missing = new Set<string>();
  const approximated = new Set<string>();
  let seccomp: Uint8Array | null = null;
  let files = 0;
  for (let i = 0; i < tokens.length;) {
    const op = tokens[i]!;
    const arity = ARITY[op];
    if (arity === undefined) throw new Error(`frame op "${op}" has no bwrap translation here`);
    const a = tokens.slice(i + 1, i + 1 + arity);
    i += 1 + arity;
    if (op in MISSING) missing.add(MISSING[op]!);
    switch (op) {
      case "uid":
      case "gid":
      case "hostname":
        args.push(`--${op}`, a[0]!);
        break;
      case "ro-bind":
      case "ro-bind-try":
      case "symlink":
        args.push(`--${op}`, a[0]!, a[1]!);
        break;
      case "copy-try":
        args.push("--ro-bind-try", a[0]!, a[1]!);
        approximated.add("copied files are bound");
        break;
      case "dir":
        args.push("--perms", a[1]!, "--dir", a[0]!);
        break;
      case "tmpfs":
        args.push("--size", a[1]!, "--perms", a[2]!, "--tmpfs", a[0]!);
        break;
      case "proc":
      case "dev":
        args.push(`--${op}`, a[0]!);
        break;
      case "file": {
        const path = `${dir}/file-${files++}`;
        Deno.writeTextFileSync(path, a[1]!);
        args.push("--ro-bind", path, a[0]!);
        break;
      }
      case "remount-ro":
        // bwrap remounts only mount points: the host's subtree, bound read-only.
        args.push("--ro-bind", a[0]!, a[0]!);
        approximated.add("read-only /proc subtrees are the host's");
        break;
      case "mask": {
        const st = exists(a[0]!);
        if (st?.isDirectory) args.push("--tmpfs", a[0]!);
        else if (st) args.push("--ro-bind", "/dev/null", a[0]!);
        approximated.add("masks are /dev/null or an empty tmpfs");
        break;
      }
      case "seccomp": {
        const hex = a[0]!;
        seccomp = new Uint8Array(hex.length / 2);
        for (let k = 0; k < seccomp.length; k++) {
          seccomp[k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
        }
        args.push("--seccomp", "0");
        break;
      }
      default:
        // Namespaces (all of them: --unshare-all), loopback, the run's own ops, and the
        // ops listed in MISSING.
        break;
    }
  }
  args.push("--", program);
  return { args, seccomp, missing: [...missing], approximated: [...approximated] };
}
