/**
 * Content-type negotiation of the Events API stream: which framing a stream
 * response's Content-Type announces. The client asks for NDJSON or SSE and
 * reads the answer with the decoder this picks.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { StreamFraming } from "./decode/types.ts";

/**
 * Returns the framing a response's Content-Type announces, ignoring
 * parameters and case: `application/x-ndjson`, `application/jsonl` and
 * `application/json` are NDJSON (Docker-style event streams send one JSON
 * document per line as `application/json`; a single JSON document is one
 * line too), `text/event-stream` is SSE. A missing or empty Content-Type
 * means NDJSON, the documented framing; any other type gives `undefined`.
 *
 * @example
 * ```ts
 * import { framingForContentType } from "./content_type.ts";
 *
 * framingForContentType("text/event-stream; charset=utf-8"); // "sse"
 * framingForContentType("application/json"); // "ndjson"
 * framingForContentType(null); // "ndjson"
 * framingForContentType("text/html"); // undefined
 * ```
 */
export function framingForContentType(contentType: string | null): StreamFraming | undefined {
  if (contentType === null) return "ndjson";
  const semicolon = contentType.indexOf(";");
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon))
    .trim().toLowerCase();
  switch (type) {
    case "":
    case "application/x-ndjson":
    case "application/jsonl":
    case "application/json":
      return "ndjson";
    case "text/event-stream":
      return "sse";
    default:
      return undefined;
  }
}
