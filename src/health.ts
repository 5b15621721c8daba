/**
 * The health and readiness endpoints of a `Host`, as a plain `fetch`
 * handler over a report: `GET /healthz` answers whether the process is
 * alive (a small {@linkcode HostLiveness}), `GET /readyz` whether every
 * required listener is open and, when not, why (the whole
 * {@linkcode HostReport}, with each registration's state, the URL it dials
 * and its last failure).
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { RecentDeadLetter } from "./handling/stats.ts";

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
  /** What it dials: the transport's URL without user name, password or query. */
  url: string;
  /**
   * Events handled successfully, duplicates answered from the idempotency
   * store included (see `WorkerStats.handled`).
   */
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
  /** The last dead letters it published, newest first (at most 10). */
  recentDeadLetters: RecentDeadLetter[];
  /**
   * The last handler or listener failure with its cause, or `null`: while
   * a registration is still starting, why it cannot connect (`…(ECONNREFUSED
   * 127.0.0.1:8080)`, `…401 invalid_auth…`).
   */
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

/** The body of `/readyz`. */
export interface HostReport {
  /** Where the host is. */
  status: HostStatus;
  /** Whether every required registration is ready. */
  ready: boolean;
  /**
   * Why the host is or is not ready, e.g. `registration "echo" is
   * starting: AuthError: Cannot open stream: Events API answered 401
   * invalid_auth: token is malformed`.
   */
  reason: string;
  /** What the host dials: the transport's description, with no credentials. */
  transport: string;
  /** Each registration, in the order given. */
  registrations: RegistrationReport[];
}

/**
 * The body of `/healthz`: whether the process is alive, which holds unless
 * the host failed or is not running (before `run()`, after it stopped).
 */
export interface HostLiveness {
  /** Whether `/healthz` answers 200. */
  alive: boolean;
  /** Where the host is. */
  status: HostStatus;
}

/**
 * Why a host with `status` and `ready` is or is not ready, from its
 * registrations: the first required one that is not ready names itself,
 * its state and its reason.
 */
export function hostReason(
  status: HostStatus,
  ready: boolean,
  registrations: readonly RegistrationReport[],
): string {
  if (ready) return "every required registration is ready";
  if (status === "idle") return "the host has not started";
  if (status === "stopping" || status === "stopped") return `the host is ${status}`;
  const waiting = registrations.find((entry) => entry.required && entry.state !== "ready");
  if (waiting === undefined) return status === "failed" ? "the host failed" : "not ready";
  return `registration "${waiting.name}" is ${waiting.state}: ${
    waiting.lastError ?? waiting.reason
  }`;
}

/**
 * `report` with `redact` applied to every text in it that can quote an
 * error: the host's reason and each registration's `lastError`, `reason`
 * and dead-letter reasons. `/readyz` and the status page are made from
 * what this returns, so a handler error quoting a token shows neither.
 */
export function redactReport(report: HostReport, redact: (text: string) => string): HostReport {
  return {
    ...report,
    reason: redact(report.reason),
    registrations: report.registrations.map((registration) => ({
      ...registration,
      lastError: registration.lastError === null ? null : redact(registration.lastError),
      reason: redact(registration.reason),
      recentDeadLetters: registration.recentDeadLetters.map((letter) => ({
        ...letter,
        reason: redact(letter.reason),
      })),
    })),
  };
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
 * `pages` is given, `GET`/`HEAD` `/healthz` (200 while running or draining,
 * else 503) with a {@linkcode HostLiveness}, and `/readyz` (200 while ready,
 * else 503) with `report`, both as JSON; other methods on those paths get
 * 405, other paths 404.
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
  const alive = report.status === "running" || report.status === "stopping";
  const ok = pathname === "/readyz" ? report.ready : alive;
  const answer: HostReport | HostLiveness = pathname === "/readyz"
    ? report
    : { alive, status: report.status };
  const body = request.method === "HEAD" ? null : JSON.stringify(answer);
  return new Response(body, { status: ok ? 200 : 503, headers: HEADERS });
}
