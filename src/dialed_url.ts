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

/** A URL scheme and its `//`, as at the start of `nats://…`. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * `text` as an error message may quote it: whatever comes before the last
 * `@` after the scheme (the user info: `admin:hunter2`) and anything from a
 * `?` on (where `access_token=` hides) replaced by `[redacted]`. It works
 * on the text, not on a parsed URL, because the messages that quote a URL
 * are mostly about one that does not parse (`:99999`, a space in the host),
 * and on the last `@`, because a password may hold `/`, `?` or `#` itself:
 * a message may say too little, never a password. A comma-separated list
 * (`NATS_URL`) is redacted server by server where each has its scheme.
 *
 * @example
 * ```ts ignore
 * redactedUrl("https://admin:hunter2@bus.example:99999"); // "https://[redacted]@bus.example:99999"
 * redactedUrl("admin:hunter2@127.0.0.1:4222"); // "[redacted]@127.0.0.1:4222"
 * ```
 */
export function redactedUrl(text: string): string {
  // Split only where a scheme follows, so that a comma inside a password stays in its URL.
  return text.split(/,(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i).map(redactedOne).join(",");
}

/** One URL of {@linkcode redactedUrl}. */
function redactedOne(text: string): string {
  const scheme = SCHEME.exec(text.trimStart())?.[0] ?? "";
  let rest = text.trimStart().slice(scheme.length);
  const at = rest.lastIndexOf("@");
  if (at >= 0) rest = `[redacted]@${rest.slice(at + 1)}`;
  const query = rest.search(/[?#]/);
  if (query >= 0) rest = `${rest.slice(0, query)}${rest[query]}[redacted]`;
  return scheme + rest;
}
