/**
 * The sandbox's synthesized identity: the `/etc/passwd`, `/etc/group` and `/etc/hosts` of the
 * default root (root, the sandbox user and nobody — never the host's accounts) and the
 * environment that goes with them. Pure.
 *
 * @module
 */

/** The sandbox user's uid and gid inside the namespaces. */
export const SANDBOX_ID = 1000;

/** The shell named in `passwd` and `SHELL`: every default root has `/bin/sh`. */
const SHELL = "/bin/sh";

/** The `/etc` files written into the default root instead of the host's. */
export const SYNTHESIZED_ETC = ["passwd", "group", "hosts"] as const;

/**
 * The synthesized `/etc` files, by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityFiles } from "./identity.ts";
 *
 * const files = identityFiles({ user: "alice", hostname: "box" });
 * assert(files.passwd.includes("alice:x:1000:1000:alice:/home/alice:/bin/sh\n"));
 * assert(files.hosts.includes("127.0.1.1\tbox\n"));
 * ```
 */
export function identityFiles(
  { user, hostname }: { user: string; hostname: string },
): Record<typeof SYNTHESIZED_ETC[number], string> {
  const id = SANDBOX_ID;
  return {
    passwd: `root:x:0:0:root:/root:${SHELL}\n` +
      `${user}:x:${id}:${id}:${user}:${homeOf(user)}:${SHELL}\n` +
      `nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    // 65534 is also how an unprivileged caller's own supplementary groups show inside.
    group: `root:x:0:\n${user}:x:${id}:\nnogroup:x:65534:\n`,
    hosts: `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n` +
      `::1\tlocalhost ip6-localhost ip6-loopback\n`,
  };
}

/** The sandbox user's home directory. */
export function homeOf(user: string): string {
  return `/home/${user}`;
}

/**
 * The environment of the synthesized identity; the config's `env` overrides it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityEnv } from "./identity.ts";
 *
 * assert.equal(identityEnv("sandbox").HOME, "/home/sandbox");
 * ```
 */
export function identityEnv(user: string): Record<string, string> {
  return { HOME: homeOf(user), USER: user, LOGNAME: user, SHELL };
}
