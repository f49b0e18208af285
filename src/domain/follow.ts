// Follow-through: how the per-version ledger follows a posted attempt's ProwJob to its verdict.
// Pure (no Temporal, no Node modules): the `versionLedger` workflow runs it, tests run it alone.
//
// An attempt is followed from the moment it is recorded `triggered` (it has an execution ID)
// until its ProwJob ends (success, failure, aborted, error), or until `deadlineMs` after the
// trigger, when the ledger gives up and records `unknown`. The first look is `pollEveryMs` after
// the trigger; the wait then doubles after each look, up to `maxPollEveryMs`. The last look is
// at the deadline itself.
import type { ProwJobState } from './types';

export interface FollowSettings {
  /** The wait before the first look at a triggered attempt's ProwJob (it then doubles). */
  pollEveryMs: number;
  /** The longest wait between two looks. */
  maxPollEveryMs: number;
  /** How long after the trigger the ledger gives up and records `unknown`. */
  deadlineMs: number;
}

export const DEFAULT_FOLLOW: FollowSettings = { pollEveryMs: 2 * 60_000, maxPollEveryMs: 15 * 60_000, deadlineMs: 24 * 3600_000 };

/** Below this, a workflow timer per look would be a busy loop. */
export const MIN_POLL_EVERY_MS = 100;

/** Looks at the ProwJobs of one ledger in flight at once. */
export const FOLLOW_CONCURRENCY = 4;

/**
 * What Deck says of one execution (`GET /prowjob?prowjob=<id>`), as the `executionState`
 * activity returns it. `missing` is not an answer about the job: Deck serves a cache that shows
 * a new job late, and forgets old ones. `podName`: Prow created the job's pod.
 */
export interface ExecutionState {
  state: ProwJobState | 'missing';
  url?: string;
  completionTime?: string;
  podName?: string;
}

/** A look that did not get an answer: the activity failed (Deck down, a bad answer). */
export interface FailedLook {
  failed: string;
}

export type Look = ExecutionState | FailedLook;

/** The wait after a look, given the wait before it: twice as long, at most `maxPollEveryMs`. */
export function nextWaitMs(previousWaitMs: number, settings: FollowSettings): number {
  return Math.min(Math.max(previousWaitMs * 2, settings.pollEveryMs), settings.maxPollEveryMs);
}

/**
 * When the looks at one attempt happen, in ms after its trigger, if every look finds the job
 * still running: pollEvery, then waits doubling to maxPollEvery, the last at the deadline.
 * (The workflow keeps this schedule one look at a time, in the attempt's `follow` record.)
 */
export function lookSchedule(settings: FollowSettings, limit = 1000): number[] {
  const looks: number[] = [];
  let wait = Math.min(settings.pollEveryMs, settings.maxPollEveryMs);
  let at = Math.min(wait, settings.deadlineMs);
  while (looks.length < limit) {
    looks.push(at);
    if (at >= settings.deadlineMs) break;
    wait = nextWaitMs(wait, settings);
    at = Math.min(at + wait, settings.deadlineMs);
  }
  return looks;
}

/** The ledger's state for what Deck said, or undefined when it says nothing about progress. */
export type SeenState = 'triggered' | 'pending' | 'running' | 'success' | 'failure' | 'aborted' | 'error';

export function seenState(look: Look): SeenState | undefined {
  if ('failed' in look) return undefined;
  switch (look.state) {
    case 'success':
    case 'failure':
    case 'aborted':
    case 'error':
      return look.state;
    case 'pending':
      // Prow's pending: the pod is created (running) or about to be.
      return look.podName ? 'running' : 'pending';
    case 'scheduling':
    case 'triggered':
      return 'triggered';
    default:
      // `missing`, or a state this watcher does not know: no news.
      return undefined;
  }
}

/** How far a ProwJob got; a look never moves an attempt back (Deck's cache may answer late). */
export function progressRank(state: string): number {
  return ['triggered', 'pending', 'running'].indexOf(state);
}

/** One line for the attempt's record of what the last look found. */
export function describeLook(look: Look): string {
  if ('failed' in look) return `no answer from Deck (${look.failed})`;
  if (look.state === 'missing') return 'not in Deck';
  return look.state === 'pending' && look.podName ? 'running' : look.state;
}

/** Checks follow settings (the ledger's input, or the config); throws with one line. */
export function followSettingsProblem(s: FollowSettings, names = { pollEvery: 'pollEveryMs', maxPollEvery: 'maxPollEveryMs', deadline: 'deadlineMs' }, show: (ms: number) => string = String): string | undefined {
  if (!Number.isInteger(s.pollEveryMs) || s.pollEveryMs < MIN_POLL_EVERY_MS) return `${names.pollEvery} must be at least ${show(MIN_POLL_EVERY_MS)}, got ${show(s.pollEveryMs)}`;
  if (!Number.isInteger(s.maxPollEveryMs) || s.maxPollEveryMs < s.pollEveryMs) {
    return `${names.maxPollEvery} (${show(s.maxPollEveryMs)}) must not be shorter than ${names.pollEvery} (${show(s.pollEveryMs)})`;
  }
  if (!Number.isInteger(s.deadlineMs) || s.deadlineMs < s.pollEveryMs) return `${names.deadline} (${show(s.deadlineMs)}) must not be shorter than ${names.pollEvery} (${show(s.pollEveryMs)})`;
  return undefined;
}

/** 90000 → 1m30s, 86400000 → 24h: for reasons and messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.floor(ms / 1000);
  for (const [unit, size] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  const millis = ms % 1000;
  if (millis) parts.push(`${millis}ms`);
  return parts.join('');
}
