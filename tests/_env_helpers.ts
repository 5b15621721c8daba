/**
 * Assertions shared by the tests of `src/env/`: a {@linkcode ConfigError}
 * with exactly the expected message, variable and value, and one that never
 * shows the token.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError } from "../src/errors.ts";

/** Asserts a ConfigError with exactly this message, variable and value. */
export function assertConfigError(
  error: unknown,
  variable: string,
  value: string | undefined,
  message: string,
): true {
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
  assert.equal(error.message, message);
  assert.equal(error.variable, variable);
  assert.equal(error.value, value);
  return true;
}

/** Asserts a rejection with a ConfigError that never shows the token. */
export async function assertRejectsConfigError(
  promise: Promise<unknown>,
  variable: string,
  value: string | undefined,
  message: string,
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assertConfigError(error, variable, value, message);
    assert.ok(!(error as Error).message.includes("secret"), "the token leaked");
    return true;
  });
}
