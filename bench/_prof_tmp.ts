import { makeCorpus } from "./decode_cases.ts";
import { createParser } from "eventsource-parser";
import { SseParser } from "../src/decode/sse.ts";
import { NdjsonParser } from "../src/decode/ndjson.ts";
import { cases } from "./decode_cases.ts";
const corpus = makeCorpus();
let sink = 0;
const gc = (globalThis as any).gc as (() => void) | undefined;
const fns: [string, () => unknown][] = [
 ["floor", () => { for (const s of corpus.strings) sink += JSON.parse(s).name.length; }],
 ["ndjson raw", () => { const p = new NdjsonParser(1 << 20, { onValue: (v) => { sink += (v as any).name.length; } }); for (const c of corpus.ndjson) p.feed(c); p.end(); }],
 ["sse raw only", () => { const p = new SseParser(1 << 20, { onEvent: (e, d, id) => { sink += d.length; } }); for (const c of corpus.sse) p.feed(c); p.end(); }],
 ["esp raw only", () => { const d = new TextDecoder(); const p = createParser({ onEvent: (e) => { sink += e.data.length; } }); for (const c of corpus.sse) p.feed(d.decode(c, {stream: true})); }],
 ["sse raw+parse", () => { const p = new SseParser(1 << 20, { onEvent: (e, d, id) => { sink += JSON.parse(d).name.length; } }); for (const c of corpus.sse) p.feed(c); p.end(); }],
 ...cases.slice(1).map((c) => [c.name, () => c.run(corpus)] as [string, () => unknown]),
];
const res = fns.map(() => [] as number[]);
const rounds = Number(Deno.args[0] ?? 7);
for (let r = 0; r < rounds; r++) for (const [i, [n, f]] of fns.entries()) { gc?.(); const s = performance.now(); await f(); if (r >= 1) res[i]!.push(performance.now() - s); }
const fl = res[0]!.slice().sort((a, b) => a - b);
for (const [i, [n]] of fns.entries()) { const a = res[i]!.sort((x, y) => x - y); const med = a[a.length >> 1]!; console.log(n.padEnd(40), "min", a[0]!.toFixed(0).padStart(4), "med", med.toFixed(0).padStart(4), "ratio(med)", (med / fl[fl.length >> 1]!).toFixed(2), "ratio(min)", (a[0]! / fl[0]!).toFixed(2)); }
