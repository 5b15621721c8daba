/**
 * The host's own pages beside /healthz and /readyz: `GET /metrics` in the
 * Prometheus text format (checked with Prometheus' own parser), and the
 * status page `GET /`, rendered in a real headless Chromium when one is
 * installed (Debian's `chromium`, which CI installs).
 */
import assert from "node:assert/strict";
import { defineWorker, Host, Requester, ResponseError } from "../mod.ts";
import { escapeHtml } from "../src/status_page.ts";
import { hasPrometheusParser, parsePrometheus } from "./_prometheus_parse.ts";
import { until } from "./_poll.ts";
import { startServer } from "./_server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const ci = Deno.env.get("CI") === "true";
if (!hasChromium && ci) throw new Error("CI needs Debian's chromium for the status page test");
// deno-lint-ignore no-console -- one line says why tests are skipped
if (!hasChromium) console.error("host_pages_test: chromium missing, the rendering test is skipped");
const parser = await hasPrometheusParser();
if (!parser && ci) throw new Error("CI needs Debian's python3-prometheus-client");

async function runningHost() {
  const server = await startServer();
  const controller = new AbortController();
  const host = new Host({
    transport: server.client,
    signal: controller.signal,
    reconnect: { min: 10, max: 50 },
    registrations: [
      defineWorker({
        name: "jobs",
        names: ["pages.job.request"],
        delivery: "unicast",
        retry: { attempts: 1 },
        handler: (event, publisher) => {
          if (event.payload === "fail") throw new Error("<b>bad</b> job");
          return publisher.reply("done");
        },
      }),
    ],
  });
  const running = host.run();
  await host.readiness.waitReady();
  const requester = new Requester({
    transport: server.client,
    responseNames: ["pages.job.response"],
    reconnect: { min: 10, max: 50 },
  });
  await requester.request("pages.job.request", "ok");
  await requester.request("pages.job.request", "ok");
  await assert.rejects(requester.request("pages.job.request", "fail"), ResponseError);
  // The error reply goes out before the failure is counted.
  await until(() => host.report().registrations[0]!.failed === 1);
  await until(() => host.report().registrations[0]!.deadLettered === 1);
  return {
    host,
    async [Symbol.asyncDispose]() {
      await requester.close();
      controller.abort();
      await running;
      await server[Symbol.asyncDispose]();
    },
  };
}

Deno.test({
  name: "Host.fetch() serves /metrics that Prometheus parses, matching WorkerStats",
  ignore: !parser,
}, async () => {
  await using running = await runningHost();
  const response = await running.host.fetch(new Request("http://host.test/metrics"));
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const families = await parsePrometheus(await response.text());
  const value = (name: string, labels: Record<string, string>) =>
    families.flatMap((f) => f.samples).find((s) =>
      s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
    )?.value;
  const { registrations: [jobs] } = running.host.report();
  assert.equal(value("bus_worker_handled_total", { registration: "jobs" }), jobs!.handled);
  assert.equal(value("bus_worker_failed_total", { registration: "jobs" }), jobs!.failed);
  assert.equal(jobs!.handled, 2);
  assert.equal(
    value("messaging_client_consumed_messages_total", {
      registration: "jobs",
      name: "pages.job.request",
    }),
    3,
  );
  assert.equal(
    value("messaging_process_duration_seconds_count", {
      registration: "jobs",
      name: "pages.job.request",
    }),
    3,
  );
  assert.equal(value("bus_registration_ready", { registration: "jobs" }), 1);
});

Deno.test("Host.fetch() serves a self-refreshing status page with escaped failures", async () => {
  await using running = await runningHost();
  const response = await running.host.fetch(new Request("http://host.test/"));
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await response.text();
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.match(html, /Error: &lt;b&gt;bad&lt;\/b&gt; job/, "the failure is escaped");
  const [letter] = running.host.report().registrations[0]!.recentDeadLetters;
  assert.equal(letter?.deadLetter, "pages.job.request.dead-letter");
  assert.equal(letter?.attempts, 1);
  assert.match(
    html,
    new RegExp(
      `<td>jobs</td><td>pages\\.job\\.request ${letter!.id}</td><td class="n">1</td>` +
        `<td>pages\\.job\\.request\\.dead-letter</td><td class="error">attempt 1 of 1 failed: Error: &lt;b&gt;bad`,
    ),
    "the recent dead letter, escaped",
  );
  assert.doesNotMatch(html, /<b>bad<\/b>/);
  assert.doesNotMatch(
    html,
    /<script|https?:\/\/(?!127\.0\.0\.1)[a-z]/i,
    "no scripts, no external assets",
  );
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});

Deno.test({
  name: "the status page renders in headless Chromium with each registration's state",
  ignore: !hasChromium,
}, async () => {
  await using running = await runningHost();
  const served = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, running.host.fetch);
  try {
    const output = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        `--user-data-dir=${await Deno.makeTempDir()}`,
        "--dump-dom",
        `http://127.0.0.1:${served.addr.port}/`,
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    const dom = new TextDecoder().decode(output.stdout);
    assert.match(dom, /bus-integration host: <span class="state ready">ready<\/span>/);
    assert.match(
      dom,
      /<td>jobs<\/td><td class="state ready">ready<\/td><td class="n">2<\/td><td class="n">1<\/td>/,
    );
    assert.match(dom, /transport EventsClient\(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/events\)/);
    assert.match(dom, /<h2>Recent dead letters<\/h2>/);
    assert.match(dom, /<td>pages\.job\.request\.dead-letter<\/td>/);
  } finally {
    await served.shutdown();
  }
});
