import { triggerWorkflowId } from '../domain/labels';
import { ledgerWorkflowId, type LedgerMatrix, type MatrixJob, type MatrixPayload } from '../domain/ledger';
import { attemptsText, jobColumns, prowUrlOf } from '../domain/matrixView';
import { attemptDetail, describePaused } from './status';
import type { StatusReport } from './statusRead';

// The status page `serve` sends: per version, payload × job, newest payload first, one cell per
// (payload, job) with the verdict (its colour from the class `verdict-<verdict>`), the attempts,
// and links to the ProwJob and to the trigger's workflow in the Temporal UI. Server-rendered,
// no script; every value from the ledgers is escaped.

export interface PageContext {
  namespace: string;
  taskQueue: string;
  /** The Temporal UI (`ui.url`); without it, workflow IDs are shown without links. */
  uiUrl?: string;
  /** When the ledgers were read (ISO). */
  readAt: string;
  /** A version's configured jobs (short names), to order the columns; others follow as the ledger lists them. */
  jobOrder?: (version: string) => string[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** `${ui}/namespaces/<ns>/workflows/<id>`: the workflow's latest run in the Temporal UI. */
export function temporalUiUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Only http(s) URLs become links: a Prow URL comes from Deck's answer. */
function safeHref(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

function link(href: string | undefined, text: string, cls: string): string {
  return href ? `<a class="${cls}" href="${escapeHtml(href)}">${escapeHtml(text)}</a>` : '';
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
.meta, .facts { color: #555; font-size: .85rem; }
section.version { margin: 1.6rem 0; }
h2 { font-size: 1.15rem; margin: 0 0 .3rem; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border: 1px solid #d0d0d0; padding: .35rem .5rem; vertical-align: top; text-align: left; }
th.payload { font-weight: normal; white-space: nowrap; }
th.payload .first-seen { color: #666; font-size: .75rem; }
td.cell .verdict { font-weight: 600; }
td.cell .attempts-label, td.cell .attempts { color: #333; }
td.cell .execution { color: #444; font-size: .75rem; font-family: ui-monospace, monospace; }
td.cell .links a { margin-right: .5rem; }
td.cell .detail { color: #444; font-size: .75rem; max-width: 22rem; }
td.none { color: #999; text-align: center; }
.paused { color: #8a4b00; font-weight: 600; }
.verdict-success { background: #d8f5d8; }
.verdict-failure { background: #ffd6d6; }
.verdict-error { background: #ffb8b8; }
.verdict-failed-to-trigger { background: #ffc9a8; }
.verdict-aborted { background: #e6e6e6; }
.verdict-unknown { background: #eadcff; }
.verdict-pending, .verdict-triggering { background: #dcecff; }
.verdict-running { background: #fff3bf; }
.verdict-skipped { background: #f6f6f6; }
`;

export function renderStatusPage(report: StatusReport, ctx: PageContext): string {
  const sections = report.versions.map((m) => renderVersion(m, report.withoutLedger.has(m.version), ctx)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>osc-build-watcher status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
</head>
<body>
<h1>osc-build-watcher: payload × job</h1>
<p class="meta">Read from the ledgers at <time>${escapeHtml(ctx.readAt)}</time>; namespace ${escapeHtml(ctx.namespace)}, task queue ${escapeHtml(ctx.taskQueue)}. Newest payload first. JSON: <a href="/api/status">/api/status</a></p>
${sections || '<p>No version is watched.</p>'}
</body>
</html>
`;
}

function renderVersion(m: LedgerMatrix, withoutLedger: boolean, ctx: PageContext): string {
  const ledgerId = ledgerWorkflowId(ctx.taskQueue, m.version);
  const ledgerLink = ctx.uiUrl ? link(temporalUiUrl(ctx.uiUrl, ctx.namespace, ledgerId), 'ledger in the Temporal UI', 'temporal ledger') : '';
  const head = `<h2>OCP ${escapeHtml(m.version)}</h2>`;
  if (withoutLedger) {
    return `<section class="version" id="ocp-${escapeHtml(m.version)}" data-version="${escapeHtml(m.version)}">${head}<p class="facts">no ledger yet (nothing claimed or paused)</p></section>`;
  }
  const facts = [
    m.newestTriggered ? `newest triggered ${escapeHtml(m.newestTriggered)}` : 'nothing triggered yet',
    m.paused ? `<span class="paused">PAUSED ${escapeHtml(describePaused(m.paused))}</span>` : '',
    ledgerLink,
  ].filter(Boolean);
  const order = ctx.jobOrder?.(m.version) ?? [];
  const rank = (shortName: string) => (order.includes(shortName) ? order.indexOf(shortName) : order.length);
  const columns = jobColumns(m)
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c.shortName) - rank(b.c.shortName) || a.i - b.i)
    .map(({ c }) => c);
  const table =
    m.payloads.length === 0
      ? '<p>no payload recorded</p>'
      : `<table class="matrix">
<thead><tr><th>payload</th>${columns.map((c) => `<th class="job" title="${escapeHtml(c.job)}">${escapeHtml(c.shortName)}</th>`).join('')}</tr></thead>
<tbody>
${m.payloads.map((p) => renderRow(p, columns, ctx)).join('\n')}
</tbody>
</table>`;
  return `<section class="version" id="ocp-${escapeHtml(m.version)}" data-version="${escapeHtml(m.version)}">
${head}
<p class="facts">${facts.join(' · ')}</p>
${table}
</section>`;
}

function renderRow(p: MatrixPayload, columns: Array<{ shortName: string }>, ctx: PageContext): string {
  const cells = columns.map((c) => {
    const job = p.jobs.find((j) => j.shortName === c.shortName);
    return job ? renderCell(p, job, ctx) : `<td class="none" data-job="${escapeHtml(c.shortName)}">–</td>`;
  });
  return `<tr data-payload="${escapeHtml(p.name)}"><th class="payload" title="${escapeHtml(p.pullSpec)}">${escapeHtml(p.name)}<br><span class="first-seen">first seen ${escapeHtml(p.firstSeenAt)}</span></th>${cells.join('')}</tr>`;
}

function renderCell(p: MatrixPayload, job: MatrixJob, ctx: PageContext): string {
  const latest = job.attempts[job.attempts.length - 1];
  const prow = link(safeHref(prowUrlOf(job)), 'Prow', 'prow');
  const workflowId = triggerWorkflowId(job.job, p.name);
  const temporal = ctx.uiUrl ? link(temporalUiUrl(ctx.uiUrl, ctx.namespace, workflowId), 'workflow', 'temporal') : '';
  // The URL is the link above; the text says the rest (when it ended, the next look, why it gave up).
  const detail = latest ? attemptDetail({ ...latest, url: undefined, executionId: undefined }) : '';
  const retest = job.retestPending ? `retest requested ${job.retestPending.at}${job.retestPending.note ? `: ${job.retestPending.note}` : ''}` : '';
  const execution = latest?.executionId
    ? `<div class="execution" title="${escapeHtml(latest.executionId)}">execution ${escapeHtml(shorten(latest.executionId))}</div>`
    : '';
  return (
    `<td class="cell verdict-${escapeHtml(job.verdict)}" data-job="${escapeHtml(job.shortName)}" data-verdict="${escapeHtml(job.verdict)}" title="${escapeHtml(workflowId)}">` +
    `<span class="verdict">${escapeHtml(job.verdict)}</span> <span class="attempts-label">attempts</span> <span class="attempts">${escapeHtml(attemptsText(job))}</span>` +
    (prow || temporal ? `<div class="links">${prow}${temporal}</div>` : '') +
    execution +
    (detail || retest ? `<div class="detail">${escapeHtml([detail, retest].filter(Boolean).join('; '))}</div>` : '') +
    `</td>`
  );
}

function shorten(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}
