/**
 * What a run with an egress allow-list sees inside: the proxy's address on its own loopback and
 * the proxy variables that point pip, npm, curl, git, Deno and Node's fetch at it.
 *
 * @module
 */

/** The port of the proxy listener inside the sandbox's private network namespace. */
export const EGRESS_PORT = 3128;

/**
 * The proxy environment of a run (upper- and lower-case forms: tools disagree on which they
 * read). Loopback stays direct: a server the run starts itself is reached without the proxy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { egressEnv } from "./env.ts";
 * assert.equal(egressEnv(3128).https_proxy, "http://127.0.0.1:3128");
 * ```
 */
export function egressEnv(port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {};
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]) {
    env[name] = url;
    env[name.toLowerCase()] = url;
  }
  env.NO_PROXY = env.no_proxy = "localhost,127.0.0.1,::1";
  // npm reads its own config names as well (npm_config_*), and ignores ALL_PROXY.
  env.npm_config_proxy = env.npm_config_https_proxy = url;
  // Node reads the proxy variables for fetch() only when told to (Node 22.21+, 24.5+; older
  // versions ignore it, and their fetch finds no route).
  env.NODE_USE_ENV_PROXY = "1";
  return env;
}
