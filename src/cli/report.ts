import type { JobOutcome, PassSummary, PreviousPayload, VersionResult } from '../domain/types';

const RULE = '=========================================';
const THIN = '----------------------------------------';

export interface ReportHeader {
  date: Date;
  namespace: string;
  tokenLine?: string;
}

/** The bash step's report, which its users know, with the payload and the reason on every job line. */
export function formatReport(summary: PassSummary, header: ReportHeader): string {
  const lines: string[] = [
    RULE,
    'OpenShift Sandboxed Containers Build Watcher',
    RULE,
    `Date: ${dateLikeBash(header.date)}`,
    `Workflow: ${summary.workflowId} (namespace ${header.namespace})`,
    `Dedup policy: ${summary.dedupPolicy}${summary.dryRun ? ' | DRY RUN: nothing is triggered' : ''}`,
    '',
  ];
  if (header.tokenLine) lines.push(header.tokenLine);
  if (summary.deck.state === 'ok') lines.push(`✓ Deck: ${summary.deck.matched} runs of the watched jobs among ${summary.deck.scanned} ProwJobs`);
  else if (summary.deck.state === 'unavailable') lines.push(`⚠ Failed to query Deck API: ${summary.deck.reason} (deciding from trigger records only)`);
  if (summary.discovered) {
    const d = summary.discovered;
    lines.push(`✓ Versions discovered on the release controller (${d.min}${d.max ? ` to ${d.max}` : ' and newer'}): ${d.versions.join(', ') || 'none'}`);
  }
  lines.push('', 'Checking OCP versions for new releases...');
  for (const version of summary.versions) lines.push(...formatVersion(version));
  const t = summary.totals;
  lines.push('', RULE, 'Summary', RULE, `Jobs triggered: ${t.triggered}`, `Jobs skipped: ${t.skipped}`, `Jobs failed: ${t.failed}`);
  if (summary.dryRun) lines.push(`Jobs that would be triggered: ${t.wouldTrigger}`);
  if (t.versionsWithoutRelease) lines.push(`Versions without an Accepted release: ${t.versionsWithoutRelease}`);
  if (t.versionsFailed) lines.push(`Versions that could not be checked: ${t.versionsFailed}`);
  // A notification that could not be sent is reported, never a reason to fail the pass.
  for (const n of summary.notifications ?? []) if (n.state === 'failed') lines.push(`Notification not sent (${n.key}): ${n.reason ?? 'unknown reason'}`);
  lines.push('', finalLine(summary), '');
  return lines.join('\n');
}

/** `date`'s default format in UTC (`Mon Jan 20 00:00:00 UTC 2026`), as the bash step printed it. */
export function dateLikeBash(d: Date): string {
  const [weekday, day, month, year, time] = d.toUTCString().replace(',', '').split(' ');
  return `${weekday} ${month} ${String(Number(day)).padStart(2, ' ')} ${time} UTC ${year}`;
}

export function finalLine(summary: PassSummary): string {
  const { failed, versionsFailed } = summary.totals;
  const problems = [
    ...(failed ? [`${failed} failed trigger(s)`] : []),
    ...(versionsFailed ? [`${versionsFailed} version(s) not checked`] : []),
  ];
  return problems.length ? `✗ Build watcher completed with ${problems.join(' and ')}` : '✓ Build watcher completed successfully';
}

/** Non-zero when something needs a person: a trigger failed, or a version could not be checked. */
export function exitCodeFor(summary: PassSummary): number {
  return summary.totals.failed > 0 || summary.totals.versionsFailed > 0 ? 1 : 0;
}

function formatVersion(v: VersionResult): string[] {
  const lines = ['', THIN, `Processing OCP ${v.version}`, THIN, `Querying release controller for ${v.stream}...`];
  if (!v.release) {
    if (v.state === 'no-release') lines.push(`  ⚠ No Accepted release for ${v.stream}: ${v.releaseError}`);
    else lines.push(`  ⚠ Failed to query release controller for ${v.stream}: ${v.releaseError ?? 'still running'}`);
    return lines;
  }
  for (const e of v.earlier ?? []) {
    // `payloads: every`: the older payloads this pass caught up on, oldest first.
    lines.push(`  ✓ Accepted release newer than the last triggered: ${e.release.name}`, `    pullSpec: ${e.release.pullSpec}`);
    for (const job of e.jobs) lines.push('', `Job: ${job.job}`, `  ${jobLine(job, e.release.name)}`);
    lines.push('');
  }
  lines.push(`  ✓ Latest accepted release: ${v.release.name}`, `    pullSpec: ${v.release.pullSpec}`);
  for (const job of v.jobs) lines.push('', `Job: ${job.job}`, `  ${jobLine(job, v.release.name)}`);
  lines.push(...formatPrevious(v.previous ?? []));
  return lines;
}

/** The verdicts so far of the version's previous payloads (its ledger), newest first: one line per payload. */
export function formatPrevious(previous: PreviousPayload[]): string[] {
  if (previous.length === 0) return [];
  const lines = ['', 'Previous payloads (verdicts so far):'];
  for (const p of previous) {
    const jobs = p.jobs.map((j) => `${j.shortName} ${j.verdict}${j.attempts > 1 ? ` (${j.attempts} attempts)` : ''}`);
    lines.push(`  ${p.name}: ${jobs.join(', ') || 'no job recorded'}`);
  }
  return lines;
}

/** One job's line; `payload` is its version's (older passes also put it on the job). */
export function jobLine(job: JobOutcome, payload = job.payload ?? '(no payload)'): string {
  switch (job.decision) {
    case 'triggered':
      return `→ Triggered for OCP ${payload} (${job.httpStatus ? `HTTP ${job.httpStatus}, ` : ''}execution ${job.executionId ?? '?'}): ${job.reason}`;
    case 'skipped':
      return `✓ Skipped ${payload}: ${job.reason}`;
    case 'failed':
      return `✗ Failed to trigger for OCP ${payload}${job.httpStatus ? ` (HTTP ${job.httpStatus})` : ''}: ${job.reason}`;
    case 'would-trigger':
      return `→ Would trigger for OCP ${payload} (dry run): ${job.reason}`;
    default:
      return `… Pending for OCP ${payload}: ${job.reason}`;
  }
}
