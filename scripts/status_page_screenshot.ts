/**
 * Makes docs/status_page.png, the README's picture of a host's status page:
 * a host with two registrations on the reference server, a few requests
 * (one of them failing for good, so a dead letter shows), the page rendered
 * by Debian's headless Chromium.
 *
 * Run: deno run -A scripts/status_page_screenshot.ts
 *
 * @module
 */
import { defineWorker, EventsClient, Host, Requester, ResponseError } from "../mod.ts";
import { createEventsApi } from "../testing.ts";

const api = createEventsApi({ heartbeatMs: 0 });
const served = await api.serve({ hostname: "127.0.0.1", port: 0 });
const client = new EventsClient({ baseUrl: served.url, token: await api.mintToken() });
const controller = new AbortController();
const host = new Host({
  transport: client,
  signal: controller.signal,
  registrations: [
    defineWorker({
      name: "script-runner",
      names: ["job.run.request"],
      delivery: "unicast",
      concurrency: 4,
      handler: (event, publisher) => {
        if (event.payload === "reboot") throw new Error("script reboot is not allowed on runner-7");
        return publisher.reply({ exitCode: 0 });
      },
    }),
    defineWorker({
      name: "audit",
      names: ["job.audit"],
      required: false,
      handler: () => {},
    }),
  ],
});
const running = host.run();
await host.readiness.waitReady();
const requester = new Requester({ transport: client, responseNames: ["job.run.response"] });
for (const script of ["uptime", "df", "uptime", "reboot"]) {
  await requester.request("job.run.request", script).catch((error) => {
    if (!(error instanceof ResponseError)) throw error;
  });
}
while (host.report().registrations[0]!.deadLettered === 0) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const page = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, host.fetch);
const output = await new Deno.Command("/usr/bin/chromium", {
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    `--user-data-dir=${await Deno.makeTempDir()}`,
    "--window-size=1100,420",
    `--screenshot=${new URL("../docs/status_page.png", import.meta.url).pathname}`,
    `http://127.0.0.1:${page.addr.port}/`,
  ],
  stdout: "null",
  stderr: "null",
}).output();
if (!output.success) throw new Error(`chromium exited with ${output.code}`);
await page.shutdown();
await requester.close();
controller.abort();
await running;
await api.close();
