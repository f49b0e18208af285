import type { Client } from '@temporalio/client';

// What the live progress says while an upstream is down. It is read from Temporal's own state
// (the pending activities of the pass and of its pending children, as `describe` shows them),
// not from the workflows' internals, so it sees every retry the server schedules.

/** The upstream each activity talks to; any other activity is named by its type. */
export const UPSTREAM_OF_ACTIVITY: Readonly<Record<string, string>> = {
  findLatestAcceptedRelease: 'release controller',
  fetchDeckRuns: 'Deck',
  triggerGangwayJob: 'Gangway',
  notify: 'notification webhook',
};

/** One pending activity, as much of it as the progress line needs. */
export interface PendingAttempt {
  workflowId: string;
  activityId: string;
  activityType: string;
  /** The attempt under way, or the next one when `nextAttemptAtMs` is set. */
  attempt: number;
  /** 0 or absent: no limit. */
  maximumAttempts?: number;
  state: 'scheduled' | 'started' | 'cancel-requested' | 'unknown';
  paused?: boolean;
  /** When the next attempt is due (the activity is in backoff). */
  nextAttemptAtMs?: number;
  lastFailure?: string;
  /** The last attempt ended by a Temporal timeout (a worker gone, a heartbeat missed), not by an error. */
  lastFailureWasTimeout?: boolean;
}

const MAX_FAILURE_CHARS = 200;

/**
 * The progress line for one pending activity, or undefined while it is on its first attempt.
 * `passId` shortens the pass's own children (`<pass>/ocp-4.21` becomes `[ocp-4.21]`).
 */
export function upstreamLine(p: PendingAttempt, nowMs: number, passId?: string): string | undefined {
  if (p.attempt <= 1 || p.paused) return undefined;
  const upstream = UPSTREAM_OF_ACTIVITY[p.activityType];
  const subject = p.lastFailureWasTimeout
    ? `${upstream ?? `activity ${p.activityType}`}: previous attempt timed out`
    : upstream
      ? `${upstream} unreachable`
      : `activity ${p.activityType} failing`;
  const attempt = `attempt ${p.attempt}${p.maximumAttempts && p.maximumAttempts > 0 ? `/${p.maximumAttempts}` : ''}`;
  let when: string;
  if (p.nextAttemptAtMs !== undefined && p.nextAttemptAtMs > nowMs) when = `next in ${Math.ceil((p.nextAttemptAtMs - nowMs) / 1000)} s`;
  else if (p.state === 'started') when = 'in progress';
  else when = 'due now';
  const where = p.workflowId === passId ? '' : `[${passId && p.workflowId.startsWith(`${passId}/`) ? p.workflowId.slice(passId.length + 1) : p.workflowId}] `;
  const failure = p.lastFailure ? `: ${shorten(p.lastFailure)}` : '';
  return `${where}${subject}, ${attempt}, ${when}${failure}`;
}

function shorten(text: string): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > MAX_FAILURE_CHARS ? `${line.slice(0, MAX_FAILURE_CHARS - 1)}…` : line;
}

// The few fields of DescribeWorkflowExecutionResponse read here. Structural, so a test can
// hand in a plain object; a real `describe().raw` fits.
type TimestampLike = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;
interface FailureLike {
  message?: string | null;
  cause?: FailureLike | null;
  timeoutFailureInfo?: unknown;
}
export interface RawPendingActivity {
  activityId?: string | null;
  activityType?: { name?: string | null } | null;
  state?: number | null;
  attempt?: number | null;
  maximumAttempts?: number | null;
  activityOptions?: { retryPolicy?: { maximumAttempts?: number | null } | null } | null;
  nextAttemptScheduleTime?: TimestampLike;
  lastFailure?: FailureLike | null;
  paused?: boolean | null;
}
export interface RawDescription {
  pendingActivities?: RawPendingActivity[] | null;
  pendingChildren?: Array<{ workflowId?: string | null; runId?: string | null }> | null;
}

// PendingActivityState in temporal.api.enums.v1.
const STATES: Record<number, PendingAttempt['state']> = { 1: 'scheduled', 2: 'started', 3: 'cancel-requested' };

function toMs(ts: TimestampLike): number | undefined {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return undefined;
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : Number(ts.seconds.toString());
  return seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

function failureText(f: FailureLike | null | undefined): string | undefined {
  if (!f) return undefined;
  return f.message || failureText(f.cause) || undefined;
}

/** The pending activities of one described workflow. */
export function pendingAttemptsOf(workflowId: string, raw: RawDescription): PendingAttempt[] {
  return (raw.pendingActivities ?? []).map((a) => {
    const max = a.maximumAttempts || a.activityOptions?.retryPolicy?.maximumAttempts || 0;
    const next = toMs(a.nextAttemptScheduleTime);
    const failure = failureText(a.lastFailure);
    return {
      workflowId,
      activityId: a.activityId ?? '?',
      activityType: a.activityType?.name ?? 'unknown',
      attempt: a.attempt ?? 1,
      ...(max > 0 ? { maximumAttempts: max } : {}),
      state: STATES[a.state ?? 0] ?? 'unknown',
      ...(a.paused ? { paused: true } : {}),
      ...(next !== undefined ? { nextAttemptAtMs: next } : {}),
      ...(failure ? { lastFailure: failure } : {}),
      ...(a.lastFailure?.timeoutFailureInfo ? { lastFailureWasTimeout: true } : {}),
    };
  });
}

/**
 * Describes the pass and its pending children, `depth` levels down (2: the version children
 * and their trigger children), and returns every pending activity. A workflow that cannot be
 * described (gone, or a moment too early) is skipped.
 */
export async function collectPendingAttempts(client: Client, workflowId: string, depth = 2): Promise<PendingAttempt[]> {
  const found: PendingAttempt[] = [];
  let level: Array<{ workflowId: string; runId?: string }> = [{ workflowId }];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const described = await Promise.all(
      level.map(async (w) => {
        try {
          return { id: w.workflowId, raw: (await client.workflow.getHandle(w.workflowId, w.runId).describe()).raw as RawDescription };
        } catch {
          return undefined;
        }
      }),
    );
    const next: typeof level = [];
    for (const d of described) {
      if (!d) continue;
      found.push(...pendingAttemptsOf(d.id, d.raw));
      for (const c of d.raw.pendingChildren ?? []) if (c.workflowId) next.push({ workflowId: c.workflowId, ...(c.runId ? { runId: c.runId } : {}) });
    }
    level = next;
  }
  return found;
}

/** Prints each (activity, attempt) once, when the attempt is a retry. */
export class UpstreamStatusPrinter {
  private readonly seen = new Set<string>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly passId: string,
  ) {}

  report(attempts: PendingAttempt[], nowMs = Date.now()): void {
    for (const p of attempts) {
      const key = `${p.workflowId}\u0000${p.activityId}\u0000${p.attempt}`;
      if (this.seen.has(key)) continue;
      const line = upstreamLine(p, nowMs, this.passId);
      if (!line) continue;
      this.seen.add(key);
      this.write(line);
    }
  }
}
