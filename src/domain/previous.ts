// The report's look back: the verdicts so far of a version's previous payloads, from its ledger's
// matrix, reduced to one small line per job before it enters a pass's history. Pure.
import type { LedgerMatrix } from './ledger';
import type { PreviousPayload } from './types';

/**
 * The newest `limit` payloads of the matrix not in `exclude`, newest first: per job, its verdict
 * and number of attempts, in the order of `order` (short names; the others after, by name).
 */
export function previousPayloads(matrix: LedgerMatrix | undefined, exclude: string[], limit: number, order: string[] = []): PreviousPayload[] {
  if (!matrix) return [];
  const rank = (shortName: string) => {
    const i = order.indexOf(shortName);
    return i < 0 ? order.length : i;
  };
  return matrix.payloads
    .filter((p) => !exclude.includes(p.name))
    .slice(0, Math.max(0, limit))
    .map((p) => ({
      name: p.name,
      jobs: p.jobs
        .map((j) => ({ shortName: j.shortName, verdict: j.verdict, attempts: j.attempts.length }))
        .sort((a, b) => rank(a.shortName) - rank(b.shortName) || a.shortName.localeCompare(b.shortName)),
    }));
}
