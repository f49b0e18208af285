import assert from 'node:assert/strict';
import { UpstreamError } from '../../src/clients/errors';
import type { LedgerClient } from '../../src/clients/ledger';
import type { LedgerMatrix, MatrixJob } from '../../src/domain/ledger';

/** One job's row of one payload in a ledger's matrix. */
export const jobIn = (m: LedgerMatrix, payload: string, shortName: string): MatrixJob | undefined =>
  m.payloads.find((p) => p.name === payload)?.jobs.find((j) => j.shortName === shortName);

/**
 * Polls the version's ledger matrix until `ok` holds (no fixed sleep: it returns as soon as it
 * does). A retryable error (a query that meets the ledger continuing as new) is asked again;
 * any other fails at once. After `timeoutMs`, fails naming `what` and each job's last verdict.
 */
export async function matrixWhen(ledgers: LedgerClient, version: string, ok: (m: LedgerMatrix) => boolean, what: string, timeoutMs = 20_000): Promise<LedgerMatrix> {
  const until = Date.now() + timeoutMs;
  let last: LedgerMatrix | undefined;
  for (;;) {
    try {
      last = await ledgers.matrix(version);
    } catch (err) {
      if (!(err instanceof UpstreamError && err.retryable)) throw err;
    }
    if (last && ok(last)) return last;
    if (Date.now() > until) {
      const seen = last?.payloads.map((p) => [p.name, p.jobs.map((j) => [j.shortName, j.verdict, j.attempts.length])]) ?? null;
      assert.fail(`OCP ${version}, ${what}: not within ${timeoutMs} ms; last matrix: ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
