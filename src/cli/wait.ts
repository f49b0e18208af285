import type { LedgerClient } from '../clients/ledger';
import { UpstreamError } from '../clients/errors';
import type { LedgerMatrix } from '../domain/ledger';
import type { PassSummary } from '../domain/types';
import { type AwaitedJob, awaitedMatrices, settled, rowOf, waitState, type WaitState } from '../domain/waitVerdicts';

export interface WaitOptions {
  ledgers: LedgerClient;
  summary: PassSummary;
  /** Give up waiting after this long (config `follow.deadline`). */
  deadlineMs: number;
  /** How often the ledgers are asked (their `matrix` query). */
  pollEveryMs: number;
  log: (line: string) => void;
  /** Aborted (SIGINT/SIGTERM): stop waiting at once. */
  signal: AbortSignal;
}

export interface WaitOutcome {
  state: WaitState | 'deadline' | 'interrupted';
  /** The ledgers of the pass's versions, cut to the pass's payloads. */
  matrices: LedgerMatrix[];
}

/** The jobs a pass posted (decision `triggered`): the ones `run --wait` waits for. */
export function awaitedJobs(summary: PassSummary): AwaitedJob[] {
  return summary.versions.flatMap((v) => (v.release ? v.jobs.filter((j) => j.decision === 'triggered').map((j) => ({ version: v.version, payload: v.release!.name, job: j.job })) : []));
}

/**
 * Polls each version's ledger (a query: workflow state, never a visibility list) until every
 * job the pass triggered has a final verdict with no retry pending, or the deadline passes.
 * A line per job as it settles.
 */
export async function waitForVerdicts(options: WaitOptions): Promise<WaitOutcome> {
  const awaited = awaitedJobs(options.summary);
  const versions = [...new Set(awaited.map((a) => a.version))];
  const until = Date.now() + options.deadlineMs;
  const told = new Set<string>();
  let matrices: LedgerMatrix[] = [];
  if (awaited.length > 0) options.log(`Waiting for the verdicts of ${awaited.length} triggered job(s) (retries included), at most ${Math.round(options.deadlineMs / 1000)} s`);
  for (;;) {
    const fresh: LedgerMatrix[] = [];
    for (const version of versions) {
      try {
        const m = await options.ledgers.matrix(version);
        if (m) fresh.push(m);
      } catch (err) {
        // A ledger continuing as new, or Temporal briefly away: the last answer stands.
        if (!(err instanceof UpstreamError && err.retryable)) throw err;
        const last = matrices.find((m) => m.version === version);
        if (last) fresh.push(last);
      }
    }
    matrices = fresh;
    for (const a of awaited) {
      const row = rowOf(matrices, a);
      const key = `${a.version}/${a.job}`;
      if (row?.retryPending && !told.has(`${key}#${row.retryPending.attempt}`)) {
        told.add(`${key}#${row.retryPending.attempt}`);
        const last = row.attempts[row.attempts.length - 1];
        options.log(`[${a.version}] ${row.shortName}: ${row.verdict} on attempt ${last?.attempt ?? '?'}; retry (attempt ${row.retryPending.attempt}) at ${row.retryPending.at}`);
      }
      // A retry or retest the ledger started (said once, whether or not its plan was seen first).
      for (const [i, attempt] of (row?.attempts ?? []).entries()) {
        if (!(attempt.retry || attempt.retest) || told.has(`${key}@${attempt.attempt}`)) continue;
        told.add(`${key}@${attempt.attempt}`);
        told.add(`${key}#${attempt.attempt}`);
        const before = row!.attempts[i - 1];
        options.log(`[${a.version}] ${row!.shortName}: attempt ${attempt.attempt} started (${attempt.retry ? 'retry' : 'retest'}${before ? ` after ${before.state}` : ''})`);
      }
      if (row && settled(row) && !told.has(key)) {
        told.add(key);
        options.log(`[${a.version}] ${row.shortName}: ${row.verdict} after ${row.attempts.length} attempt(s)`);
      }
    }
    const state = waitState(matrices, awaited);
    const shown = awaitedMatrices(matrices, awaited);
    if (state !== 'waiting') return { state, matrices: shown };
    if (options.signal.aborted) return { state: 'interrupted', matrices: shown };
    if (Date.now() >= until) return { state: 'deadline', matrices: shown };
    await sleep(Math.min(options.pollEveryMs, Math.max(0, until - Date.now())), options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
