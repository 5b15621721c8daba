/**
 * Chooses the stream framing (NDJSON or SSE) from a request's `Accept`.
 *
 * @module
 */

/** The two framings of a live event stream. */
export type Framing = "ndjson" | "sse";

const NDJSON = "application/x-ndjson";
const SSE = "text/event-stream";

interface Preference {
  q: number;
  /** 0 exact type, 1 `type/*`, 2 `*\/*`: lower is more specific. */
  specificity: number;
  position: number;
}

/**
 * Picks SSE only when `accept` prefers `text/event-stream` over
 * `application/x-ndjson`: a higher q-value, or the same q-value listed
 * earlier. NDJSON is the documented framing, so it wins every other case,
 * including a missing header and `*\/*`.
 */
export function chooseFraming(accept: string | null): Framing {
  if (accept === null) return "ndjson";
  const sse = preferenceFor(accept, SSE);
  const ndjson = preferenceFor(accept, NDJSON);
  if (sse === undefined || sse.q <= 0) return "ndjson";
  if (ndjson === undefined || sse.q > ndjson.q) return "sse";
  return sse.q === ndjson.q && sse.position < ndjson.position ? "sse" : "ndjson";
}

/** The most specific media range of `accept` that matches `type`. */
function preferenceFor(accept: string, type: string): Preference | undefined {
  const [major] = type.split("/");
  let best: Preference | undefined;
  accept.split(",").forEach((part, position) => {
    const [range = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    let specificity: number;
    if (range === type) specificity = 0;
    else if (range === `${major}/*`) specificity = 1;
    else if (range === "*/*") specificity = 2;
    else return;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split("=").map((s) => s.trim());
      if (key === "q" && value !== undefined) {
        const parsed = Number(value);
        // RFC 9110 q-values run from 0 to 1; anything else is ignored.
        if (value !== "" && parsed >= 0 && parsed <= 1) q = parsed;
      }
    }
    if (best === undefined || specificity < best.specificity) {
      best = { q, specificity, position };
    }
  });
  return best;
}
