/**
 * Network egress by allow-list, the pure part: parsing `network: { allow, deny }` entries,
 * classifying addresses (loopback, private, link-local/metadata, ...) and deciding one
 * connection attempt. No `Deno.*` here: the proxy (`proxy.ts`) resolves names and connects.
 *
 * @module
 */

import { checkFields, describeValue, parseNonZeroSize } from "../parse.ts";
import type { EgressRule, NetworkPolicy, ResolvedEgress } from "../types.ts";

const FORMS =
  `expected HOST, HOST:PORT, *.DOMAIN[:PORT], an IP address, a CIDR like "10.0.0.0/8" (IPv6 in brackets with a port: "[::1]:443"), or "*" for any public destination`;

/** Parses an IPv4 or IPv6 literal into 4 or 16 bytes, or null. */
export function parseIp(text: string): Uint8Array | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split(".").map(Number);
    if (parts.some((p) => p > 255)) return null;
    return new Uint8Array(parts);
  }
  if (!text.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = parseIp(text.slice(lastColon + 1));
    if (!v4 || v4.length !== 4) return null;
    tail4 = [...v4];
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  if (tail4.length) out.set(tail4, 12);
  return out;
}

/** The text form of an address from {@linkcode parseIp} (IPv6 not compressed). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return g.join(":");
}

function inCidr(addr: Uint8Array, net: Uint8Array, prefix: number): boolean {
  if (addr.length !== net.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const take = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((addr[bit / 8]! & mask) !== (net[bit / 8]! & mask)) return false;
  }
  return true;
}

/**
 * Ranges refused unless allowed by address, with the reason recorded. The documentation ranges
 * (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are *not* here: nothing
 * legitimate lives there to protect, and test networks (this project's CI among them) map real
 * registries to them through a transparent proxy. They count as public.
 */
const SPECIAL: ReadonlyArray<readonly [string, string]> = [
  ["0.0.0.0/8", "unspecified address"],
  ["10.0.0.0/8", "private address (RFC 1918)"],
  ["100.64.0.0/10", "shared address space (CGNAT)"],
  ["127.0.0.0/8", "loopback address"],
  ["169.254.0.0/16", "link-local address (cloud metadata)"],
  ["172.16.0.0/12", "private address (RFC 1918)"],
  ["192.0.0.0/24", "IETF protocol assignment"],
  ["192.168.0.0/16", "private address (RFC 1918)"],
  ["198.18.0.0/15", "benchmarking address"],
  ["224.0.0.0/4", "multicast address"],
  ["240.0.0.0/4", "reserved address"],
  ["::/128", "unspecified address"],
  ["::1/128", "loopback address"],
  ["fc00::/7", "unique local address (ULA)"],
  ["fe80::/10", "link-local address"],
  ["fec0::/10", "site-local address"],
  ["ff00::/8", "multicast address"],
];
const SPECIAL_PARSED = SPECIAL.map(([cidr, why]) => {
  const [a, p] = cidr.split("/");
  return { net: parseIp(a!)!, prefix: Number(p), why };
});

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), or null. */
function embeddedV4(b: Uint8Array): Uint8Array | null {
  if (b.length !== 16) return null;
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12); // ::ffff:a.b.c.d
  if (zero(0, 12) && !zero(12, 16) && !(zero(12, 15) && b[15] === 1)) return b.slice(12); // ::a.b.c.d
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) {
    return b.slice(12); // 64:ff9b::/96
  }
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6); // 2002::/16 (6to4)
  return null;
}

/**
 * Why an address is not a public destination (`"loopback address"`, ...), or null when it is
 * public. IPv6 forms that embed an IPv4 address are judged by that address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressClass } from "./policy.ts";
 * assert.equal(addressClass("169.254.169.254"), "link-local address (cloud metadata)");
 * assert.equal(addressClass("::ffff:10.1.2.3"), "private address (RFC 1918)");
 * assert.equal(addressClass("203.0.113.80"), null);
 * ```
 */
export function addressClass(address: string): string | null {
  const b = parseIp(address);
  if (!b) return "not an IP address";
  const v4 = embeddedV4(b);
  if (v4) return addressClass(formatIp(v4));
  for (const s of SPECIAL_PARSED) if (inCidr(b, s.net, s.prefix)) return s.why;
  return null;
}

function parsePort(text: string, field: string, entry: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new RangeError(`Invalid ${field} entry "${entry}": ${FORMS}`);
  if (Number(text) < 1 || Number(text) > 65535) {
    throw new RangeError(`Invalid ${field} entry "${entry}": port must be 1-65535`);
  }
  return Number(text);
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * Parses one allow/deny entry; a `RangeError` names `field` and the allowed forms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEgressRule } from "./policy.ts";
 * const r = parseEgressRule("*.Example.com:443", "network.allow");
 * assert.deepEqual([r.kind, r.port], ["host", 443]);
 * assert.throws(() => parseEgressRule("http://x", "network.allow"), RangeError);
 * ```
 */
export function parseEgressRule(entry: unknown, field: string): EgressRule {
  if (typeof entry !== "string") {
    throw new TypeError(`Invalid ${field} entry ${describeValue(entry)}: ${FORMS}`);
  }
  const bad = () => new RangeError(`Invalid ${field} entry "${entry}": ${FORMS}`);
  if (entry.length === 0 || entry.length > 300) throw bad();
  let hostPart = entry;
  let port: number | null = null;
  if (entry.startsWith("[")) {
    const end = entry.indexOf("]");
    if (end < 0) throw bad();
    hostPart = entry.slice(1, end);
    const rest = entry.slice(end + 1);
    if (rest) {
      if (!rest.startsWith(":")) throw bad();
      port = parsePort(rest.slice(1), field, entry);
    }
    if (!hostPart.includes(":")) throw bad();
  } else if ((entry.match(/:/g) ?? []).length === 1) {
    const i = entry.indexOf(":");
    hostPart = entry.slice(0, i);
    port = parsePort(entry.slice(i + 1), field, entry);
  }
  if (hostPart === "*") return { kind: "any", port, text: entry };
  const slash = hostPart.indexOf("/");
  const addrText = slash < 0 ? hostPart : hostPart.slice(0, slash);
  const bytes = parseIp(addrText);
  if (bytes) {
    const max = bytes.length * 8;
    const prefixText = slash < 0 ? String(max) : hostPart.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw new RangeError(`Invalid ${field} entry "${entry}": CIDR prefix must be 0-${max}`);
    }
    return { kind: "cidr", bytes, prefix: Number(prefixText), port, text: entry };
  }
  let name = hostPart.toLowerCase().replace(/\.$/, "");
  const wildcard = name.startsWith("*.");
  if (wildcard) name = name.slice(2);
  if (!name || name.length > 253 || !name.split(".").every((l) => LABEL.test(l))) throw bad();
  return { kind: "host", name, wildcard, port, text: entry };
}

function parseList(value: unknown, field: string): EgressRule[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`Invalid ${field} ${describeValue(value)}: expected an array of strings`);
  }
  if (value.length > 1024) throw new RangeError(`Invalid ${field}: at most 1024 entries`);
  return value.map((e) => parseEgressRule(e, field));
}

/**
 * Validates a {@linkcode NetworkPolicy} (`field` names it in errors).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateNetworkPolicy } from "./policy.ts";
 * const p = validateNetworkPolicy({ allow: ["*"], deny: ["evil.test"], maxBytes: "1M" }, "network");
 * assert.equal(p.maxBytes, 1048576);
 * ```
 */
export function validateNetworkPolicy(value: object, field: string): ResolvedEgress {
  checkFields(value, { name: field, allowed: ["allow", "deny", "maxBytes"] });
  const v = value as NetworkPolicy;
  return {
    allow: parseList(v.allow, `${field}.allow`),
    deny: v.deny === undefined ? [] : parseList(v.deny, `${field}.deny`),
    maxBytes: v.maxBytes === undefined ? null : parseNonZeroSize(v.maxBytes, `${field}.maxBytes`),
  };
}

/** One connection attempt, as the proxy saw it. */
export interface EgressAttempt {
  /** The host the client asked for (a name or an IP literal), lower-case. */
  host: string;
  /** The port asked for. */
  port: number;
  /** Every address the host resolved to (the literal itself for an IP). */
  addresses: string[];
  /** The host's own addresses (refused like loopback unless allowed by address). */
  ownAddresses?: ReadonlySet<string>;
}

/** The verdict on an {@linkcode EgressAttempt}. */
export type EgressVerdict =
  | { allowed: true; address: string; reason: string }
  | { allowed: false; address: string | null; reason: string };

function portMatches(rule: EgressRule, port: number): boolean {
  return rule.port === null || rule.port === port;
}

function nameMatches(rule: EgressRule & { kind: "host" }, host: string): boolean {
  return rule.wildcard ? host.endsWith(`.${rule.name}`) : host === rule.name;
}

function addressMatches(rule: EgressRule, address: string): boolean {
  const b = parseIp(address);
  if (rule.kind !== "cidr" || !b) return false;
  // An IPv4-mapped address matches IPv4 rules too.
  const v4 = b.length === 16 ? embeddedV4(b) : null;
  return inCidr(b, rule.bytes, rule.prefix) || (!!v4 && inCidr(v4, rule.bytes, rule.prefix));
}

function canonical(address: string): string {
  const b = parseIp(address);
  return b ? formatIp(b) : address;
}

/**
 * Decides one attempt: a deny match refuses (by name, or by any resolved address); every resolved
 * address must then be public (not loopback, private, link-local, the host's own, ...) unless an
 * allow entry names it by address or CIDR; and the host or address must match an allow entry.
 * The verdict names the one address to connect to (no second resolution).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decideEgress, validateNetworkPolicy } from "./policy.ts";
 * const p = validateNetworkPolicy({ allow: ["*.example.com:443"] }, "network");
 * const ok = decideEgress(p, { host: "a.example.com", port: 443, addresses: ["93.184.216.34"] });
 * assert.equal(ok.allowed, true);
 * const meta = decideEgress(p, { host: "a.example.com", port: 443, addresses: ["169.254.169.254"] });
 * assert.equal(meta.allowed, false);
 * ```
 */
export function decideEgress(policy: ResolvedEgress, attempt: EgressAttempt): EgressVerdict {
  const { host, port, addresses } = attempt;
  const first = addresses[0] ?? null;
  for (const rule of policy.deny) {
    if (!portMatches(rule, port)) continue;
    if (rule.kind === "any") return { allowed: false, address: first, reason: `denied by "*"` };
    if (rule.kind === "host" && nameMatches(rule, host)) {
      return { allowed: false, address: first, reason: `denied by "${rule.text}"` };
    }
    const hit = addresses.find((a) => addressMatches(rule, a));
    if (hit) return { allowed: false, address: hit, reason: `denied by "${rule.text}"` };
  }
  if (!first) return { allowed: false, address: null, reason: "name did not resolve" };
  const byAddress = (a: string) =>
    policy.allow.find((r) => r.kind === "cidr" && portMatches(r, port) && addressMatches(r, a));
  // Every address is checked: a name must not smuggle in a private one next to a public one.
  for (const a of addresses) {
    const own = attempt.ownAddresses?.has(canonical(a)) ? "the host's own address" : null;
    const why = own ?? addressClass(a);
    if (why && !byAddress(a)) {
      return { allowed: false, address: a, reason: `${why}; allow it by address to reach it` };
    }
  }
  for (const rule of policy.allow) {
    if (!portMatches(rule, port)) continue;
    if (rule.kind === "any" || (rule.kind === "host" && nameMatches(rule, host))) {
      return { allowed: true, address: first, reason: `allowed by "${rule.text}"` };
    }
    if (rule.kind === "cidr" && addresses.every((a) => addressMatches(rule, a))) {
      return { allowed: true, address: first, reason: `allowed by "${rule.text}"` };
    }
  }
  return { allowed: false, address: first, reason: "not in the allow list" };
}
