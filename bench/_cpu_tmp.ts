import process from "node:process";
import { cases, makeCorpus } from "./decode_cases.ts";
const corpus = makeCorpus();
const rounds = Number(Deno.args[0] ?? 6);
const pick = (Deno.args[1] ?? "").split(",").filter(Boolean).map(Number);
if (pick.length) { const keep = pick.map((i) => cases[i]!); cases.length = 0; cases.push(...keep); }
const cpu = cases.map(() => [] as number[]);
const wall = cases.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) for (const [i, c] of cases.entries()) {
  const u0 = process.cpuUsage(); const t0 = performance.now();
  await c.run(corpus);
  const u = process.cpuUsage(u0); const t = performance.now() - t0;
  if (r > 0) { cpu[i]!.push((u.user + u.system) / 1000); wall[i]!.push(t); }
}
const med = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1]!;
const min = (a: number[]) => Math.min(...a);
for (const [i, c] of cases.entries()) console.log(c.name.padEnd(48), "cpu med", (med(cpu[i]!) / med(cpu[0]!)).toFixed(2), "cpu min", (min(cpu[i]!) / min(cpu[0]!)).toFixed(2), "wall med", (med(wall[i]!) / med(wall[0]!)).toFixed(2), "wall min", (min(wall[i]!) / min(wall[0]!)).toFixed(2), med(wall[i]!).toFixed(0));
