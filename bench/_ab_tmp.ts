import process from "node:process";
import { makeCorpus } from "./decode_cases.ts";
import { EnvelopeDecoderStream } from "../src/decode/envelopes.ts";
import { SseParserStream } from "../src/decode/sse.ts";
import { SseParser } from "../src/decode/sse.ts";
import { parserTransformer } from "../src/decode/types.ts";
const corpus = makeCorpus();
function source<T>(chunks: T[]): ReadableStream<T> { let i = 0; return new ReadableStream<T>({ pull(c) { const x = chunks[i++]; if (x === undefined) c.close(); else c.enqueue(x); } }); }
async function drain<T>(s: ReadableStream<T>, use: (v: T) => number) { const r = s.getReader(); let n = 0; while (true) { const { done, value } = await r.read(); if (done) break; n += use(value); } return n; }
class Variant extends TransformStream<Uint8Array, any> {
  constructor(mode: number) {
    super(parserTransformer<any>((controller) => new SseParser(1 << 20, { onEvent: (_e, data, id) => {
      if (mode === 0) { controller.enqueue(JSON.parse(data)); }
      else if (mode === 1) { controller.enqueue({ event: _e, data, lastEventId: id }); }
      else if (mode === 2) { const v = JSON.parse(data); if (typeof v.name === "string") controller.enqueue(v); }
    } })));
  }
}
const fns: [string, () => Promise<number>][] = [
  ["floor", async () => { let n = 0; for (const s of corpus.strings) n += JSON.parse(s).name.length; return n; }],
  ["SseParserStream+parse", () => drain(source(corpus.sse).pipeThrough(new SseParserStream()), (m) => JSON.parse(m.data).name.length)],
  ["Envelope(sse)", () => drain(source(corpus.sse).pipeThrough(new EnvelopeDecoderStream("sse")), (m) => m.name.length)],
  ["variant parse in transform", () => drain(source(corpus.sse).pipeThrough(new Variant(0)), (m) => m.name.length)],
  ["variant message obj", () => drain(source(corpus.sse).pipeThrough(new Variant(1)), (m) => JSON.parse(m.data).name.length)],
  ["variant parse+check", () => drain(source(corpus.sse).pipeThrough(new Variant(2)), (m) => m.name.length)],
];
const rounds = 14;
const cpu = fns.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) for (const [i, [, f]] of fns.entries()) { const u0 = process.cpuUsage(); await f(); const u = process.cpuUsage(u0); if (r > 0) cpu[i]!.push((u.user + u.system) / 1000); }
const med = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1]!;
for (const [i, [n]] of fns.entries()) console.log(n.padEnd(30), (med(cpu[i]!) / med(cpu[0]!)).toFixed(2), (Math.min(...cpu[i]!) / Math.min(...cpu[0]!)).toFixed(2));
