import { makeCorpus } from "./decode_cases.ts";
const corpus = makeCorpus();
let sink = 0;
const gc = (globalThis as any).gc as (() => void) | undefined;
const texts = (() => { const d = new TextDecoder(); return corpus.ndjson.map((c) => d.decode(c, { stream: true })); })();
const joined = corpus.strings.join("\n") + "\n";
const fns: [string, () => unknown][] = [
 ["floor", () => { for (const s of corpus.strings) sink += JSON.parse(s).name.length; }],
 ["decode", () => { const d = new TextDecoder(); for (const c of corpus.ndjson) sink += d.decode(c, { stream: true }).length; }],
 ["scan only", () => { for (const text of texts) { let s = 0, n = text.indexOf("\n"); while (n !== -1) { sink += n - s; s = n + 1; n = text.indexOf("\n", s); } } }],
 ["slice+parse joined", () => { const text = joined; let s = 0, n = text.indexOf("\n"); while (n !== -1) { sink += JSON.parse(text.slice(s, n)).name.length; s = n + 1; n = text.indexOf("\n", s); } }],
 ["slice+parse texts", () => { for (const text of texts) { let s = text.indexOf("\n") + 1, n = text.indexOf("\n", s); while (n !== -1) { sink += JSON.parse(text.slice(s, n)).name.length; s = n + 1; n = text.indexOf("\n", s); } } }],
];
const res = fns.map(() => [] as number[]);
for (let r = 0; r < 9; r++) for (const [i, [n, f]] of fns.entries()) { gc?.(); const s = performance.now(); await f(); if (r >= 1) res[i]!.push(performance.now() - s); }
for (const [i, [n]] of fns.entries()) { const a = res[i]!.sort((x, y) => x - y); console.log(n.padEnd(30), a.map((x) => x.toFixed(0)).join(" ")); }
