import type { LedgerMatrix, MatrixJob } from './ledger';

// What every view of a ledger's matrix shares (`status`, the status page, the Temporal UI's
// details): the job columns and the attempts as `2/3`. Pure, so workflows may use it too.

/** A version's jobs, in the order the payloads list them (newest payload first), each once. */
export function jobColumns(matrix: Pick<LedgerMatrix, 'payloads'>): Array<{ job: string; shortName: string }> {
  const seen = new Map<string, { job: string; shortName: string }>();
  for (const p of matrix.payloads) for (const j of p.jobs) if (!seen.has(j.shortName)) seen.set(j.shortName, { job: j.job, shortName: j.shortName });
  return [...seen.values()];
}

/** `2/3` when the pass gave a limit, else the count. */
export function attemptsText(job: Pick<MatrixJob, 'attempts' | 'maxAttempts'>): string {
  return job.maxAttempts !== undefined ? `${job.attempts.length}/${job.maxAttempts}` : `${job.attempts.length}`;
}

/** The latest attempt's Prow URL, if Prow gave one. */
export function prowUrlOf(job: Pick<MatrixJob, 'attempts'>): string | undefined {
  return job.attempts[job.attempts.length - 1]?.url;
}
