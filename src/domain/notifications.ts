// Notifications: the events the watcher announces to a Slack-compatible webhook, each with an
// idempotency key that follows from the event alone, and the rules by which a version ledger
// finds its events in its own state. Pure (no Temporal, no Node modules).
//
// Who emits what (README, "Notifications"):
//   - the version ledger: `payload-final` (every job of a payload has its verdict) and
//     `retries-exhausted` (a job used its last attempt and did not succeed);
//   - the pass: `pass-failed` and `upstream-down` (an upstream down `notify.downPasses` passes in a row).
// Each event is sent by one `notify` activity that its workflow starts once, from its state.
import { FINAL_STATES, verdictOf, type JobRecord, type JobVerdict, type LedgerState, type PayloadRecord } from './ledger';

export type NotificationKind = 'payload-final' | 'retries-exhausted' | 'pass-failed' | 'upstream-down';

/** One job of a payload's row in the matrix, as a message shows it. */
export interface NoticeJobRow {
  job: string;
  shortName: string;
  verdict: JobVerdict;
  attempts: number;
  maxAttempts?: number;
  /** The latest attempt's Prow URL. */
  url?: string;
  /** The latest attempt's reason (a failed trigger, or why follow-through gave up). */
  reason?: string;
}

export type UpstreamName = 'release-controller' | 'deck' | 'gangway';

export type NotificationEvent =
  | { kind: 'payload-final'; key: string; version: string; payload: string; jobs: NoticeJobRow[] }
  | { kind: 'retries-exhausted'; key: string; version: string; payload: string; job: NoticeJobRow }
  | { kind: 'pass-failed'; key: string; passId: string; reasons: string[] }
  | { kind: 'upstream-down'; key: string; upstream: UpstreamName; passes: number; since: string; passId: string; reason?: string };

/** What became of one event's message. `off`: no webhook is configured. */
export interface NotificationOutcome {
  key: string;
  state: 'sent' | 'failed' | 'off';
  /** Why it failed (never the webhook URL). */
  reason?: string;
  /** Sent by an earlier attempt of the same activity, found in its heartbeat (not posted again). */
  earlier?: true;
}

// ---- Keys: deterministic from the event ------------------------------------------------------

export const payloadFinalKey = (version: string, payload: string) => `payload-final/${version}/${payload}`;
/** Per last attempt: a retest that runs out again is a new event. */
export const retriesExhaustedKey = (version: string, payload: string, shortName: string, attempt: number) =>
  `retries-exhausted/${version}/${payload}/${shortName}/attempt-${attempt}`;
export const passFailedKey = (passId: string) => `pass-failed/${passId}`;
/** Per outage: named by the first pass that found the upstream down. */
export const upstreamDownKey = (upstream: UpstreamName, since: string) => `upstream-down/${upstream}/${since}`;

// ---- The ledger's events ---------------------------------------------------------------------

/** What a ledger keeps of its notifications, in its state (handed on by continue-as-new). */
export interface LedgerNotices {
  /** Keys already taken: sent (or being sent), or passed over. Only keys of payloads still kept. */
  keys: string[];
}

/**
 * The hook for bounded retriggers (issue 9, item 4): how the ledger's own retries bear on its
 * events. `pending`: the ledger will trigger this job again by itself (an `error` with retries
 * left, its backoff running), so it is not final yet. `exhausted`: the job used its last retry
 * and did not succeed (the `retries-exhausted` event). The ledger passes its own view to
 * `startLedgerNotices`; without one, NO_RETRIGGER: nothing is pending, and a job is exhausted
 * when it used the `maxAttempts` its claims gave (the pass's limit on failed triggers).
 */
export interface RetryView {
  pending(payload: PayloadRecord, job: JobRecord): boolean;
  exhausted(payload: PayloadRecord, job: JobRecord): boolean;
}

export const NO_RETRIGGER: RetryView = {
  pending: () => false,
  exhausted: (_payload, job) => attemptsExhausted(job) && lastOf(job)?.state !== 'success',
};

const SETTLED: readonly string[] = [...FINAL_STATES, 'unknown'];

/**
 * The job's verdict will not change by itself: its latest attempt ended (or follow-through gave
 * up), no retrigger and no retest is pending. A failed trigger is settled only once the attempts
 * are exhausted, since the next pass (or the ledger) may try again.
 */
export function jobSettled(payload: PayloadRecord, job: JobRecord, retries: RetryView = NO_RETRIGGER): boolean {
  const latest = lastOf(job);
  if (!latest || job.retest || retries.pending(payload, job)) return false;
  if (SETTLED.includes(latest.state)) return true;
  return latest.state === 'failed-to-trigger' && (attemptsExhausted(job) || retries.exhausted(payload, job));
}

/** Every job the ledger has for this payload is settled (jobs Deck showed tested were never claimed: not in the row). */
export function payloadFinal(payload: PayloadRecord, retries: RetryView = NO_RETRIGGER): boolean {
  return payload.jobs.length > 0 && payload.jobs.every((j) => jobSettled(payload, j, retries));
}

function attemptsExhausted(job: JobRecord): boolean {
  return job.maxAttempts !== undefined && job.attempts.length >= job.maxAttempts;
}

function lastOf(job: JobRecord) {
  return job.attempts[job.attempts.length - 1];
}

/** The job used its last allowed attempt and did not succeed: the `retries-exhausted` event. */
export function retriesExhausted(payload: PayloadRecord, job: JobRecord, retries: RetryView = NO_RETRIGGER): boolean {
  const latest = lastOf(job);
  return !!latest && latest.state !== 'success' && jobSettled(payload, job, retries) && retries.exhausted(payload, job);
}

export function jobRow(job: JobRecord): NoticeJobRow {
  const latest = job.attempts[job.attempts.length - 1];
  return {
    job: job.name,
    shortName: job.shortName,
    verdict: verdictOf(job),
    attempts: job.attempts.length,
    ...(job.maxAttempts !== undefined ? { maxAttempts: job.maxAttempts } : {}),
    ...(latest?.url !== undefined ? { url: latest.url } : {}),
    ...(latest?.reason !== undefined ? { reason: latest.reason } : {}),
  };
}

export function payloadFinalEvent(version: string, payload: PayloadRecord): NotificationEvent {
  return { kind: 'payload-final', key: payloadFinalKey(version, payload.name), version, payload: payload.name, jobs: payload.jobs.map(jobRow) };
}

/** The hook for the code that exhausts a job's retries: the event it announces. */
export function retriesExhaustedEvent(version: string, payload: PayloadRecord, job: JobRecord): NotificationEvent {
  const last = job.attempts[job.attempts.length - 1]?.attempt ?? 0;
  return { kind: 'retries-exhausted', key: retriesExhaustedKey(version, payload.name, job.shortName, last), version, payload: payload.name, job: jobRow(job) };
}

/** The ledger's events that hold now and were not taken yet, oldest payload first. Changes nothing. */
export function dueLedgerEvents(state: LedgerState, retries: RetryView = NO_RETRIGGER): NotificationEvent[] {
  const taken = new Set(state.notices?.keys ?? []);
  const due: NotificationEvent[] = [];
  for (const p of [...state.payloads].reverse()) {
    for (const j of p.jobs) {
      if (!retriesExhausted(p, j, retries)) continue;
      const event = retriesExhaustedEvent(state.version, p, j);
      if (!taken.has(event.key)) due.push(event);
    }
    if (payloadFinal(p, retries) && !taken.has(payloadFinalKey(state.version, p.name))) due.push(payloadFinalEvent(state.version, p));
  }
  return due;
}

/**
 * Marks a key taken, so the event is never sent twice. Keys of payloads no longer kept are
 * dropped (such a payload cannot become final again), which keeps the list bounded.
 */
export function takeNotice(state: LedgerState, key: string): void {
  const kept = new Set(state.payloads.map((p) => p.name));
  const keys = (state.notices?.keys ?? []).filter((k) => kept.has(payloadOfKey(k)));
  if (!keys.includes(key)) keys.push(key);
  state.notices = { keys };
}

/**
 * A state without `notices` was made before notifications existed (or is new): what is already
 * final in it is taken without a message, so a ledger upgraded with ten finished payloads does
 * not announce them all at once.
 */
export function baselineNotices(state: LedgerState, retries: RetryView = NO_RETRIGGER): void {
  if (state.notices) return;
  state.notices = { keys: dueLedgerEvents(state, retries).map((e) => e.key) };
}

function payloadOfKey(key: string): string {
  return key.split('/')[2] ?? '';
}
