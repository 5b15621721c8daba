/**
 * The address a transport dials, safe to log and to show on `/readyz`:
 * without a user name, password or query string (where tokens hide).
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * `transport.url` (the Events API collection URL, the NATS servers) with
 * credentials removed from each comma-separated URL; the transport's own
 * summary (`String(transport)`, which never carries credentials) when it
 * has no `url`.
 */
export function dialedUrl(transport: object): string {
  const url = (transport as { readonly url?: unknown }).url;
  if (typeof url !== "string" || url === "") return String(transport);
  if (url === lastUrl) return lastDialed;
  lastDialed = url.split(",").map((one) => withoutCredentials(one.trim())).join(",");
  lastUrl = url;
  return lastDialed;
}

/**
 * The last `url` {@linkcode dialedUrl} cleaned, and what it made of it: a
 * host's thousand listeners share one transport and log its URL twice each
 * as they open, and each parse made its garbage (a `URL`, arrays, regular
 * expressions: about 0.5 KiB) that a non-moving GC (Bun's) leaves as holes.
 */
let lastUrl: string | undefined;
let lastDialed = "";

/** `text` as a URL without user info, query or fragment; unparsable text is dropped to its host part. */
export function withoutCredentials(text: string): string {
  // `host:4222` and `user:pw@host` parse as URLs of scheme `host:` / `user:`: only `x://` is one.
  if (!text.includes("://")) return bareHost(text);
  try {
    const url = new URL(text);
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return url.href;
  } catch {
    return bareHost(text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ""));
  }
}

/** `host:port` text without a user-info `@` part or anything after `?` or `#`. */
function bareHost(text: string): string {
  return text.replace(/^[^@/]*@/, "").replace(/[?#].*$/, "");
}

/**
 * `String(transport)` with the user info, query and fragment of every URL in
 * it removed: a transport's summary (`EventsClient(https://user:pw@…)`) as
 * it is safe to show.
 */
export function transportSummary(transport: object): string {
  return String(transport).replace(
    /([a-z][a-z0-9+.-]*:\/\/)([^\s(),]+)/gi,
    (_, scheme: string, rest: string) => scheme + bareHost(rest),
  );
}
