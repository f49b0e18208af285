import { triggerWorkflowIdOf } from './labels';
import { ledgerWorkflowId, type LedgerMatrix } from './ledger';
import { attemptsText, jobColumns } from './matrixView';
import type { JobSpec, PassRequest, PassSummary, Release } from './types';

// What the Temporal UI shows of the watcher's workflows, besides IDs and search attributes:
// static summaries and details (set when a workflow or schedule is started), the current details
// of the pass and of the ledgers (Markdown matrices), and a one-line summary per activity call.
// Pure and deterministic: workflows build these from their inputs and state.

/** The Temporal UI shows a line; the server bounds user metadata. */
const MAX_SUMMARY = 200;
/** Current details are answered by a query (never in history), but stay readable. */
const MAX_DETAILS = 20_000;

const MD_SPECIAL = /[\\`*_{}[\]<>()#+!|]/g;

/** Text safe in Markdown (and in a table cell): specials escaped, one line. */
export function md(text: string): string {
  return text.replace(/\s+/g, ' ').replace(MD_SPECIAL, (c) => `\\${c}`);
}

function line(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MAX_SUMMARY ? `${one.slice(0, MAX_SUMMARY - 1)}…` : one;
}

function bounded(text: string): string {
  return text.length > MAX_DETAILS ? `${text.slice(0, MAX_DETAILS)}\n\n… (cut at ${MAX_DETAILS} characters)` : text;
}

/** Only http(s) links: a Prow URL comes from Deck. */
function mdLink(text: string, url: string | undefined): string {
  if (!url || !/^https?:\/\/[^\s()<>]+$/.test(url)) return '';
  return `[${md(text)}](${url})`;
}

/** A link to another workflow within the same Temporal UI (relative: the UI's own origin). */
function workflowLink(text: string, namespace: string, workflowId: string): string {
  return `[${md(text)}](/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)})`;
}

// ---- The pass -----------------------------------------------------------------------------

/** The pass's static summary, set by whoever starts it (`run`, the schedule). */
export function passSummaryLine(request: PassRequest, versions: string[] | 'discover'): string {
  const which = versions === 'discover' ? 'discovered OCP versions' : `OCP ${(request.versions ?? versions).join(', ')}`;
  const jobs = request.jobs ? `jobs ${request.jobs.join(', ')}` : 'all configured jobs';
  return line(`${request.dryRun ? 'Dry-run pass' : 'Pass'}: newest Accepted nightly of ${which}; ${jobs}`);
}

export function passDetailsStatic(request: PassRequest, versions: string[] | 'discover', configSource: string): string {
  return [
    '**osc-build-watcher pass**: for each OCP version, finds the newest Accepted nightly on the release controller, asks Deck and the version\'s ledger whether each OSC job already tested that exact payload, and triggers those that did not (Gangway, `RELEASE_IMAGE_LATEST` pinned).',
    '',
    `- versions: ${versions === 'discover' ? 'discovered from the release controller when the pass starts' : md((request.versions ?? versions).join(', '))}`,
    `- jobs: ${request.jobs ? md(request.jobs.join(', ')) : 'all configured for each version'}`,
    `- dry run: ${request.dryRun ? 'yes (nothing is posted)' : 'no'}`,
    `- the payloads: found by the pass (its current details and its \`summary\` query)`,
    `- configuration: the worker's (${md(configSource)} where this was started)`,
  ].join('\n');
}

const DECISION_MARK: Record<string, string> = {
  triggered: '▶ triggered',
  'would-trigger': '▷ would trigger',
  skipped: '✓ skipped',
  failed: '✗ failed',
  pending: '… pending',
};

/**
 * The pass's current details: per version, its payload and one cell per job (decision, the
 * execution, a link to the version's ledger, which follows it and holds its Prow link).
 */
export function passDetailsMarkdown(summary: PassSummary, ctx: { namespace: string; taskQueue: string }): string {
  const out: string[] = [
    `**Pass ${summary.state === 'done' ? 'done' : 'running'}**${summary.dryRun ? ' (dry run)' : ''}: ${summary.totals.triggered} triggered, ${summary.totals.skipped} skipped, ${summary.totals.failed} failed` +
      (summary.dryRun ? `, ${summary.totals.wouldTrigger} would trigger` : ''),
    '',
  ];
  const columns = [...new Map(summary.versions.flatMap((v) => v.jobs.map((j) => [j.shortName, j.shortName] as const))).keys()];
  if (columns.length > 0) {
    out.push(`| OCP | payload | ${columns.map(md).join(' | ')} |`, `|---|---|${columns.map(() => '---|').join('')}`);
  }
  const plain: string[] = [];
  for (const v of summary.versions) {
    if (!v.release || v.jobs.length === 0) {
      plain.push(`- OCP ${md(v.version)}: ${md(v.releaseError ?? v.state)}`);
      continue;
    }
    const ledger = ledgerWorkflowId(ctx.taskQueue, v.version);
    const cells = columns.map((c) => {
      const j = v.jobs.find((x) => x.shortName === c);
      if (!j) return '';
      const mark = DECISION_MARK[j.decision] ?? md(j.decision);
      const execution = j.executionId ? ` ${md(j.executionId.slice(0, 8))}` : '';
      const follow = j.executionId && j.decision !== 'skipped' ? ` ${workflowLink('Prow link in the ledger', ctx.namespace, ledger)}` : '';
      return `${mark}${execution}${follow}`;
    });
    out.push(`| ${md(v.version)} | ${md(v.release.name)} | ${cells.join(' | ')} |`);
  }
  if (plain.length) out.push('', ...plain);
  return bounded(out.join('\n'));
}

// ---- A version of the pass, and a trigger ---------------------------------------------------

export function versionSummaryLine(version: string, release: Release, jobs: number, dryRun: boolean): string {
  return line(`OCP ${version}: ${release.name}, ${jobs} job${jobs === 1 ? '' : 's'}${dryRun ? ' (dry run)' : ''}`);
}

export function versionDetailsStatic(version: string, stream: string, release: Release, jobs: JobSpec[]): string {
  return [
    `**OCP ${md(version)}**: decides and triggers its jobs for one payload.`,
    '',
    `- stream: ${md(stream)}`,
    `- payload: ${md(release.name)}`,
    `- pullSpec: \`${release.pullSpec.replace(/`/g, '')}\``,
    `- jobs: ${jobs.map((j) => md(j.shortName)).join(', ')}`,
  ].join('\n');
}

export function triggerSummaryLine(shortName: string, payload: string): string {
  return line(`Trigger ${shortName} for ${payload}`);
}

export function triggerDetailsStatic(job: JobSpec, release: Release): string {
  return [
    `**Trigger** of \`${job.name.replace(/`/g, '')}\` for ${md(release.name)}, at most once: this workflow's ID is the record.`,
    '',
    `- pullSpec: \`${release.pullSpec.replace(/`/g, '')}\``,
    `- env: ${job.payloadEnv ? `\`${job.payloadEnv}\` = the pullSpec` : 'none (the job tests what its config pins)'}`,
  ].join('\n');
}

// ---- Activity calls -------------------------------------------------------------------------

export const activitySummary = {
  resolvePass: (request: PassRequest) =>
    line(`Resolve the pass input ${JSON.stringify(request)} against the worker's configuration`),
  findLatestAcceptedRelease: (stream: string) => line(`Newest Accepted nightly of ${stream}`),
  fetchDeckVerdicts: (payloads: string[]) => line(`Deck: runs of the watched jobs for ${payloads.join(', ')}`),
  ledgerNewestTriggered: (version: string) => line(`Ledger of OCP ${version}: newest payload triggered`),
  newestTriggeredPayload: (version: string) => line(`Trigger records of OCP ${version}: newest payload triggered`),
  ledgerClaim: (shortName: string, payload: string) => line(`Claim ${shortName} for ${payload} in the ledger`),
  ledgerClaimAll: (shortNames: string[], payload: string) => line(`Claim ${shortNames.join(', ')} for ${payload} in the ledger`),
  ledgerPreviewClaims: (shortNames: string[], payload: string) => line(`Ask the ledger what a claim of ${shortNames.join(', ')} for ${payload} would get (dry run)`),
  ledgerRecordTrigger: (shortName: string, payload: string, attempt: number) => line(`Record attempt ${attempt} of ${shortName} for ${payload} in the ledger`),
  ledgerRecordTriggers: (records: Array<{ shortName: string; attempt: number }>, payload: string) =>
    line(`Record ${records.map((r) => `attempt ${r.attempt} of ${r.shortName}`).join(', ')} for ${payload} in the ledger`),
  lookupTriggerRecord: (shortName: string, payload: string) => line(`Was ${shortName} for ${payload} triggered? (dry run)`),
  awaitTriggerRecord: (shortName: string, payload: string) => line(`Wait for the trigger of ${shortName} for ${payload} in progress`),
  triggerGangwayJob: (shortName: string, payload: string) => line(`POST ${shortName} for ${payload}`),
  findReleasesToTrigger: (stream: string, maxPerPass: number) => line(`Accepted nightlies of ${stream} newer than the newest triggered (at most ${maxPerPass})`),
  ledgerPreviousVerdicts: (version: string) => line(`Ledger of OCP ${version}: verdicts of the previous payloads`),
  versionsWithNewWork: (payloads: string[]) => line(`Ledgers: anything left to trigger for ${payloads.join(', ')}? (else Deck is not asked)`),
  passNotices: () => line('Count the upstreams this pass found down; decide its notifications'),
  notify: (key: string) => line(`Notify the webhook: ${key}`),
};

// ---- The ledger -----------------------------------------------------------------------------

const VERDICT_MARK: Record<string, string> = {
  success: '✅',
  failure: '❌',
  error: '⚠️',
  aborted: '⏹',
  unknown: '❓',
  running: '🏃',
  pending: '⏳',
  triggering: '…',
  'failed-to-trigger': '🚫',
  skipped: '',
};

/** The ledger's current details: payload × job, newest first, verdict, attempts, the Prow link. */
export function ledgerDetailsMarkdown(matrix: LedgerMatrix, ctx: { namespace: string }): string {
  const head = [
    `**OCP ${md(matrix.version)}**`,
    matrix.newestTriggered ? `newest triggered ${md(matrix.newestTriggered)}` : 'nothing triggered yet',
    matrix.paused ? `**PAUSED** since ${md(matrix.paused.at)}${matrix.paused.note ? ` (${md(matrix.paused.note)})` : ''}` : '',
  ].filter(Boolean);
  const out = [head.join(' · '), ''];
  const columns = jobColumns(matrix);
  if (matrix.payloads.length === 0 || columns.length === 0) {
    out.push('No payload recorded yet.');
    return out.join('\n');
  }
  out.push(`| payload | ${columns.map((c) => md(c.shortName)).join(' | ')} |`, `|---|${columns.map(() => '---|').join('')}`);
  for (const p of matrix.payloads) {
    const cells = columns.map((c) => {
      const j = p.jobs.find((x) => x.shortName === c.shortName);
      if (!j) return '';
      const latest = j.attempts[j.attempts.length - 1];
      const mark = VERDICT_MARK[j.verdict] ?? '';
      const prow = mdLink('Prow', latest?.url);
      const trigger = workflowLink('trigger', ctx.namespace, triggerWorkflowIdOf(j.job, p.name, latest));
      return [`${mark} ${md(j.verdict)}`.trim(), attemptsText(j), prow, trigger].filter(Boolean).join(' ');
    });
    out.push(`| ${md(p.name)} | ${cells.join(' | ')} |`);
  }
  return bounded(out.join('\n'));
}

// ---- The schedule ---------------------------------------------------------------------------

export function scheduleSummaryLine(cron: string, timezone: string): string {
  return line(`Daily osc-build-watcher pass (${cron} ${timezone}): trigger OSC jobs for new Accepted nightlies`);
}

export function scheduleDetailsStatic(cron: string, timezone: string, versions: string[] | 'discover', jobs: string[]): string {
  return [
    `**osc-build-watcher daily pass**, cron \`${cron.replace(/`/g, '')}\` (${md(timezone)}), input \`{}\`.`,
    '',
    'Each pass finds the newest Accepted nightly of every watched OCP version and triggers the OSC jobs that have not tested that exact payload yet. What it watches is the workers\' configuration when the pass starts; when this schedule was applied that was:',
    '',
    `- versions: ${versions === 'discover' ? 'discovered from the release controller' : md(versions.join(', '))}`,
    `- jobs: ${md(jobs.join(', '))}`,
    '- payloads: the newest Accepted nightly of each version, found by each pass',
  ].join('\n');
}
