import { ApplicationFailure, log, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities';
import { FAILURE_TYPES } from '../domain/failureTypes';
import type { RetrySettings, TriggerRequest, TriggerResult } from '../domain/types';
import { failureDetail } from './failures';
import { toRetryPolicy } from './retry';
import { DECISION } from '../domain/searchAttributes';

export interface TriggerJobInput {
  request: TriggerRequest;
  retry: RetrySettings;
  /** Absent in triggers started before it existed. */
  heartbeatTimeoutMs?: number;
}

const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;

/**
 * One execution per (job, payload), under a deterministic workflow ID: its existence is the
 * durable record that this watcher triggered that payload. It fails (rather than returning
 * a failure value) so that the ID reuse policy lets a later pass try a failed trigger again.
 */
export async function triggerJob(input: TriggerJobInput): Promise<TriggerResult> {
  const { triggerGangwayJob } = proxyActivities<WatcherActivities>({
    // Long enough for a queue of rate-limit waits and Deck's lag; a dead worker is noticed
    // by the missing heartbeat instead.
    startToCloseTimeout: '30m',
    heartbeatTimeout: input.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    retry: toRetryPolicy(input.retry),
  });
  const { request } = input;
  try {
    const result = await triggerGangwayJob(request);
    upsertSearchAttributes([{ key: DECISION, value: 'triggered' }]);
    return result;
  } catch (err) {
    const detail = failureDetail(err);
    upsertSearchAttributes([{ key: DECISION, value: 'failed' }]);
    log.warn('Trigger failed', { job: request.job.name, payload: request.release.name, reason: detail.reason });
    throw ApplicationFailure.create({ type: FAILURE_TYPES.triggerFailed, message: detail.reason, nonRetryable: true, details: [detail] });
  }
}
