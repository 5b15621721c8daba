/**
 * `bench/scale_probe.ts` `residentBytes()`: on Linux the process's
 * anonymous resident memory, without the file-backed pages of the runtime's
 * executable; the whole resident set where `/proc/self/status` cannot be
 * read (Deno lets a program read `/proc/self` only with `--allow-all`).
 * Each case runs in a Deno child with the permissions it is about.
 */
import assert from "node:assert/strict";
import process from "node:process";

const PROBE = new URL("../bench/scale_probe.ts", import.meta.url).href;

/** What a child reports: `residentBytes()`, the whole set and `/proc/self/status`'s fields, in bytes. */
interface Reading {
  resident: number;
  rss: number;
  status?: { anon: number; shmem: number; file: number };
}

/** Runs a Deno child with `permissions` that reads `residentBytes()` and what it stands for. */
async function readInChild(permissions: string[]): Promise<Reading> {
  const dir = await Deno.makeTempDir({ prefix: "bus-scale-probe-" });
  try {
    const program = `${dir}/resident.ts`;
    await Deno.writeTextFile(
      program,
      `import { readFileSync } from "node:fs";
      import process from "node:process";
      import { residentBytes } from ${JSON.stringify(PROBE)};
      const kib = (text, field) => Number(new RegExp("^" + field + ":\\\\s+(\\\\d+) kB$", "m").exec(text)[1]) * 1024;
      const before = residentBytes();
      const rss = process.memoryUsage().rss;
      let status;
      try {
        const text = readFileSync("/proc/self/status", "utf8");
        status = { anon: kib(text, "RssAnon"), shmem: kib(text, "RssShmem"), file: kib(text, "RssFile") };
      } catch {}
      console.log(JSON.stringify({ resident: before, rss, status }));`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...permissions, program],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    return JSON.parse(new TextDecoder().decode(output.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "residentBytes() counts anonymous pages and leaves the executable's file pages out on Linux",
  ignore: process.platform !== "linux",
  async fn() {
    const { resident, rss, status } = await readInChild(["--allow-all"]);
    assert.ok(status, "the child read /proc/self/status");
    // Read a moment apart: the heap may move a page or two in between.
    const anon = status.anon + status.shmem;
    assert.ok(Math.abs(resident - anon) <= 256 * 1024, `${resident} ≈ ${anon}`);
    // Deno's own code pages are resident and file-backed: the whole set is larger by them.
    assert.ok(status.file > 1024 * 1024, "the executable's pages are resident");
    assert.ok(rss - resident >= status.file / 2, `${rss} − ${resident} against ${status.file}`);
  },
});

Deno.test("residentBytes() is the whole resident set where /proc/self/status cannot be read", async () => {
  // No --allow-all: Deno refuses the read, as it does for the benchmark's own runs.
  const { resident, rss, status } = await readInChild([]);
  assert.equal(status, undefined, "the child could not read /proc/self/status");
  // Both the whole set, read a moment apart; the anonymous part alone is megabytes less.
  assert.ok(Math.abs(resident - rss) <= 1024 * 1024, `${resident} ≈ ${rss}`);
});
