/**
 * Known secrets, as the `secrets` options of workers and hosts take them,
 * made into one redacting function.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { redactSecrets } from "./log_fields.ts";

/**
 * Secrets to remove from error texts (the API token, a NATS password): a
 * list, or a function asked each time a text is redacted, so a rotated
 * token (the last one a provider returned) is covered too.
 */
export type Secrets = readonly string[] | (() => Iterable<string>);

/** Replaces every known secret in `text` with `[redacted]`. */
export type Redact = (text: string) => string;

/** The {@linkcode Redact} of no secrets: every text as it is. */
export const unchanged: Redact = (text) => text;

/**
 * `secrets` as one {@linkcode Redact}; {@linkcode unchanged} when there is
 * none to remove.
 *
 * @throws {TypeError} When `secrets` is neither an array nor a function
 * (a string would be taken letter by letter, and every "e" redacted).
 */
export function redactorOf(secrets: Secrets | undefined, where: string): Redact {
  if (secrets === undefined) return unchanged;
  if (typeof secrets === "function") return (text) => redactSecrets(text, secrets());
  if (!Array.isArray(secrets)) {
    throw new TypeError(`${where}: secrets is not an array of strings or a function`);
  }
  const fixed = secrets.filter((secret) => typeof secret === "string");
  return fixed.length === 0 ? unchanged : (text) => redactSecrets(text, fixed);
}
