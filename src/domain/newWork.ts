import type { LedgerMatrix } from './ledger';
import { compareNightlies } from './nightly';

/** What a pass asks a version's ledger before it fetches Deck: could this payload bring a trigger? */
export interface NewWorkQuestion {
  version: string;
  payload: string;
  /** Full job names the pass plans for this version. */
  jobs: string[];
}

/**
 * Whether a pass might trigger anything for `payload`, by the ledger's own claim rules
 * (src/domain/ledger.ts, `claim`): false only when every planned job's claim would be refused
 * without Deck's help: posted or in progress already, the version paused, the payload older than
 * the newest triggered, or its attempts exhausted. A job the ledger has no record of (never
 * claimed, e.g. skipped on Deck's word before) is work: only Deck can skip it again. No ledger
 * (undefined): everything is new.
 */
export function ledgerHasWork(matrix: LedgerMatrix | undefined, payload: string, jobs: string[]): boolean {
  if (!matrix) return true;
  const record = matrix.payloads.find((p) => p.name === payload);
  return jobs.some((name) => {
    const job = record?.jobs.find((j) => j.job === name);
    const latest = job?.attempts[job.attempts.length - 1];
    const retest = job?.retestPending !== undefined;
    if (latest?.state === 'triggering') return false;
    if (latest && latest.state !== 'failed-to-trigger' && !retest) return false;
    if (matrix.paused) return false;
    if (!retest && matrix.newestTriggered !== null && (compareNightlies(payload, matrix.newestTriggered) ?? 0) < 0) return false;
    if (!retest && latest && job!.maxAttempts !== undefined && job!.attempts.length >= job!.maxAttempts) return false;
    return true;
  });
}
