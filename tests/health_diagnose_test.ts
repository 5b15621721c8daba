/**
 * `/readyz` and `/healthz` of a real `Host` on a real `EventsClient` that
 * cannot connect: an unreachable address, a blocked port, a refused token.
 * While a registration is still starting, `/readyz` says why (the cause,
 * the URL it dials, no credentials); `/healthz` only that the process lives.
 */
import assert from "node:assert/strict";
import { defineWorker, EventsClient, type EventTransport, Host, type HostReport } from "../mod.ts";
import { startServer } from "./_server.ts";
import { until } from "./_poll.ts";
import { freePort } from "./_nats_server.ts";

/**
 * Runs a one-registration host on `client` until its first failure shows,
 * returns both answers, then stops it. The reconnect wait is long, so the
 * report is the one of the first attempt (no timer runs in between).
 */
async function diagnose(client: EventTransport, tokenRefresh = false) {
  const controller = new AbortController();
  const host = new Host({
    transport: client,
    signal: controller.signal,
    reconnect: { min: 60_000, max: 60_000 },
    tokenRefresh,
    registrations: [
      defineWorker({ name: "echo", names: ["example.echo.request"], handler: () => {} }),
    ],
  });
  const running = host.run();
  try {
    await until(() => host.report().registrations[0]!.lastError !== null, 10_000, "a failure");
    const ask = async (path: string) => {
      const response = await host.fetch(new Request(`http://health.test${path}`));
      return { status: response.status, body: await response.json() };
    };
    return { readyz: await ask("/readyz"), healthz: await ask("/healthz") };
  } finally {
    controller.abort();
    await running;
  }
}

function registrationOf(body: HostReport) {
  const [registration] = body.registrations;
  return registration!;
}

Deno.test("Host.fetch() /readyz shows ECONNREFUSED and the URL while a registration cannot connect", async () => {
  const port = await freePort();
  const { readyz, healthz } = await diagnose(
    new EventsClient({ baseUrl: `http://127.0.0.1:${port}`, token: "t" }),
  );
  const cause =
    `TransientError: Cannot open stream: the network request failed (ECONNREFUSED 127.0.0.1:${port})`;
  assert.equal(readyz.status, 503);
  assert.equal(readyz.body.reason, `registration "echo" is starting: ${cause}`);
  const registration = registrationOf(readyz.body);
  assert.equal(registration.state, "starting");
  assert.equal(registration.url, `http://127.0.0.1:${port}/api/v1/events`);
  assert.equal(registration.lastError, cause);
  assert.equal(registration.reason, cause);
  assert.equal(healthz.status, 200);
  assert.deepEqual(healthz.body, { alive: true, status: "running" });
});

Deno.test("Host.fetch() /readyz says fetch blocks port 9 rather than only that the request failed", async () => {
  const { readyz } = await diagnose(
    new EventsClient({ baseUrl: "http://127.0.0.1:9", token: "t" }),
  );
  const registration = registrationOf(readyz.body);
  assert.equal(registration.url, "http://127.0.0.1:9/api/v1/events");
  assert.match(
    registration.lastError!,
    /^TransientError: Cannot open stream: the network request failed \(blocked port( 9)?: fetch refuses to dial it\)$/,
  );
});

Deno.test("Host.fetch() /readyz shows 401 invalid_auth while a refused token is being refreshed", async () => {
  await using server = await startServer();
  let issued = 0;
  const client = server.newClient({ token: () => `wrong-${++issued}` });
  const { readyz, healthz } = await diagnose(client, true);
  assert.equal(readyz.status, 503);
  const registration = registrationOf(readyz.body);
  assert.equal(registration.state, "starting");
  assert.equal(registration.url, `${server.served.url}/api/v1/events`);
  assert.match(
    registration.lastError!,
    /^AuthError: Cannot open stream: Events API answered 401 invalid_auth: /,
  );
  assert.match(
    readyz.body.reason,
    /^registration "echo" is starting: AuthError: .*401 invalid_auth/,
  );
  assert.ok(!JSON.stringify(readyz.body).includes("wrong-"), "no token in the report");
  assert.deepEqual(healthz.body, { alive: true, status: "running" });
});

/**
 * A transport (a user's own, say) whose `url` and description carry a user
 * and password: `EventsClient` refuses such URLs, but the host must not
 * trust every transport to.
 */
class CredentialedTransport implements EventTransport {
  readonly canRefreshCredentials = false;
  readonly url: string;
  constructor(readonly inner: EventsClient, port: number) {
    this.url = `http://user:hunter2@127.0.0.1:${port}/api/v1/events?token=hunter2`;
  }
  publish: EventTransport["publish"] = (event, options) => this.inner.publish(event, options);
  open: EventTransport["open"] = (options) => this.inner.open(options);
  close = () => this.inner.close();
  toString() {
    return `Credentialed(${this.url})`;
  }
}

Deno.test("Host.fetch() /readyz shows the URL a registration dials without user or password", async () => {
  const port = await freePort();
  const { readyz } = await diagnose(
    new CredentialedTransport(
      new EventsClient({ baseUrl: `http://127.0.0.1:${port}`, token: "t" }),
      port,
    ),
  );
  const text = JSON.stringify(readyz.body);
  assert.equal(registrationOf(readyz.body).url, `http://127.0.0.1:${port}/api/v1/events`);
  assert.match(readyz.body.transport, /^Credentialed\(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/events/);
  assert.ok(!text.includes("hunter2"), text);
});

Deno.test("Host.report() keeps the last failure after a registration recovers", async () => {
  await using server = await startServer();
  let refuse = true;
  const client = server.newClient({
    token: () => refuse ? "wrong" : server.token,
  });
  const controller = new AbortController();
  const host = new Host({
    transport: client,
    signal: controller.signal,
    reconnect: { min: 10, max: 10 },
    tokenRefresh: true,
    registrations: [
      defineWorker({ name: "echo", names: ["example.echo.request"], handler: () => {} }),
    ],
  });
  const running = host.run();
  try {
    await until(() => host.report().registrations[0]!.lastError !== null, 10_000, "a failure");
    refuse = false;
    await host.readiness.waitReady(AbortSignal.timeout(10_000));
    const [echo] = host.report().registrations;
    assert.equal(echo!.state, "ready");
    assert.equal(echo!.reason, "stream open");
    assert.match(echo!.lastError!, /401 invalid_auth/);
    assert.equal(host.report().reason, "every required registration is ready");
  } finally {
    controller.abort();
    await running;
  }
});
