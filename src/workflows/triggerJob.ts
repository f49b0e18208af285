import { ApplicationFailure, log, patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities';
import { FAILURE_TYPES } from '../domain/failureTypes';
import { gangwayTaskQueue } from '../domain/taskQueues';
import type { RetrySettings, TriggerRequest, TriggerResult } from '../domain/types';
import { failureDetail } from './failures';
import { toRetryPolicy } from './retry';
import { DECISION } from '../domain/searchAttributes';
import { countInWorkflow } from './metrics';
import { activitySummary } from '../domain/uiText';
import { callWithSummary, uiMetadataPatched } from './uiMetadata';

export interface TriggerJobInput {
  request: TriggerRequest;
  retry: RetrySettings;
  /** Absent in triggers started before it existed. */
  heartbeatTimeoutMs?: number;
  /** The Gangway activity's start-to-close timeout per attempt (config `trigger.attemptTimeout`); absent: 30m. */
  attemptTimeoutMs?: number;
}

const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;

/** Marks triggers whose Gangway activity runs on the Gangway task queue (the shared budget). */
export const GANGWAY_TASK_QUEUE_PATCH = 'gangway-task-queue';

/**
 * One execution per (job, payload), under a deterministic workflow ID: its existence is the
 * durable record that this watcher triggered that payload. It fails (rather than returning
 * a failure value) so that the ID reuse policy lets a later pass try a failed trigger again.
 */
export async function triggerJob(input: TriggerJobInput): Promise<TriggerResult> {
  // On the Gangway task queue the server dispatches the activity within the budget shared by
  // all workers. Triggers started before that queue existed scheduled it on their own queue,
  // and replay that way.
  const onGangwayQueue = patched(GANGWAY_TASK_QUEUE_PATCH);
  const { triggerGangwayJob } = proxyActivities<WatcherActivities>({
    ...(onGangwayQueue ? { taskQueue: gangwayTaskQueue(workflowInfo().taskQueue) } : {}),
    // No schedule-to-start timeout: the wait for the server to dispatch the activity (the
    // budget) happens before it starts, and grows with the queue (N triggers take N / rate).
    // Nothing is held while it waits, so a dying worker loses nothing; and Temporal does not
    // retry a schedule-to-start timeout, it would fail the trigger for good.
    // Start-to-close: long enough for a retry's in-flight grace, Deck's lag and the permits of
    // its requests (activities/index.ts); a dead worker is noticed by the missing heartbeat.
    // The attempt abandons its waits and its request before this runs out (activities/index.ts).
    startToCloseTimeout: input.attemptTimeoutMs ?? '30m',
    heartbeatTimeout: input.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    retry: toRetryPolicy(input.retry),
  });
  const { request } = input;
  const counted = (result: 'triggered' | 'failed') => countInWorkflow('triggers', { version: request.version, job: request.job.shortName, result });
  // Called after the Gangway queue's patch, so both markers keep their order in history.
  const ui = uiMetadataPatched();
  try {
    const result = await callWithSummary(ui, triggerGangwayJob, () => activitySummary.triggerGangwayJob(request.job.shortName ?? request.job.name, request.release.name), request);
    upsertSearchAttributes([{ key: DECISION, value: 'triggered' }]);
    counted('triggered');
    return result;
  } catch (err) {
    const detail = failureDetail(err);
    upsertSearchAttributes([{ key: DECISION, value: 'failed' }]);
    counted('failed');
    log.warn('Trigger failed', { job: request.job.name, payload: request.release.name, reason: detail.reason });
    throw ApplicationFailure.create({ type: FAILURE_TYPES.triggerFailed, message: detail.reason, nonRetryable: true, details: [detail] });
  }
}
