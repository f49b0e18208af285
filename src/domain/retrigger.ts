// Bounded retrigger: when a posted attempt that ended badly is tried again. Pure (no Temporal,
// no Node modules): the `versionLedger` workflow runs these rules, the unit tests run them alone.
//
// A job's latest posted attempt that ended in a state listed in `on` (default error, aborted;
// `failure` only when listed) is retried, at most `maxRetries` times per (payload, job), each
// after a backoff from `initialMs` doubling to `maxMs`. A payload superseded by a newer one the
// ledger has seen is not retried unless `superseded` is set. An operator's retest is one more
// attempt, beyond `maxRetries`, and is not counted as a retry.

/** The final states a retry may be asked for. `unknown` (follow-through gave up) is never retried. */
export type RetriableState = 'error' | 'aborted' | 'failure';
export const RETRIABLE_STATES: readonly RetriableState[] = ['error', 'aborted', 'failure'];

export interface RetriggerSettings {
  on: RetriableState[];
  maxRetries: number;
  /** Wait before the first retry; each later retry waits twice as long, up to `maxMs`. */
  initialMs: number;
  maxMs: number;
  /** Retry a payload that a newer one has superseded. */
  superseded: boolean;
}

export const DEFAULT_RETRIGGER: RetriggerSettings = { on: ['error', 'aborted'], maxRetries: 2, initialMs: 60_000, maxMs: 15 * 60_000, superseded: false };
export const MAX_RETRIES = 10;
/** Below this, a durable timer per retry would be a busy loop. */
export const MIN_BACKOFF_MS = 100;

/** The bits of an attempt these rules read (the ledger's AttemptRecord has them). */
export interface RetryAttempt {
  attempt: number;
  state: string;
  finishedAt?: string;
  claimedAt: string;
  /** Started by the ledger as a retry. */
  retry?: true;
}

export type RetryPlan =
  | { due: true; /** The attempt number the retry gets. */ attempt: number; /** 1 for the first retry. */ retry: number; atMs: number }
  | { due: false; why: NoRetry };

export type NoRetry = 'no-attempt' | 'in-progress' | 'green' | 'not-retried' | 'exhausted' | 'superseded' | 'pass-owns-it';

const FINAL = ['success', 'failure', 'aborted', 'error', 'unknown'];

/** The wait before retry `n` (1-based): initial, doubling, at most max. */
export function retryBackoffMs(n: number, s: Pick<RetriggerSettings, 'initialMs' | 'maxMs'>): number {
  let wait = s.initialMs;
  for (let i = 1; i < n && wait < s.maxMs; i++) wait *= 2;
  return Math.min(wait, s.maxMs);
}

/**
 * Whether (payload, job) is due another attempt, and when. Reads the attempts alone:
 * - nothing attempted, or the latest still under way: no retry (yet);
 * - the latest failed to trigger: a retry's (the ledger's) is retried like the posted attempt
 *   before it; the pass's is the pass's business (its next claim);
 * - the latest posted attempt `success`: green; a state not in `on` (or `unknown`): not retried;
 * - `maxRetries` retries made: exhausted; superseded (and not `superseded: true`): not retried;
 * - else due at the end of the backoff, counted from when the last attempt ended.
 */
export function planRetry(attempts: readonly RetryAttempt[], superseded: boolean, s: RetriggerSettings): RetryPlan {
  const latest = attempts[attempts.length - 1];
  if (!latest) return { due: false, why: 'no-attempt' };
  if (latest.state === 'failed-to-trigger' && !latest.retry) return { due: false, why: 'pass-owns-it' };
  const posted = [...attempts].reverse().find((a) => a.state !== 'failed-to-trigger');
  if (!posted) return { due: false, why: 'pass-owns-it' };
  if (latest.state !== 'failed-to-trigger' && !FINAL.includes(latest.state)) return { due: false, why: 'in-progress' };
  if (posted.state === 'success') return { due: false, why: 'green' };
  if (!(s.on as readonly string[]).includes(posted.state)) return { due: false, why: 'not-retried' };
  const retries = attempts.filter((a) => a.retry).length;
  if (retries >= s.maxRetries) return { due: false, why: 'exhausted' };
  if (superseded && !s.superseded) return { due: false, why: 'superseded' };
  const endedMs = Date.parse(latest.finishedAt ?? latest.claimedAt);
  const from = Number.isNaN(endedMs) ? 0 : endedMs;
  return { due: true, attempt: latest.attempt + 1, retry: retries + 1, atMs: from + retryBackoffMs(retries + 1, s) };
}

/** The most attempts a job gets: those before its first posted one, that one, the retries, and the operators' retests. */
export function attemptsAllowed(attempts: readonly RetryAttempt[], s: Pick<RetriggerSettings, 'maxRetries'>, retests: number): number {
  const firstPosted = attempts.findIndex((a) => a.state !== 'failed-to-trigger' && !a.retry);
  // Nothing posted yet: retries do not apply; the pass's own limit (if any) is the one shown.
  if (firstPosted < 0) return attempts.length;
  return Math.max(attempts.length, firstPosted + 1 + s.maxRetries + retests);
}

/** Checks retrigger settings (the config's, or a ledger's input); one line, or undefined. */
export function retriggerSettingsProblem(
  s: RetriggerSettings,
  names = { on: 'on', maxRetries: 'maxRetries', initial: 'initialMs', max: 'maxMs' },
  show: (ms: number) => string = String,
): string | undefined {
  if (!Array.isArray(s.on) || s.on.some((x) => !(RETRIABLE_STATES as readonly string[]).includes(x))) {
    return `${names.on} must list states among ${RETRIABLE_STATES.join(', ')}`;
  }
  if (!Number.isInteger(s.maxRetries) || s.maxRetries < 0 || s.maxRetries > MAX_RETRIES) return `${names.maxRetries} must be a whole number from 0 to ${MAX_RETRIES}, got ${s.maxRetries}`;
  if (!Number.isInteger(s.initialMs) || s.initialMs < MIN_BACKOFF_MS) return `${names.initial} must be at least ${show(MIN_BACKOFF_MS)}, got ${show(s.initialMs)}`;
  if (!Number.isInteger(s.maxMs) || s.maxMs < s.initialMs) return `${names.max} (${show(s.maxMs)}) must not be shorter than ${names.initial} (${show(s.initialMs)})`;
  if (typeof s.superseded !== 'boolean') return 'superseded must be true or false';
  return undefined;
}
