// A test that, when skipped, says why where the log shows it. Imports nothing, so pure tests
// running with narrow permissions can use it.

/**
 * Deno's op and resource sanitizers: on where the suite says how warm launchers behave
 * (`SANDBOX_TS_WARM=0`: none; `1`: each stops whenever no run is in flight), off with the library's
 * defaults, where a sandbox used twice keeps its warm launcher up after its test by design (README
 * "Warm launcher") and the sanitizers would count that launcher as this test's leak. scripts/test.sh
 * runs the suite both ways.
 */
const SANITIZE = (() => {
  const variable = "SANDBOX_TS_WARM";
  if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") return true;
  const warm = Deno.env.get(variable);
  return warm === "0" || warm === "1";
})();

/**
 * A test, or — when `skip` gives a reason — an ignored test whose name carries that reason, so the
 * "ignored" line of the log says why (`deno test --quiet` swallows anything printed at load).
 */
export function testOrSkip(
  name: string,
  skip: string | false,
  fn: () => Promise<void> | void,
): void {
  Deno.test({
    name: skip ? `${name} (skipped: ${skip})` : name,
    fn,
    ignore: Boolean(skip),
    sanitizeResources: SANITIZE,
    sanitizeOps: SANITIZE,
  });
}
