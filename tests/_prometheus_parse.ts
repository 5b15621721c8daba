/**
 * Parses Prometheus text exposition with the official Python client's
 * parser (`prometheus_client.parser`, Debian's `python3-prometheus-client`),
 * so tests check `/metrics` against a real parser, not our own reading.
 *
 * @module
 */

/** One parsed sample. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One parsed metric family. */
export interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type, "samples": [
        {"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)}
        for s in family.samples]})
print(json.dumps(out))
`;

/** The Python that has the parser: Debian's, not a version manager's shim. */
export const PARSER_PYTHON = "/usr/bin/python3";

/** Whether the parser is installed (it is in CI: `.ci/run` installs it). */
export async function hasPrometheusParser(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(PARSER_PYTHON, {
      args: ["-c", "import prometheus_client.parser"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Parses `text`; rejects with the parser's own error for malformed input. */
export async function parsePrometheus(text: string): Promise<Family[]> {
  const child = new Deno.Command(PARSER_PYTHON, {
    args: ["-c", SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
