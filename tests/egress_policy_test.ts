// The egress allow-list's pure part (lib/egress/policy.ts): entry parsing, address classes and
// the verdict on one attempt. No kernel, no network.
import { assert, assertEquals, strict } from "./_assert.ts";
import {
  addressClass,
  decideEgress,
  parseEgressRule,
  validateNetworkPolicy,
} from "../lib/egress/policy.ts";
import { egressEnv } from "../lib/egress/env.ts";
import { SandboxBuilder } from "../mod.ts";

const policy = (allow: string[], deny: string[] = []) =>
  validateNetworkPolicy({ allow, deny }, "network");
const PUBLIC = "93.184.216.34";

Deno.test("entries: names, wildcards, ports, IPs, CIDRs, IPv6 in brackets, *", () => {
  const kinds = [
    "example.com",
    "Example.COM.:443",
    "*.example.com",
    "203.0.113.7:80",
    "10.0.0.0/8",
    "[2001:db8::1]:443",
    "fd00::/8",
    "[fd00::/8]:53",
    "*",
    "*:443",
  ].map((e) => {
    const r = parseEgressRule(e, "network.allow");
    return [r.kind, r.port];
  });
  assertEquals(kinds, [
    ["host", null],
    ["host", 443],
    ["host", null],
    ["cidr", 80],
    ["cidr", null],
    ["cidr", 443],
    ["cidr", null],
    ["cidr", 53],
    ["any", null],
    ["any", 443],
  ]);
});

Deno.test("bad entries name the field and the allowed forms", () => {
  for (
    const bad of ["http://x", "a b", "", "host:0", "host:70000", "10.0.0.0/33", "[::1", "-x.com"]
  ) {
    strict.throws(
      () => validateNetworkPolicy({ allow: [bad] }, "network"),
      /^RangeError: Invalid network\.allow entry/,
      bad,
    );
  }
  strict.throws(
    () => validateNetworkPolicy({ allow: [7] }, "network"),
    /^TypeError: Invalid network\.allow entry 7/,
  );
  strict.throws(
    () => validateNetworkPolicy({ allow: "x" }, "network"),
    /expected an array of strings/,
  );
  strict.throws(
    () => validateNetworkPolicy({ allow: [], deny: ["*.*"] }, "network"),
    /network\.deny/,
  );
  strict.throws(
    () => validateNetworkPolicy({ allow: [], alow: [] } as never, "network"),
    /Unknown network field "alow"/,
  );
  strict.throws(
    () => new SandboxBuilder("x").allowNet(["http://x"]).build(),
    /Invalid network\.allow entry "http:\/\/x"/,
  );
});

Deno.test("address classes: loopback, private, metadata, CGNAT, ULA, mapped IPv6; documentation ranges are public", () => {
  const cases: [string, RegExp | null][] = [
    ["127.0.0.2", /loopback/],
    ["10.1.2.3", /private/],
    ["172.31.0.1", /private/],
    ["192.168.1.1", /private/],
    ["169.254.169.254", /metadata/],
    ["100.100.100.200", /CGNAT/],
    ["0.0.0.0", /unspecified/],
    ["224.0.0.1", /multicast/],
    ["255.255.255.255", /reserved/],
    ["::1", /loopback/],
    ["::", /unspecified/],
    ["fd12::1", /ULA/],
    ["fe80::1", /link-local/],
    ["::ffff:127.0.0.1", /loopback/],
    ["::ffff:169.254.169.254", /metadata/],
    ["64:ff9b::a00:1", /private/],
    ["2002:a00:1::", /private/],
    ["203.0.113.80", null],
    ["2001:db8::1", null],
    [PUBLIC, null],
    ["2606:4700::1111", null],
  ];
  for (const [addr, want] of cases) {
    const got = addressClass(addr);
    if (want === null) assertEquals(got, null, addr);
    else assert(got !== null && want.test(got), `${addr}: ${got}`);
  }
});

Deno.test("verdicts: by name, wildcard, port, IP, CIDR; deny wins; * is public only", () => {
  const p = policy(["example.com:443", "*.cdn.test", "198.51.100.0/24", "*:8443"], [
    "bad.cdn.test",
    "198.51.100.66",
  ]);
  const d = (host: string, port: number, addresses: string[]) =>
    decideEgress(p, { host, port, addresses });
  assertEquals(d("example.com", 443, [PUBLIC]).allowed, true);
  assertEquals(d("example.com", 80, [PUBLIC]).reason, "not in the allow list"); // port
  assertEquals(d("a.cdn.test", 80, [PUBLIC]).allowed, true);
  assertEquals(d("cdn.test", 80, [PUBLIC]).allowed, false); // *.x is subdomains only
  assertEquals(d("bad.cdn.test", 80, [PUBLIC]).reason, 'denied by "bad.cdn.test"');
  assertEquals(d("198.51.100.7", 22, ["198.51.100.7"]).allowed, true); // CIDR
  assertEquals(d("x.test", 22, ["198.51.100.66"]).reason, 'denied by "198.51.100.66"'); // IP deny, by resolution
  assertEquals(d("other.test", 8443, [PUBLIC]).allowed, true); // *:8443
  assertEquals(d("other.test", 8443, ["10.0.0.1"]).allowed, false); // * is never private
  assertEquals(d("nothing.test", 443, []).reason, "name did not resolve");
});

Deno.test("verdicts: an allowed name resolving to a private or metadata address is refused unless allowed by address", () => {
  const p = policy(["*.corp.test", "10.9.0.0/16"]);
  const d = (addresses: string[]) =>
    decideEgress(p, { host: "db.corp.test", port: 5432, addresses });
  const meta = d(["169.254.169.254"]);
  assertEquals(meta.allowed, false);
  assertEquals(meta.address, "169.254.169.254");
  assert(meta.reason.includes("cloud metadata"));
  assertEquals(d(["10.1.0.1"]).allowed, false);
  assertEquals(d(["10.9.0.1"]).allowed, true); // listed by CIDR
  // Every answer counts: a public address next to a private one does not carry it.
  assertEquals(d([PUBLIC, "10.1.0.1"]).allowed, false);
  // The host's own addresses, even public ones.
  const own = decideEgress(policy(["*"]), {
    host: "me.test",
    port: 22,
    addresses: [PUBLIC],
    ownAddresses: new Set([PUBLIC]),
  });
  assertEquals([own.allowed, own.reason.startsWith("the host's own address")], [false, true]);
});

Deno.test("the proxy environment covers both spellings and keeps loopback direct", () => {
  const env = egressEnv(3128);
  for (
    const k of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
  ) {
    assertEquals(env[k], "http://127.0.0.1:3128", k);
  }
  assertEquals(env.NO_PROXY, "localhost,127.0.0.1,::1");
});
