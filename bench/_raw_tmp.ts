import { makeCorpus } from "./decode_cases.ts";
import { createParser } from "eventsource-parser";
import { SseParser } from "../src/decode/sse.ts";
const corpus = makeCorpus(20000);
let sink = 0;
const fns: [string, () => unknown][] = [
 ["sse raw", () => { const p = new SseParser(1 << 20, { onEvent: (e, d, id) => { sink += d.length + id.length; } }); for (const c of corpus.sse) p.feed(c); p.end(); }],
 ["esp raw", () => { const d = new TextDecoder(); const p = createParser({ onEvent: (e) => { sink += e.data.length + e.id!.length; } }); for (const c of corpus.sse) p.feed(d.decode(c, {stream: true})); }],
];
for (let round = 0; round < 3; round++) for (const [n, f] of fns) { const t = []; for (let r = 0; r < 40; r++) { const s = performance.now(); f(); t.push(performance.now() - s); } t.sort((a, b) => a - b); if (round === 2) console.log(n.padEnd(24), "min", t[0]!.toFixed(2), "p25", t[10]!.toFixed(2), "med", t[20]!.toFixed(2)); }
