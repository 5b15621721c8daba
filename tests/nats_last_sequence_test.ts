/**
 * `LastSequence`, the coalesced "stream's last sequence now": callers that
 * arrive while a request is in flight share the next request, never the
 * one sent before their call. The requests here are promises the test
 * settles by hand; the real-server side is in nats_live_tail_test.ts.
 */
import assert from "node:assert/strict";
import { LastSequence } from "../src/nats/last_sequence.ts";

/** An `ask` whose requests the test answers one by one, in order. */
function scriptedAsk() {
  const requests: PromiseWithResolvers<number>[] = [];
  return {
    requests,
    ask: () => {
      const request = Promise.withResolvers<number>();
      requests.push(request);
      return request.promise;
    },
  };
}

Deno.test("LastSequence.now() asks once for the callers that arrive while a request is in flight", async () => {
  const { requests, ask } = scriptedAsk();
  const last = new LastSequence(ask);
  const first = last.now();
  const second = last.now();
  const third = last.now();
  assert.equal(requests.length, 1, "the later callers wait for the next request");
  requests[0]!.resolve(10);
  assert.equal(await first, 10);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(requests.length, 2, "one request for both later callers, sent after the first");
  requests[1]!.resolve(12);
  assert.deepEqual(await Promise.all([second, third]), [12, 12]);
  const fourth = last.now();
  assert.equal(requests.length, 3, "nothing in flight: a request at once");
  requests[2]!.resolve(13);
  assert.equal(await fourth, 13);
});

Deno.test("LastSequence.now() rejects the callers of a failed request and asks again next time", async () => {
  const { requests, ask } = scriptedAsk();
  const last = new LastSequence(ask);
  const first = last.now();
  const waiting = last.now();
  const failure = new Error("no answer");
  requests[0]!.reject(failure);
  await assert.rejects(first, (error) => error === failure);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(requests.length, 2, "a failed request still lets the waiting callers ask");
  requests[1]!.reject(failure);
  await assert.rejects(waiting, (error) => error === failure);
  const again = last.now();
  assert.equal(requests.length, 3);
  requests[2]!.resolve(5);
  assert.equal(await again, 5);
});
