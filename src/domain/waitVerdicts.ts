// `run --wait`: when the jobs a pass triggered have their verdicts. Pure: the CLI polls the
// ledgers' matrices and asks these rules.
import type { JobVerdict, LedgerMatrix, MatrixJob } from './ledger';

/** A verdict that no longer changes by itself (a retry or retest may still follow: see `settled`). */
export const FINAL_VERDICTS: readonly JobVerdict[] = ['success', 'failure', 'aborted', 'error', 'unknown', 'failed-to-trigger'];

/** One job a pass triggered: the ledger of `version`, row (payload, job). */
export interface AwaitedJob {
  version: string;
  payload: string;
  /** Full job name. */
  job: string;
}

export type WaitState = 'green' | 'not-green' | 'waiting';

/** A job whose verdict is final and for which no retry or retest is pending. */
export function settled(job: MatrixJob | undefined): boolean {
  return job !== undefined && FINAL_VERDICTS.includes(job.verdict) && !job.retryPending && !job.retestPending;
}

export function rowOf(matrices: readonly LedgerMatrix[], a: AwaitedJob): MatrixJob | undefined {
  return matrices.find((m) => m.version === a.version)?.payloads.find((p) => p.name === a.payload)?.jobs.find((j) => j.job === a.job);
}

/** `waiting` while any job is unsettled; then `green` when every one ended `success`. */
export function waitState(matrices: readonly LedgerMatrix[], awaited: readonly AwaitedJob[]): WaitState {
  const rows = awaited.map((a) => rowOf(matrices, a));
  if (!rows.every(settled)) return 'waiting';
  return rows.every((r) => r!.verdict === 'success') ? 'green' : 'not-green';
}

/** The matrices cut to the awaited payloads (the pass's), for the report. */
export function awaitedMatrices(matrices: readonly LedgerMatrix[], awaited: readonly AwaitedJob[]): LedgerMatrix[] {
  return matrices
    .map((m) => ({ ...m, payloads: m.payloads.filter((p) => awaited.some((a) => a.version === m.version && a.payload === p.name)) }))
    .filter((m) => m.payloads.length > 0);
}

/** `run --wait`'s exit status: 0 every job green, 1 some job not green (or the pass failed something), 3 the deadline passed first. */
export const WAIT_EXIT = { green: 0, notGreen: 1, deadline: 3 } as const;
