/**
 * How event names map onto NATS: the subject of an event name, and the
 * durable consumer name of a unicast group.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** The subject event `name` is published on: `<prefix>.<name>`. */
export function subjectFor(prefix: string, name: string): string {
  return `${prefix}.${name}`;
}

/** Longest readable part of a durable name taken from the group and from the event name. */
const READABLE_GROUP = 32;
const READABLE_NAME = 64;

/** Keeps what a consumer name may hold (no `.`, `*`, `>`, white space or path separators). */
function readable(text: string, length: number): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, length);
}

/**
 * The durable consumer of unicast `group` on event `name`, which every
 * worker of the group shares: `<group>__<name>_<hash>`, readable parts with
 * every character a consumer name cannot hold replaced, and 12 hex digits
 * of the SHA-256 of both, so that two pairs that read alike (`a.b` and
 * `a-b`) still get their own consumer. The same pair gives the same name on
 * every machine and runtime.
 */
export async function durableName(group: string, name: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${group}\u0000${name}`),
  );
  const hash = Array.from(
    new Uint8Array(digest, 0, 6),
    (byte) => byte.toString(16).padStart(2, "0"),
  )
    .join("");
  return `${readable(group, READABLE_GROUP)}__${readable(name, READABLE_NAME)}_${hash}`;
}
