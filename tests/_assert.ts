// Minimal assertions over node:assert/strict (JSR's @std/assert is not reachable here). The only
// assertion module of the tests: test files import from here, never node:assert directly.
import assertStrict from "node:assert/strict";

/**
 * node's strict assert itself, for the table-driven tests written against its API
 * (`assert.throws` with a RegExp or a validator function, `assert.fail`).
 */
export { assertStrict as strict };

export function assert(cond: unknown, msg?: string): asserts cond {
  assertStrict.ok(cond, msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assertStrict.deepStrictEqual(actual, expected, msg);
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  assertStrict.match(actual, re, msg);
}

export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (e) {
    assertStrict.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    if (includes) assertStrict.ok((e as Error).message.includes(includes), (e as Error).message);
    return e as E;
  }
  throw new assertStrict.AssertionError({ message: `expected ${type.name} to be thrown` });
}

export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    assertStrict.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    if (includes) assertStrict.ok((e as Error).message.includes(includes), (e as Error).message);
    return e as E;
  }
  throw new assertStrict.AssertionError({ message: `expected ${type.name} to be rejected` });
}
