/**
 * The health and readiness endpoints of a `Host`, as a plain `fetch`
 * handler over a report: `GET /healthz` (liveness), `GET /readyz`
 * (readiness), both answering the same JSON body.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Where a registration is:
 * - `starting`: not ready yet since it started;
 * - `ready`: every stream of it is open (for `run()`: it said so);
 * - `reconnecting`: it was ready, lost a stream, and is retrying;
 * - `stopping`: the host is stopping and it is draining;
 * - `stopped`: it ended cleanly;
 * - `failed`: it ended with a fatal error (see `lastError`).
 */
export type RegistrationState =
  | "starting"
  | "ready"
  | "reconnecting"
  | "stopping"
  | "stopped"
  | "failed";

/** One registration in a {@linkcode HostReport}. */
export interface RegistrationReport {
  /** The registration's name. */
  name: string;
  /** Where it is. */
  state: RegistrationState;
  /** Whether it gates the host's readiness. */
  required: boolean;
  /** Handlers that returned. */
  handled: number;
  /** Events that failed for good (after their last attempt). */
  failed: number;
  /** Handlers running now. */
  inFlight: number;
  /** Events a lossy registration dropped (always 0 for critical ones). */
  dropped: number;
  /** Duplicates answered from the idempotency store without running the handler. */
  duplicates: number;
  /** Failed attempts that were scheduled to run again. */
  retried: number;
  /** Events that failed for good and were published as dead letters. */
  deadLettered: number;
  /** Dead letters that could not be published. */
  deadLetterFailed: number;
  /** The last handler or listener failure, or `null`. */
  lastError: string | null;
  /** Why it is or is not ready now (the last readiness change's reason). */
  reason: string;
}

/**
 * Where a host is: `idle` before `run()`, `running`, `stopping` (draining
 * after its signal aborted or a registration failed), then `stopped` or
 * `failed`.
 */
export type HostStatus = "idle" | "running" | "stopping" | "stopped" | "failed";

/** The body of `/healthz` and `/readyz`. */
export interface HostReport {
  /** Where the host is. */
  status: HostStatus;
  /** Whether every required registration is ready. */
  ready: boolean;
  /** What the host dials: the transport's description, with no credentials. */
  transport: string;
  /** Each registration, in the order given. */
  registrations: RegistrationReport[];
}

/** Renderers of the host's other pages, called only when asked for. */
export interface HostPages {
  /** The Prometheus text of `GET /metrics`. */
  metrics(): string;
  /** The HTML of `GET /`. */
  statusPage(): string;
}

const HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

/** The pages besides the JSON endpoints: path → renderer and type. */
const PAGES: Record<string, { render: keyof HostPages; type: string }> = {
  "/": { render: "statusPage", type: "text/html; charset=utf-8" },
  "/metrics": { render: "metrics", type: "text/plain; version=0.0.4; charset=utf-8" },
};

/**
 * Answers `GET /` (the status page) and `GET /metrics` (Prometheus) when
 * `pages` is given, and `GET`/`HEAD` `/healthz` (200 while running or draining, else 503)
 * and `/readyz` (200 while ready, else 503) with `report` as JSON; other
 * methods on those paths get 405, other paths 404.
 */
export function healthResponse(
  request: Request,
  report: HostReport,
  pages?: HostPages,
): Response {
  const { pathname } = new URL(request.url);
  const page = pages === undefined ? undefined : PAGES[pathname];
  if (page !== undefined && pages !== undefined) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const body = request.method === "HEAD" ? null : pages[page.render]();
    return new Response(body, {
      status: 200,
      headers: { "content-type": page.type, "cache-control": "no-store" },
    });
  }
  if (pathname !== "/healthz" && pathname !== "/readyz") {
    return new Response(JSON.stringify({ error: "not found" }), { status: 404, headers: HEADERS });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(JSON.stringify({ error: "method not allowed" }), {
      status: 405,
      headers: { ...HEADERS, allow: "GET, HEAD" },
    });
  }
  const current = report;
  const ok = pathname === "/readyz"
    ? current.ready
    : current.status === "running" || current.status === "stopping";
  const body = request.method === "HEAD" ? null : JSON.stringify(current);
  return new Response(body, { status: ok ? 200 : 503, headers: HEADERS });
}
