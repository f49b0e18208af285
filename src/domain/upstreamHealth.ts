// Whether each upstream answered a pass, how many passes in a row it did not, and the pass-level
// events that follow (`pass-failed`, `upstream-down`). Pure: the pass computes its report from
// its summary; the `upstreamHealth` workflow keeps the counts (src/workflows/upstreamHealth.ts).
import { passFailedKey, upstreamDownKey, type NotificationEvent, type UpstreamName } from './notifications';
import type { PassSummary } from './types';

export const UPSTREAMS: readonly UpstreamName[] = ['release-controller', 'deck', 'gangway'];
export const DEFAULT_DOWN_PASSES = 2;
/** Workflow type and ID of the one health record per deployment (task queue). */
export const HEALTH_WORKFLOW_TYPE = 'upstreamHealth';
export const healthWorkflowId = (taskQueue: string) => `osc-health/${taskQueue}`;
export const HEALTH_SCHEMA = 1;
/** Passes remembered, so a report sent twice (a retried activity) is counted once. */
const RECENT_PASSES = 20;

/** `down`: the pass called it and none of its calls got an answer. An upstream the pass did not call is left out. */
export interface UpstreamReport {
  state: 'up' | 'down';
  reason?: string;
}

export interface PassHealthReport {
  passId: string;
  upstreams: Partial<Record<UpstreamName, UpstreamReport>>;
}

export interface UpstreamCount {
  /** Passes in a row that found it down (0: the last pass that called it got answers). */
  downPasses: number;
  /** The first pass of the current run of down passes. */
  since?: string;
  lastReason?: string;
}

export interface HealthAnswer {
  passId: string;
  upstreams: Partial<Record<UpstreamName, UpstreamCount>>;
}

export interface HealthState {
  schema: number;
  upstreams: Partial<Record<UpstreamName, UpstreamCount>>;
  /** The answers to the last passes, newest last: a pass reported again gets its first answer. */
  recent: HealthAnswer[];
}

export const emptyHealthState = (): HealthState => ({ schema: HEALTH_SCHEMA, upstreams: {}, recent: [] });

export class HealthRequestError extends Error {
  override name = 'HealthRequestError';
}

/** Checks a report (the Update's validator). */
export function checkHealthReport(raw: unknown): PassHealthReport {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HealthRequestError('recordPass: the request must be {passId, upstreams}');
  const o = raw as Record<string, unknown>;
  if (typeof o.passId !== 'string' || !o.passId || o.passId.length > 300) throw new HealthRequestError('recordPass: passId must be a non-empty string');
  const ups = o.upstreams;
  if (typeof ups !== 'object' || ups === null || Array.isArray(ups)) throw new HealthRequestError('recordPass: upstreams must be an object');
  const upstreams: PassHealthReport['upstreams'] = {};
  for (const [name, r] of Object.entries(ups as Record<string, unknown>)) {
    if (!(UPSTREAMS as readonly string[]).includes(name)) throw new HealthRequestError(`recordPass: unknown upstream "${name}" (known: ${UPSTREAMS.join(', ')})`);
    const rep = r as Record<string, unknown> | null;
    if (!rep || (rep.state !== 'up' && rep.state !== 'down')) throw new HealthRequestError(`recordPass: upstreams.${name}.state must be up or down`);
    upstreams[name as UpstreamName] = { state: rep.state, ...(typeof rep.reason === 'string' ? { reason: rep.reason.slice(0, 300) } : {}) };
  }
  return { passId: o.passId, upstreams };
}

/** Counts one pass (once: the same pass again gets its first answer). */
export function recordPassHealth(state: HealthState, raw: unknown): HealthAnswer {
  const report = checkHealthReport(raw);
  const earlier = state.recent.find((a) => a.passId === report.passId);
  if (earlier) return earlier;
  for (const name of UPSTREAMS) {
    const r = report.upstreams[name];
    if (!r) continue;
    const count = state.upstreams[name] ?? { downPasses: 0 };
    state.upstreams[name] =
      r.state === 'up'
        ? { downPasses: 0 }
        : { downPasses: count.downPasses + 1, since: count.downPasses > 0 && count.since ? count.since : report.passId, ...(r.reason ? { lastReason: r.reason } : {}) };
  }
  const answer: HealthAnswer = { passId: report.passId, upstreams: structuredCopy(state.upstreams) };
  state.recent = [...state.recent, answer].slice(-RECENT_PASSES);
  return answer;
}

/** An upstream that has just been down `downPasses` passes in a row: one message per outage. */
export function upstreamDownEvents(answer: HealthAnswer, downPasses: number): NotificationEvent[] {
  const events: NotificationEvent[] = [];
  for (const name of UPSTREAMS) {
    const c = answer.upstreams[name];
    if (!c || c.downPasses !== downPasses || !c.since) continue;
    events.push({
      kind: 'upstream-down',
      key: upstreamDownKey(name, c.since),
      upstream: name,
      passes: c.downPasses,
      since: c.since,
      passId: answer.passId,
      ...(c.lastReason ? { reason: c.lastReason } : {}),
    });
  }
  return events;
}

/** Why a pass failed, as `run` would exit 1 for it: failed triggers, versions that could not be checked. */
export function passFailureReasons(summary: Pick<PassSummary, 'versions'>): string[] {
  const reasons: string[] = [];
  for (const v of summary.versions) {
    if (v.state === 'error') reasons.push(`OCP ${v.version}: ${v.releaseError ?? 'could not be checked'}`);
    for (const j of v.jobs) if (j.decision === 'failed') reasons.push(`OCP ${v.version} ${j.shortName}: ${j.reason}`);
  }
  return reasons;
}

export function passFailedEvent(passId: string, reasons: string[]): NotificationEvent {
  return { kind: 'pass-failed', key: passFailedKey(passId), passId, reasons };
}

const UNREACHABLE = /timed out|ECONN|EAI_AGAIN|ENOTFOUND|EPIPE|socket|network error|cut short|unreachable/i;

/**
 * Per upstream, from the pass's summary: `down` when the pass called it and none of its calls got
 * an answer (after retries), `up` when one did. An answer that refuses (a 404 for a stream, a 400
 * for a job) still shows it is reachable. Upstreams the pass did not call are left out, so they
 * neither end nor extend a run of down passes.
 */
export function upstreamHealthOf(summary: Pick<PassSummary, 'workflowId' | 'versions' | 'deck'>): PassHealthReport {
  const upstreams: PassHealthReport['upstreams'] = {};
  const tally = (name: UpstreamName, answered: number, failed: string[]) => {
    if (answered > 0) upstreams[name] = { state: 'up' };
    else if (failed.length > 0) upstreams[name] = { state: 'down', reason: failed[0]! };
  };

  // The release controller: a version whose release was found or that has no Accepted tag got an answer.
  const rcFailed = summary.versions.filter((v) => v.state === 'error' && !v.release).map((v) => v.releaseError ?? `OCP ${v.version} could not be checked`);
  tally('release-controller', summary.versions.filter((v) => v.release || v.state === 'no-release').length, rcFailed);

  if (summary.deck.state === 'ok' || (summary.deck.state === 'unavailable' && summary.deck.tooLarge)) upstreams.deck = { state: 'up' };
  else if (summary.deck.state === 'unavailable') upstreams.deck = { state: 'down', reason: summary.deck.reason };

  // Gangway: a job triggered now, or refused with a definite answer, got one; a 5xx, 408, 429 or no answer did not.
  let gwAnswered = 0;
  const gwFailed: string[] = [];
  for (const v of summary.versions) {
    for (const j of v.jobs) {
      if (j.decision === 'triggered' && j.httpStatus !== undefined) gwAnswered++;
      if (j.decision !== 'failed') continue;
      const s = j.httpStatus;
      if (s !== undefined && (s >= 500 || s === 408 || s === 429)) gwFailed.push(j.reason);
      else if (s === undefined && /gangway/i.test(j.reason) && UNREACHABLE.test(j.reason)) gwFailed.push(j.reason);
      else if (s !== undefined) gwAnswered++;
    }
  }
  tally('gangway', gwAnswered, gwFailed);
  return { passId: summary.workflowId, upstreams };
}

function structuredCopy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
