/**
 * `healthResponse`: the `/healthz` and `/readyz` answers of a host for each
 * status and readiness, and everything else; `hostReason()`: why a host is
 * not ready.
 */
import assert from "node:assert/strict";
import {
  healthResponse,
  hostReason,
  type HostReport,
  type HostStatus,
  type RegistrationReport,
} from "../src/health.ts";

const BASE = "http://127.0.0.1:8080";
const STATUSES: HostStatus[] = ["idle", "running", "stopping", "stopped", "failed"];

function report(status: HostStatus, ready: boolean): HostReport {
  return {
    status,
    ready,
    reason: ready ? "every required registration is ready" : 'registration "echo" is starting',
    transport: "EventsClient(http://127.0.0.1:8080/api/v1/events)",
    registrations: [{
      name: "echo",
      state: ready ? "ready" : "starting",
      required: true,
      url: "http://127.0.0.1:8080/api/v1/events",
      handled: 3,
      failed: 1,
      inFlight: 0,
      dropped: 0,
      duplicates: 0,
      retried: 0,
      deadLettered: 0,
      deadLetterFailed: 0,
      recentDeadLetters: [],
      lastError: ready ? null : "TransientError: stream ended",
      reason: ready ? "stream open" : "TransientError: stream ended",
    }],
  };
}

function get(path: string, method = "GET"): Request {
  return new Request(`${BASE}${path}`, { method });
}

Deno.test("healthResponse() answers /healthz 200 while running or stopping and 503 otherwise", async () => {
  const expected: Record<HostStatus, number> = {
    idle: 503,
    running: 200,
    stopping: 200,
    stopped: 503,
    failed: 503,
  };
  for (const status of STATUSES) {
    for (const ready of [true, false]) {
      const response = healthResponse(get("/healthz"), report(status, ready));
      await response.body?.cancel();
      assert.equal(response.status, expected[status], `${status}, ready=${ready}`);
    }
  }
});

Deno.test("healthResponse() answers /readyz 200 when ready and 503 when not, whatever the status", async () => {
  for (const status of STATUSES) {
    for (const ready of [true, false]) {
      const response = healthResponse(get("/readyz"), report(status, ready));
      await response.body?.cancel();
      assert.equal(response.status, ready ? 200 : 503, `${status}, ready=${ready}`);
    }
  }
});

Deno.test("healthResponse() sends the report on /readyz and only liveness on /healthz, as uncached JSON", async () => {
  for (
    const [status, ready] of [["running", true], ["failed", false], ["stopping", false]] as const
  ) {
    const body = report(status, ready);
    const readyz = healthResponse(get("/readyz"), body);
    const healthz = healthResponse(get("/healthz"), body);
    for (const response of [readyz, healthz]) {
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(response.headers.get("cache-control"), "no-store");
    }
    assert.deepEqual(await readyz.json(), body, `/readyz ${status}`);
    assert.deepEqual(
      await healthz.json(),
      { alive: status !== "failed", status },
      `/healthz ${status}`,
    );
  }
});

function registration(
  name: string,
  state: RegistrationReport["state"],
  extra: Partial<RegistrationReport> = {},
): RegistrationReport {
  return {
    ...report("running", false).registrations[0]!,
    name,
    state,
    lastError: null,
    reason: "not started",
    ...extra,
  };
}

Deno.test("hostReason() names the first required registration that is not ready, with its last failure", () => {
  const failure =
    "TransientError: Cannot open stream: the network request failed (ECONNREFUSED 127.0.0.1:9)";
  const registrations = [
    registration("ready-one", "ready"),
    registration("optional", "starting", { required: false, lastError: "Error: ignored" }),
    registration("echo", "starting", { lastError: failure, reason: failure }),
  ];
  assert.equal(
    hostReason("running", false, registrations),
    `registration "echo" is starting: ${failure}`,
  );
  assert.equal(
    hostReason("running", false, [
      registration("echo", "reconnecting", { reason: "stream ended" }),
    ]),
    'registration "echo" is reconnecting: stream ended',
    "the readiness reason when there is no failure",
  );
});

Deno.test("hostReason() says why when the host itself is not running or everything is ready", () => {
  const echo = [registration("echo", "starting")];
  assert.equal(hostReason("running", true, echo), "every required registration is ready");
  assert.equal(hostReason("idle", false, echo), "the host has not started");
  assert.equal(hostReason("stopping", false, echo), "the host is stopping");
  assert.equal(hostReason("stopped", false, echo), "the host is stopped");
  assert.equal(hostReason("failed", false, [registration("echo", "ready")]), "the host failed");
});

Deno.test("healthResponse() ignores the query string and the host when matching the path", async () => {
  const response = healthResponse(
    new Request("http://health.internal:9000/readyz?verbose=1"),
    report("running", true),
  );
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), report("running", true));
});

Deno.test("healthResponse() answers HEAD with the status and headers but no body", async () => {
  const up = healthResponse(get("/healthz", "HEAD"), report("running", false));
  assert.equal(up.status, 200);
  assert.equal(up.body, null);
  assert.equal(up.headers.get("content-type"), "application/json");
  const notReady = healthResponse(get("/readyz", "HEAD"), report("running", false));
  assert.equal(notReady.status, 503);
  assert.equal(await notReady.text(), "");
});

Deno.test("healthResponse() answers 405 with an Allow header when the method is not GET or HEAD", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    for (const path of ["/healthz", "/readyz"]) {
      const response = healthResponse(get(path, method), report("running", true));
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get("allow"), "GET, HEAD");
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.deepEqual(await response.json(), { error: "method not allowed" });
    }
  }
});

Deno.test("healthResponse() answers 404 when the path is neither /healthz nor /readyz", async () => {
  for (const path of ["/", "/metrics", "/healthz/", "/readyz/extra", "/HEALTHZ", "/health"]) {
    for (const method of ["GET", "POST"]) {
      const response = healthResponse(get(path, method), report("running", true));
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.deepEqual(await response.json(), { error: "not found" });
    }
  }
});
