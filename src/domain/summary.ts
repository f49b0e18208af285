import type { JobOutcome, Totals, VersionResult } from './types';

export function countTotals(versions: VersionResult[]): Totals {
  const totals: Totals = { triggered: 0, skipped: 0, failed: 0, wouldTrigger: 0, versionsWithoutRelease: 0, versionsFailed: 0 };
  for (const v of versions) {
    if (v.state === 'no-release') totals.versionsWithoutRelease++;
    if (v.state === 'error') totals.versionsFailed++;
    for (const j of v.jobs) countJob(totals, j);
    for (const e of v.earlier ?? []) for (const j of e.jobs) countJob(totals, j);
  }
  return totals;
}

function countJob(totals: Totals, job: JobOutcome): void {
  if (job.decision === 'triggered') totals.triggered++;
  else if (job.decision === 'skipped') totals.skipped++;
  else if (job.decision === 'failed') totals.failed++;
  else if (job.decision === 'would-trigger') totals.wouldTrigger++;
}
