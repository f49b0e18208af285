import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { EventType, PendingActivityState, PendingWorkflowTaskState } = temporal.api.enums.v1;

// Where a kill test's time goes: a timeline of its own steps (`KillTimeline`) and, read back from
// the server, every timeout Temporal waited out (`timeoutsWaited`). Printed by the kill tests
// (crash, retryCrash, notifyCrash) so a slow run says why it was slow.

/** Milliseconds since the test started, per step, printed as one line each. */
export class KillTimeline {
  private readonly t0 = Date.now();
  readonly marks: Array<{ ms: number; what: string }> = [];

  mark(what: string): void {
    const ms = Date.now() - this.t0;
    this.marks.push({ ms, what });
    if (process.env.KILL_TRACE) process.stdout.write(`# +${(ms / 1000).toFixed(1)} s ${what}\n`);
  }

  /** Runs `work` and marks how long it took. */
  async time<T>(what: string, work: () => Promise<T>): Promise<T> {
    const start = Date.now();
    try {
      return await work();
    } finally {
      this.mark(`${what} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
    }
  }
}

export interface TimeoutsWaited {
  /** Per kind (`workflowTask START_TO_CLOSE`, `activity HEARTBEAT triggerGangwayJob`, ...): how many, and the seconds from the task's start (or schedule) to its timeout, summed. */
  byKind: Record<string, { count: number; seconds: number }>;
  workflows: number;
}

const TIMEOUT_TYPES: Record<number, string> = { 1: 'START_TO_CLOSE', 2: 'SCHEDULE_TO_START', 3: 'SCHEDULE_TO_CLOSE', 4: 'HEARTBEAT' };

function ms(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return 0;
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/**
 * Every workflow task and activity timeout in the histories of the namespace's workflows:
 * what the server waited out because a worker died holding the task.
 */
export async function timeoutsWaited(client: Client): Promise<TimeoutsWaited> {
  const byKind: TimeoutsWaited['byKind'] = {};
  let workflows = 0;
  const add = (kind: string, seconds: number) => {
    const k = (byKind[kind] ??= { count: 0, seconds: 0 });
    k.count += 1;
    k.seconds = Math.round((k.seconds + seconds) * 10) / 10;
  };
  for await (const wf of client.workflow.list()) {
    workflows += 1;
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const events = history.events ?? [];
    const byId = new Map(events.map((e) => [Number(e.eventId), e]));
    for (const e of events) {
      const wt = e.workflowTaskTimedOutEventAttributes;
      if (wt) {
        const from = byId.get(Number(wt.startedEventId)) ?? byId.get(Number(wt.scheduledEventId));
        add(`workflowTask ${TIMEOUT_TYPES[wt.timeoutType ?? 0] ?? wt.timeoutType} (${wf.type})`, (ms(e.eventTime) - ms(from?.eventTime)) / 1000);
      }
      // An attempt that timed out and was retried leaves no event of its own: the next attempt's
      // start carries it as its last failure (counted with the timeout the activity was given).
      const st = e.activityTaskStartedEventAttributes;
      const lastTimeout = st?.lastFailure?.timeoutFailureInfo;
      if (st && lastTimeout) {
        const scheduled = byId.get(Number(st.scheduledEventId))?.activityTaskScheduledEventAttributes;
        const type = TIMEOUT_TYPES[lastTimeout.timeoutType ?? 0] ?? '?';
        const given = type === 'HEARTBEAT' ? scheduled?.heartbeatTimeout : type === 'START_TO_CLOSE' ? scheduled?.startToCloseTimeout : undefined;
        add(`activity attempt ${type} ${scheduled?.activityType?.name ?? '?'}`, ms(given) / 1000);
      }
      const at = e.activityTaskTimedOutEventAttributes;
      if (at) {
        const scheduled = byId.get(Number(at.scheduledEventId));
        const type = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        const from = byId.get(Number(at.startedEventId)) ?? scheduled;
        add(`activity ${TIMEOUT_TYPES[at.failure?.timeoutFailureInfo?.timeoutType ?? 0] ?? '?'} ${type}`, (ms(e.eventTime) - ms(from?.eventTime)) / 1000);
      }
    }
  }
  return { byKind, workflows };
}

/**
 * What a kill test waits on when a pass does not end: every running workflow, its pending
 * activities (attempt, state, last failure) and children, and its last events. One line each,
 * so a hang in CI fails with the evidence instead of the test runner's timeout.
 */
export async function stuckReport(client: Client, limit = 40): Promise<string> {
  const lines: string[] = [];
  for await (const wf of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
    if (lines.length >= limit) {
      lines.push('... (more running workflows)');
      break;
    }
    try {
      const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
      const d = await handle.describe();
      const acts = (d.raw.pendingActivities ?? []).map((a) => {
        const failure = a.lastFailure?.message?.split('\n')[0] ?? '';
        return `${a.activityType?.name}#${a.activityId} attempt ${a.attempt} ${PendingActivityState[a.state ?? 0]}${failure ? ` last failure: ${failure}` : ''}`;
      });
      const children = (d.raw.pendingChildren ?? []).map((c) => c.workflowId).join(',');
      const events = (await handle.fetchHistory()).events ?? [];
      const last = events.slice(-4).map((e) => String(EventType[e.eventType ?? 0]).replace(/^EVENT_TYPE_/, '')).join(' > ');
      const pendingTask = d.raw.pendingWorkflowTask ? ` pending workflow task attempt ${d.raw.pendingWorkflowTask.attempt} ${PendingWorkflowTaskState[d.raw.pendingWorkflowTask.state ?? 0]}` : '';
      lines.push(`${wf.type} ${wf.workflowId}: ${events.length} events, last ${last};${pendingTask}${acts.length ? ` activities [${acts.join('; ')}]` : ''}${children ? ` children [${children}]` : ''}`);
    } catch (err) {
      lines.push(`${wf.type} ${wf.workflowId}: ${String((err as Error).message).split('\n')[0]}`);
    }
  }
  return lines.length ? lines.join('\n') : '(no running workflows)';
}

/** `work`, or a failure naming `what` and `report()`'s evidence once `ms` passed. */
export async function within<T>(work: Promise<T>, ms: number, what: string, report: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void report()
        .catch((err) => `(no report: ${(err as Error).message})`)
        .then((r) => reject(new Error(`${what} did not end within ${ms / 1000} s\n${r}`)));
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
