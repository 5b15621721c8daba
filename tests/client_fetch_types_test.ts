/**
 * Type tests (checked by `deno test`, which type-checks first): what the
 * `fetch` option and `ResponseError` accept.
 */
import assert from "node:assert/strict";
import { EventsClient, ResponseError } from "../mod.ts";
import { createEventsApi } from "../testing.ts";

Deno.test("EventsClient takes the platform's fetch, a fetch-shaped wrapper or an in-process handler", () => {
  const api = createEventsApi();
  const clients = [
    new EventsClient({ baseUrl: "http://bus.test", fetch }),
    new EventsClient({ baseUrl: "http://bus.test", fetch: globalThis.fetch }),
    new EventsClient({
      baseUrl: "http://bus.test",
      fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
    }),
    new EventsClient({ baseUrl: "http://bus.test", fetch: (request) => api.fetch(request) }),
    // @ts-expect-error a function of a URL string alone would be handed a Request
    new EventsClient({ baseUrl: "http://bus.test", fetch: (url: string) => fetch(url) }),
  ];
  assert.equal(clients.length, 5);
});

Deno.test("ResponseError takes only its body; context and options are optional", () => {
  const error = new ResponseError({ code: "not_found", message: "no such job" });
  assert.equal(error.code, "not_found");
  assert.equal(error.correlationId, undefined);
  assert.deepEqual(error.toJSON(), { code: "not_found", message: "no such job" });
});
