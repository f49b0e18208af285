import { ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WatcherActivities } from '../activities';
import type { LaunchTarget, LedgerTriggerSettings, TriggerOutcome } from '../domain/ledger';
import { DECISION, JOB, OCP_VERSION, PAYLOAD } from '../domain/searchAttributes';
import { buildTriggerRequest } from '../domain/trigger';
import { failureDetail } from './failures';
import { toRetryPolicy } from './retry';
import { triggerJob } from './triggerJob';

/** How long the ledger waits for a trigger of its own that exists already (a continue-as-new came between). */
const ADOPT_TIMEOUT = '3h';

/**
 * Posts one attempt the ledger started (a retry or a retest) through the same `triggerJob` as
 * the pass, under the attempt's own workflow ID (`…/attempt-<n>`) and trigger key: the ID makes
 * it exactly once under crashes and continue-as-new, the key lets the trigger's activity find
 * what an earlier try of it created. Returns what the ledger records; never throws.
 */
export async function postAttempt(version: string, target: LaunchTarget, settings: LedgerTriggerSettings): Promise<TriggerOutcome> {
  const job = { name: target.job.name, shortName: target.job.shortName, payloadEnv: target.job.payloadEnv !== undefined ? target.job.payloadEnv : settings.defaultPayloadEnv };
  const release = { name: target.payload, pullSpec: target.pullSpec, phase: 'Accepted' };
  try {
    const child = await startChild(triggerJob, {
      workflowId: target.workflowId,
      args: [
        {
          request: buildTriggerRequest(job, version, release, settings.labelPrefix, target.workflowId, target.attempt),
          retry: settings.retry,
          heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
        },
      ],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      // The record must outlive the ledger's run (it continues as new).
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: OCP_VERSION, value: [version] },
        { key: PAYLOAD, value: [target.payload] },
        { key: JOB, value: target.job.shortName },
        { key: DECISION, value: 'triggering' },
      ],
    });
    const result = await child.result();
    return { executionId: result.executionId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return adopt(target.workflowId, settings);
    return { failed: failureDetail(err).reason };
  }
}

/** The attempt's trigger exists: its outcome, waited for while it runs. */
async function adopt(workflowId: string, settings: LedgerTriggerSettings): Promise<TriggerOutcome> {
  const { awaitTriggerRecord } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: ADOPT_TIMEOUT,
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry: toRetryPolicy(settings.retry),
  });
  try {
    const outcome = await awaitTriggerRecord(workflowId);
    if (outcome.state === 'completed') return { executionId: outcome.result.executionId };
    if (outcome.state === 'failed') return { failed: outcome.reason };
    return { failed: 'the trigger record existed but is gone' };
  } catch (err) {
    return { failed: `could not learn the outcome of trigger ${workflowId}: ${failureDetail(err).reason}` };
  }
}
