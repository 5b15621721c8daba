/**
 * JSON answers and bounded body reading for the reference Events API server.
 *
 * @module
 */

/** The `error.type` values the reference server answers with. */
export type ErrorType =
  | "bad_request"
  | "invalid_auth"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "rate_limited"
  | "unavailable"
  | "internal"
  | "error";

/** `HeadersInit`, which `@types/node` does not declare globally, spelled portably. */
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** A JSON response with `Content-Type: application/json`. */
export function jsonResponse(
  body: unknown,
  status: number,
  headers: HeadersInit = {},
): Response {
  const all = new Headers(headers);
  all.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: all });
}

/** An error answer shaped `{"error": {"type", "message"}}`. */
export function errorResponse(
  status: number,
  type: ErrorType,
  message: string,
  headers: HeadersInit = {},
): Response {
  return jsonResponse({ error: { type, message } }, status, headers);
}

/** The `error.type` that goes with an HTTP status, for injected faults. */
export function errorTypeForStatus(status: number): ErrorType {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "invalid_auth";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 429:
      return "rate_limited";
    case 500:
      return "internal";
    default:
      return status >= 500 ? "unavailable" : "error";
  }
}

/**
 * Reads `request`'s body as UTF-8 text, stopping as soon as it passes
 * `limit` bytes so an oversized upload never sits in memory whole.
 *
 * @returns the text, or `undefined` when the body (or its declared
 * `Content-Length`) is larger than `limit`.
 */
export async function readBodyText(
  request: Request,
  limit: number,
): Promise<string | undefined> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await request.body?.cancel().catch(() => {});
    return undefined;
  }
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
