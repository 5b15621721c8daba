/**
 * A fingerprint of the build's inputs, so `--if-stale` can skip a build
 * whose inputs did not change since the last successful one.
 *
 * @module
 */

import { join } from "node:path";

/** SHA-256 (hex) over each file's path and contents, in the given order. */
export async function fingerprint(root: string, files: readonly string[]): Promise<string> {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const file of files) {
    parts.push(
      encoder.encode(`${file}\0`),
      await Deno.readFile(join(root, file)),
      encoder.encode("\0"),
    );
  }
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Reads the stamp a previous build left, if any. */
export async function readStamp(path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    return undefined;
  }
}
