import { strict as assert } from "./_assert.ts";
import { testOrSkip } from "./_skip.ts";
import {
  DEFAULT_HEADERS,
  evalCondition,
  generate,
  GENERATE_COMMAND,
  parseAsmGeneric,
  parseUnistd64,
} from "../scripts/gen_syscalls.ts";
import {
  type Arch,
  ARCHES,
  AUDIT_ARCH,
  syscallName,
  syscallNames,
  syscallNumber,
  SYSCALLS,
} from "../lib/syscalls.ts";

const granted = (desc: Deno.PermissionDescriptor) =>
  Deno.permissions.querySync(desc).state === "granted";

/** Why the header-based test cannot run here, or undefined if it can. */
function headersMissing(): string | undefined {
  const output = new URL("../lib/_syscall_tables.ts", import.meta.url);
  if (!granted({ name: "read", path: output })) {
    return "no read permission for lib/_syscall_tables.ts";
  }
  for (const path of Object.values(DEFAULT_HEADERS)) {
    if (!granted({ name: "read", path })) return `no read permission for ${path} (run with -A)`;
    try {
      Deno.statSync(path);
    } catch {
      return `${path} is missing (install the Debian package linux-libc-dev)`;
    }
  }
  return undefined;
}

/** The path of scmp_sys_resolver, or a reason why it cannot be used. */
function findResolver(): { path: string } | { reason: string } {
  if (!granted({ name: "env", variable: "PATH" })) return { reason: "no env permission for PATH" };
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    const path = `${dir}/scmp_sys_resolver`;
    if (!granted({ name: "read", path })) continue;
    try {
      if (!Deno.statSync(path).isFile) continue;
    } catch {
      continue;
    }
    if (!granted({ name: "run", command: path })) {
      return { reason: `no run permission for ${path}` };
    }
    return { path };
  }
  return {
    reason:
      "scmp_sys_resolver not found on PATH (apt-get install seccomp) or not readable; cross-check skipped",
  };
}

const missing = headersMissing();
testOrSkip(
  "lib/_syscall_tables.ts is what the generator produces from the installed headers",
  missing ?? false,
  () => {
    const { source } = generate((p) => Deno.readTextFileSync(p));
    const current = Deno.readTextFileSync(new URL("../lib/_syscall_tables.ts", import.meta.url));
    assert.ok(
      current === source,
      `lib/_syscall_tables.ts is out of date; run: ${GENERATE_COMMAND}`,
    );
    assert.ok(current.startsWith("// GENERATED FILE"));
    assert.ok(current.includes(GENERATE_COMMAND));
  },
);

Deno.test("well-known numbers on both architectures", () => {
  const x86: Record<string, number> = {
    read: 0,
    write: 1,
    open: 2,
    fstat: 5,
    mmap: 9,
    ioctl: 16,
    clone: 56,
    fork: 57,
    execve: 59,
    newfstatat: 262,
    clone3: 435,
    fchmodat2: 452,
    uretprobe: 335,
  };
  const a64: Record<string, number> = {
    io_setup: 0,
    fcntl: 25,
    ioctl: 29,
    renameat: 38,
    statfs: 43,
    fstatfs: 44,
    truncate: 45,
    ftruncate: 46,
    openat: 56,
    lseek: 62,
    read: 63,
    sendfile: 71,
    newfstatat: 79,
    fstat: 80,
    sync_file_range: 84,
    getrlimit: 163,
    setrlimit: 164,
    socket: 198,
    clone: 220,
    execve: 221,
    mmap: 222,
    fadvise64: 223,
    wait4: 260,
    clone3: 435,
    memfd_secret: 447,
    fchmodat2: 452,
    file_setattr: 469,
  };
  for (const [name, n] of Object.entries(x86)) assert.equal(syscallNumber("x86_64", name), n, name);
  for (const [name, n] of Object.entries(a64)) {
    assert.equal(syscallNumber("aarch64", name), n, name);
  }
  // arm64 has only the *at and 64-bit forms; no compat or 32-bit names.
  for (
    const name of [
      "open",
      "fork",
      "vfork",
      "stat",
      "lstat",
      "pipe",
      "dup2",
      "poll",
      "select",
      "uretprobe",
      "sync_file_range2",
      "fstatat64",
      "fcntl64",
      "llseek",
      "mmap2",
      "clock_gettime64",
      "arch_specific_syscall",
      "syscalls",
    ]
  ) {
    assert.equal(syscallNumber("aarch64", name), undefined, name);
  }
  assert.equal(syscallNumber("x86_64", "toString"), undefined);
  assert.equal(syscallNumber("x86_64", "__proto__"), undefined);
  assert.equal(AUDIT_ARCH.x86_64, 0xC000003E);
  assert.equal(AUDIT_ARCH.aarch64, 0xC00000B7);
});

Deno.test("tables are frozen, sorted by number, unique, and round-trip", () => {
  for (const arch of ARCHES) {
    const table = SYSCALLS[arch];
    assert.ok(Object.isFrozen(table));
    const numbers = Object.values(table);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
    assert.equal(new Set(numbers).size, numbers.length);
    for (const name of syscallNames(arch)) {
      assert.equal(syscallName(arch, syscallNumber(arch, name)!), name);
    }
  }
  assert.ok(Object.isFrozen(SYSCALLS));
  assert.ok(syscallNames("x86_64").length > 370);
  assert.ok(syscallNames("aarch64").length > 310);
});

Deno.test("asm-generic preprocessor: #if/#ifdef/#else, defined(), aliases, #undef", () => {
  const text = `
#define __NR_a 1
#ifdef __ARCH_WANT_X
#define __NR_x 2
#else
#define __NR_notx 2
#endif
#if defined(__ARCH_WANT_Y) || __BITS_PER_LONG != 32
#define __NR_y 3
#endif
#if __BITS_PER_LONG == 32 || defined(__SYSCALL_COMPAT)
#define __NR_compat 4
#endif
/* a comment with
#define __NR_fake 9
*/
#define __NR3264_lseek 5
#define __NR_arch_specific_syscall 244
#undef __NR_syscalls
#define __NR_syscalls 6
#if __BITS_PER_LONG == 64 && !defined(__SYSCALL_COMPAT)
#define __NR_lseek __NR3264_lseek
#else
#define __NR_llseek __NR3264_lseek
#endif
#ifndef __ARCH_NOMMU
#define __NR_long \\
  7
#endif
`;
  assert.deepEqual(parseAsmGeneric(text, { __BITS_PER_LONG: 64, __ARCH_WANT_X: 1 }), {
    a: 1,
    x: 2,
    y: 3,
    lseek: 5,
    long: 7,
  });
  assert.deepEqual(parseAsmGeneric(text, { __BITS_PER_LONG: 32 }), {
    a: 1,
    notx: 2,
    compat: 4,
    llseek: 5,
    long: 7,
  });
  const m = new Map([["A", 1], ["B", 64]]);
  assert.equal(evalCondition("defined(A) && !defined(C)", m), true);
  assert.equal(evalCondition("defined A && B == 64", m), true);
  assert.equal(evalCondition("(B != 64) || (defined(C))", m), false);
  assert.throws(() => evalCondition("B +", m), /Cannot parse/);
  assert.throws(() => parseAsmGeneric("#if 1\n"), /Unterminated/);
  assert.throws(() => parseAsmGeneric("#pragma once\n"), /Unsupported directive "#pragma"/);
  assert.throws(() => parseUnistd64("#define __NR_read 0\n"), /at least 300/);
});

const resolver = findResolver();

async function resolveAll(path: string, arch: Arch, names: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      const { stdout, success } = await new Deno.Command(path, {
        args: ["-a", arch, name],
        stdout: "piped",
        stderr: "null",
      }).output();
      assert.ok(success, `scmp_sys_resolver -a ${arch} ${name} failed`);
      out.set(name, Number(new TextDecoder().decode(stdout).trim()));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

testOrSkip(
  "tables agree with libseccomp's scmp_sys_resolver (x86_64 and aarch64)",
  "reason" in resolver && resolver.reason,
  async () => {
    if ("reason" in resolver) return;
    const union = [...new Set(ARCHES.flatMap((a) => syscallNames(a)))].sort();
    for (const arch of ARCHES) {
      const resolved = await resolveAll(resolver.path, arch, union);
      let agreed = 0;
      const unknownToLibseccomp: string[] = [];
      for (const name of union) {
        const ours = syscallNumber(arch, name);
        const theirs = resolved.get(name)!;
        if (ours === undefined) {
          // libseccomp returns a negative pseudo-number for names this arch lacks.
          assert.ok(
            theirs < 0,
            `${arch}: libseccomp knows ${name} = ${theirs}, our table lacks it`,
          );
        } else if (theirs === -1) {
          unknownToLibseccomp.push(name); // newer than the installed libseccomp
        } else {
          assert.equal(ours, theirs, `${arch}: ${name} is ${ours} here, ${theirs} in libseccomp`);
          agreed++;
        }
      }
      console.log(
        `${arch}: ${agreed} names agree with libseccomp; unknown to this libseccomp (newer): ${
          unknownToLibseccomp.join(" ") || "none"
        }`,
      );
      assert.ok(agreed > syscallNames(arch).length - 30, `${arch}: only ${agreed} names checked`);
    }
  },
);
