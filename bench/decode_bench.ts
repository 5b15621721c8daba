/**
 * `deno bench` entry for the stream decoders: every case of
 * `decode_cases.ts` in one group, with the `JSON.parse` floor as baseline so
 * that Deno prints each case's ratio to it. For Node and Bun, see
 * `run_cross.sh`.
 *
 * @module
 */

import { cases, makeCorpus } from "./decode_cases.ts";

const corpus = makeCorpus();

for (const benchCase of cases) {
  Deno.bench({
    name: benchCase.name,
    group: "decode 200k envelopes",
    baseline: benchCase.baseline ?? false,
    // One run decodes ~50 MB; a few runs give a stable median.
    warmup: 2,
    n: 10,
    async fn() {
      const count = await benchCase.run(corpus);
      if (count !== corpus.strings.length) {
        throw new Error(`Cannot trust ${benchCase.name}: decoded ${count} envelopes`);
      }
    },
  });
}
