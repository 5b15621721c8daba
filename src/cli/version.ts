/**
 * The package version the CLI reports; `tests/cli_test.ts` keeps it equal to
 * `deno.json`'s `version`.
 *
 * @module
 */

/** The version of `@bus/integration`. */
export const VERSION = "0.1.0";
