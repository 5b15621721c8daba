import { cases, makeCorpus } from "./decode_cases.ts";
const corpus = makeCorpus();
const c = cases[Number(Deno.args[0])]!;
for (let i = 0; i < 8; i++) await c.run(corpus);
