/**
 * The layers of DESIGN.md hold: data flows top to bottom and nothing imports
 * upward. Each file of `src/` gets a layer; a file may import its own layer
 * or the layers it is allowed to reach. Above the transport seam nothing
 * names a concrete transport, the core never imports `testing/`, `cli/` or
 * `nats/`, and `mod.ts`'s module graph reaches no npm package but LogTape
 * (and, for tracing, the OpenTelemetry API).
 */
import assert from "node:assert/strict";

/**
 * Layers from the top. A file may import its own layer and any layer below
 * it, except those it `forbids`. The transports sit above the seam in this
 * list because they import its types; the layers above them forbid them.
 */
const LAYERS = {
  // The command ships the reference server as `dev-server`.
  cli: { files: /^cli\//, forbids: [] },
  testing: { files: /^testing\//, forbids: ["nats"] },
  host: {
    files: /^(host|health|prometheus|status_page)\.ts$/,
    forbids: ["http", "nats", "http_server"],
  },
  registration: { files: /^registration\.ts$/, forbids: ["http", "nats", "http_server"] },
  // Redrive reads the dead letters the handling layer writes.
  worker: { files: /^(worker|redrive)\.ts$/, forbids: ["http", "nats", "http_server"] },
  handling: { files: /^handling\//, forbids: ["http", "nats", "http_server"] },
  // The rest above the seam: requester, listener and their parts.
  above: {
    files:
      /^(requester|pending|response_listener|publisher|listener|readiness|slots|keyed_queue|queued_heartbeat|lossy|response_schema)\.ts$/,
    forbids: ["http", "nats", "http_server"],
  },
  http: {
    files:
      /^(client|event_stream|idle_watch|http_errors|content_type|stream_limit|body_reader)\.ts$|^decode\//,
    forbids: ["nats"],
  },
  nats: { files: /^nats\//, forbids: ["http_server"] },
  // Spans and their conventions: what the transports (NATS settle spans) and the layers above share.
  tracing: { files: /^tracing\//, forbids: ["http", "nats", "http_server"] },
  // The interface the transports above implement and the layers above use.
  seam: { files: /^transport\.ts$/, forbids: ["http_server"] },
  // Serving, and keeping a server accepting after its accept loop died.
  http_server: { files: /^(http_server|keep_accepting)\.ts$/, forbids: [] },
  leaves: {
    files:
      /^(envelope|errors|failure_cause|log_fields|secrets|dialed_url|abort_watch|async|runtime|idempotency_store|key_table|schema|reconnect)\.ts$|^env\//,
    forbids: [],
  },
} as const;

type Layer = keyof typeof LAYERS;

/** `decode/types.ts` holds the option types every layer shares; it imports nothing. */
const SHARED_TYPES = "decode/types.ts";

/** The layer of a path relative to `src/`, or `undefined` for a file no layer claims. */
function layerOf(path: string): Layer | undefined {
  for (const [layer, { files }] of Object.entries(LAYERS)) {
    if (files.test(path)) return layer as Layer;
  }
  return undefined;
}

/** The `src/`-relative paths a file imports (static, re-exports and dynamic). */
function importsOf(path: string, source: string): string[] {
  const specifiers = [
    ...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']/g),
    ...source.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g),
    ...source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.filter((spec) => spec.startsWith(".")).map((spec) =>
    new URL(spec, `file:///src/${path}`).pathname.replace(/^\/src\//, "")
  );
}

/** Every import from one layer into a layer it may not reach, as `from -> to`. */
function violations(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      found.push(`${from}: no layer claims this file`);
      continue;
    }
    const order = Object.keys(LAYERS);
    const forbidden: readonly string[] = LAYERS[fromLayer].forbids;
    const allowed = new Set(
      order.slice(order.indexOf(fromLayer)).filter((layer) => !forbidden.includes(layer)),
    );
    for (const to of targets) {
      if (to === SHARED_TYPES) continue;
      const toLayer = layerOf(to);
      if (toLayer === undefined || !allowed.has(toLayer)) {
        found.push(`${from} -> ${to} (${fromLayer} -> ${toLayer ?? "outside src/"})`);
      }
    }
  }
  return found;
}

async function* sourceFiles(dir: string, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(`${dir}/${entry.name}`, `${relative}/`);
    else if (entry.name.endsWith(".ts")) yield relative;
  }
}

async function sourceGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for await (const path of sourceFiles("src")) {
    // Doc comments hold example imports; block comments go before the scan.
    const source = (await Deno.readTextFile(`src/${path}`)).replace(/\/\*[\s\S]*?\*\//g, "");
    graph.set(path, importsOf(path, source));
  }
  return graph;
}

Deno.test("src/ imports follow the layers: nothing imports upward", async () => {
  const graph = await sourceGraph();
  assert.ok(graph.size > 40, `scanned only ${graph.size} files`);
  assert.ok(
    [...graph.values()].flat().length > 100,
    "the import scan found too few imports to be reading them",
  );
  assert.deepEqual(violations(graph), []);
});

Deno.test("violations() reports an upward import, a concrete transport above the seam and an unclaimed file", () => {
  const graph = new Map([
    ["listener.ts", ["worker.ts", "transport.ts", "decode/types.ts"]],
    ["worker.ts", ["client.ts", "handling/compose.ts"]],
    ["errors.ts", ["testing/events_api.ts"]],
    ["transport.ts", ["envelope.ts"]],
    ["surprise.ts", []],
  ]);
  assert.deepEqual(violations(graph), [
    "listener.ts -> worker.ts (above -> worker)",
    "worker.ts -> client.ts (worker -> http)",
    "errors.ts -> testing/events_api.ts (leaves -> testing)",
    "surprise.ts: no layer claims this file",
  ]);
});

Deno.test("importsOf() reads static, type-only, re-exported and dynamic imports", () => {
  const source = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    'export { c } from "./c/c.ts";',
    'import "./side_effect.ts";',
    'const lazy = await import("./lazy.ts");',
    'import { logger } from "@logtape/logtape";',
  ].join("\n");
  assert.deepEqual(importsOf("handling/x.ts", source).sort(), [
    "b.ts",
    "handling/a.ts",
    "handling/c/c.ts",
    "handling/lazy.ts",
    "handling/side_effect.ts",
  ]);
});

/** The modules `entry`'s import graph reaches, as `deno info` resolves them. */
async function moduleGraph(
  entry: string,
): Promise<Array<{ specifier: string; npmPackage?: string }>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: Array<{ specifier: string; npmPackage?: string }>;
  }).modules;
}

Deno.test("mod.ts reaches no npm package but LogTape and the OpenTelemetry API", async () => {
  const info = { modules: await moduleGraph("mod.ts") };
  // `npmPackages` lists the whole lock file; the modules are the graph.
  const packages = new Set(
    info.modules.flatMap((m) => m.npmPackage ? [m.npmPackage.replace(/(?<=.)@[^@]*$/, "")] : []),
  );
  assert.ok(packages.has("@logtape/logtape"), "the scan sees npm packages");
  packages.delete("@logtape/logtape");
  packages.delete("@opentelemetry/api");
  assert.deepEqual([...packages], []);
  const outside = info.modules.map((m) => m.specifier).filter((specifier) =>
    /\/src\/(testing|cli|nats)\//.test(specifier) || specifier.endsWith("/src/http_server.ts")
  );
  assert.deepEqual(outside, [], "the core graph reaches testing/, cli/, nats/ or http_server.ts");
});

Deno.test("decode.ts reaches only the decoders and the leaves, and no npm package", async () => {
  const root = new URL("../", import.meta.url).href;
  const reached = (await moduleGraph("decode.ts")).map((m) =>
    m.npmPackage ?? m.specifier.replace(root, "")
  );
  const beyond = reached.filter((module) =>
    module !== "decode.ts" &&
    !/^src\/(decode\/[a-z0-9_]+|envelope|errors|failure_cause|content_type)\.ts$/.test(module)
  );
  assert.deepEqual(beyond, []);
});
