/**
 * The README is the front door and `docs/` holds the rest: every relative
 * link between them (and to files of the repository) must lead somewhere,
 * down to the heading an anchor names, so moving a section cannot leave a
 * reader at a dead end.
 */
import assert from "node:assert/strict";

const PAGES = [
  "README.md",
  ...[...Deno.readDirSync("docs")]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`),
];

/** Markdown outside code fences and inline code, where links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
export function slugOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

function anchorsOf(markdown: string): Set<string> {
  const headings = prose(markdown).match(/^#{1,6} .+$/gm) ?? [];
  return new Set(headings.map((line) => slugOf(line.replace(/^#+ /, ""))));
}

/** The directory part of `path`, with a trailing slash ("" for the root). */
function dirOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
}

/** `from`'s relative link `target` as a path from the repository root. */
function resolve(from: string, target: string): string {
  const parts = (dirOf(from) + target).split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return out.join("/");
}

Deno.test("slugOf() makes GitHub's anchors for headings with punctuation", () => {
  assert.equal(slugOf("Retries, dead letters and redrive"), "retries-dead-letters-and-redrive");
  assert.equal(
    slugOf("Observe it: traces, metrics, status page"),
    "observe-it-traces-metrics-status-page",
  );
  assert.equal(slugOf("Request/reply"), "requestreply");
});

for (const page of PAGES) {
  Deno.test(`${page}: every relative link leads to a file and heading that exist`, () => {
    const text = prose(Deno.readTextFileSync(page));
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
    const broken: string[] = [];
    for (const link of links) {
      if (/^[a-z]+:/.test(link)) continue; // https:, mailto:
      const [path, anchor] = link.split("#") as [string, string | undefined];
      const file = path === "" ? page : resolve(page, path);
      let target: string;
      try {
        target = Deno.statSync(file).isFile ? Deno.readTextFileSync(file) : "";
      } catch {
        broken.push(`${link} (no file ${file})`);
        continue;
      }
      if (anchor !== undefined && !anchorsOf(target).has(anchor)) {
        broken.push(`${link} (no heading #${anchor} in ${file})`);
      }
    }
    assert.deepEqual(broken, []);
  });
}

Deno.test("README links every page in docs/", () => {
  const readme = Deno.readTextFileSync("README.md");
  for (const page of PAGES.filter((p) => p !== "README.md")) {
    assert.ok(readme.includes(`](${page}`), `README does not link ${page}`);
  }
});
