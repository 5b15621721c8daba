/**
 * Loads integration modules named on the command line and collects the
 * registrations they export.
 *
 * @module
 */

import { assertRegistration, type WorkerRegistration } from "../registration.ts";
import { fileUrlFromPath } from "./process.ts";

/**
 * A module specifier as the user wrote it is a URL when it starts with a
 * scheme of two or more letters (`file:`, `https:`, `jsr:`, `npm:`); one
 * letter is a Windows drive (`C:\…`), so a path.
 */
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:/;

/** The URL to import for a module argument: URLs as they are, paths from the current directory. */
export async function moduleUrl(specifier: string): Promise<string> {
  return URL_SCHEME.test(specifier) ? specifier : await fileUrlFromPath(specifier);
}

/**
 * The registrations of one module namespace: its `registrations` export (an
 * array), else its default export (one registration or an array).
 *
 * @throws {TypeError} When it exports neither, or one of them is malformed.
 */
export function registrationsOf(
  namespace: Record<string, unknown>,
  specifier: string,
): WorkerRegistration[] {
  let exported: unknown;
  let exportName: string;
  if (namespace.registrations !== undefined) {
    exported = namespace.registrations;
    exportName = "registrations";
    if (!Array.isArray(exported)) {
      throw new TypeError(
        `Cannot load module ${specifier}: its "registrations" export is not an array`,
      );
    }
  } else if (namespace.default !== undefined) {
    exported = namespace.default;
    exportName = "default";
  } else {
    throw new TypeError(
      `Cannot load module ${specifier}: it exports neither "registrations" nor a default registration`,
    );
  }
  const list = Array.isArray(exported) ? exported : [exported];
  if (list.length === 0) {
    throw new TypeError(`Cannot load module ${specifier}: its ${exportName} export is empty`);
  }
  return list.map((value, index) => {
    const where = Array.isArray(exported)
      ? `${exportName}[${index}] of ${specifier}`
      : `the ${exportName} export of ${specifier}`;
    assertRegistration(value, where);
    return value;
  });
}

/**
 * Imports every module and returns all their registrations in order.
 *
 * @throws {Error} Naming the module that failed to import or to export
 * registrations.
 */
export async function loadRegistrations(
  specifiers: readonly string[],
): Promise<WorkerRegistration[]> {
  const all: WorkerRegistration[] = [];
  for (const specifier of specifiers) {
    let namespace: Record<string, unknown>;
    try {
      const url = await moduleUrl(specifier);
      // The user's module is unknown until run time: `deno publish` warns
      // that it cannot analyze this import, which is the point.
      namespace = await import(url);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message.split("\n", 1)[0] : String(cause);
      throw new Error(`Cannot load module ${specifier}: ${reason}`, { cause });
    }
    all.push(...registrationsOf(namespace, specifier));
  }
  return all;
}
