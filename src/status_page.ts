/**
 * The host's status page, `GET /` on its health port: one small HTML page
 * with no framework, no scripts and no external assets, so it works
 * offline and behind any proxy. It shows each registration's state,
 * readiness, counters and last failure, and refreshes itself.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { HostReport, RegistrationReport } from "./health.ts";

/** Seconds between the page's own reloads. */
export const STATUS_REFRESH_SECONDS = 5;

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` safe inside HTML text and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1b1f24;background:#fff}
h1{font-size:1.3rem;margin:0 0 .25rem}
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
p.meta{color:#57606a;margin:0 0 1rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.state{font-weight:600}
.ready{color:#1a7f37}.starting,.reconnecting,.stopping{color:#9a6700}.failed{color:#cf222e}.stopped{color:#57606a}
.error{font-family:ui-monospace,monospace;font-size:12px;color:#cf222e;white-space:pre-wrap}
`;

function row(registration: RegistrationReport): string {
  const cells = [
    `<td>${escapeHtml(registration.name)}${
      registration.required ? "" : " <small>(optional)</small>"
    }</td>`,
    `<td class="state ${registration.state}">${registration.state}</td>`,
    ...[
      registration.handled,
      registration.failed,
      registration.inFlight,
      registration.retried,
      registration.deadLettered,
      registration.dropped,
    ].map((value) => `<td class="n">${value}</td>`),
    `<td class="error">${
      registration.lastError === null ? "" : escapeHtml(registration.lastError)
    }</td>`,
  ];
  return `<tr>${cells.join("")}</tr>`;
}

/** The recent dead letters of every registration, newest first, as table rows. */
function deadLetterRows(report: HostReport): string[] {
  return report.registrations
    .flatMap((registration) =>
      registration.recentDeadLetters.map((letter) => ({ registration: registration.name, letter }))
    )
    .sort((a, b) => b.letter.at.localeCompare(a.letter.at))
    .map(({ registration, letter }) =>
      `<tr><td>${escapeHtml(letter.at)}</td><td>${escapeHtml(registration)}</td><td>${
        escapeHtml(letter.name)
      } ${escapeHtml(letter.id ?? "")}</td><td class="n">${letter.attempts}</td><td>${
        escapeHtml(letter.deadLetter)
      }</td><td class="error">${escapeHtml(letter.reason)}</td></tr>`
    );
}

/** The "Recent dead letters" section: what failed for good, and where to redrive it from. */
function deadLetterSection(report: HostReport): string {
  const rows = deadLetterRows(report);
  if (rows.length === 0) return '<h2>Recent dead letters</h2>\n<p class="meta">none</p>';
  return `<h2>Recent dead letters</h2>
<table>
<thead><tr><th>at</th><th>registration</th><th>event</th><th>attempts</th><th>dead letter</th><th>reason</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>`;
}

/**
 * The page for `report`; `transport` names what the host dials (a URL with
 * no credentials).
 */
export function statusPage(report: HostReport, transport: string): string {
  const headline = report.ready ? "ready" : "not ready";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${STATUS_REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>bus-integration: ${headline}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>bus-integration host: <span class="state ${
    report.ready ? "ready" : "failed"
  }">${headline}</span></h1>
<p class="meta">Host ${report.status} · transport ${
    escapeHtml(transport)
  } · ${report.registrations.length} registrations · refreshes every ${STATUS_REFRESH_SECONDS} s · <a href="/readyz">/readyz</a> · <a href="/metrics">/metrics</a></p>
<table>
<thead><tr><th>registration</th><th>state</th><th>handled</th><th>failed</th><th>in flight</th><th>retried</th><th>dead letters</th><th>dropped</th><th>last failure</th></tr></thead>
<tbody>
${report.registrations.map(row).join("\n")}
</tbody>
</table>
${deadLetterSection(report)}
</body>
</html>
`;
}
