// A test that, when skipped, says why where the log shows it. Imports nothing, so pure tests
// running with narrow permissions can use it.

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
    sanitizeResources: true,
    sanitizeOps: true,
  });
}
