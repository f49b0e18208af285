import {
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WatcherActivities } from '../../activities';
import { judgeFromDeck } from '../../domain/decide';
import { FAILURE_TYPES } from '../../domain/failureTypes';
import { isValidLabelValue, triggerWorkflowId } from '../../domain/labels';
import { compareNightlies } from '../../domain/nightly';
import { buildTriggerRequest } from '../../domain/trigger';
import type { DeckRun, JobOutcome, JobSpec, LegacyPassInput, Release, VersionResult, LegacyVersionSpec } from '../../domain/types';
import { versionUpdateSignal } from '../messages';
import { toRetryPolicy } from '../retry';
import { DECISION, JOB, OCP_VERSION, PAYLOAD } from '../../domain/searchAttributes';
import { failureDetail } from '../failures';
import { triggerJob } from '../triggerJob';

export interface WatchVersionInput {
  version: LegacyVersionSpec;
  pass: Omit<LegacyPassInput, 'versions'>;
  /** Deck's runs of our jobs, fetched once by the pass; null when Deck was unavailable. */
  deckRuns: DeckRun[] | null;
  /** The pass's clock, so every version judges "recent" against the same instant. */
  passStartedAtMs: number;
}

/** The version child of `legacyPass` (see there); new passes run `versionPass`. Do not change what it does. */
export async function watchVersion(input: WatchVersionInput): Promise<VersionResult> {
  const { version, pass } = input;
  const state: VersionResult = { version: version.version, stream: version.stream, state: 'discovering', jobs: [] };

  const { findLatestAcceptedRelease, lookupTriggerRecord, newestTriggeredPayload } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: '2m',
    retry: toRetryPolicy(pass.retry),
  });

  let release: Release;
  try {
    release = await findLatestAcceptedRelease(version.stream);
  } catch (err) {
    const detail = failureDetail(err);
    state.state = detail.type === FAILURE_TYPES.noAcceptedRelease ? 'no-release' : 'error';
    state.releaseError = detail.reason;
    log.warn('No release for version', { version: version.version, reason: state.releaseError });
    await report(state);
    return state;
  }
  state.release = { name: release.name, pullSpec: release.pullSpec };
  state.state = 'deciding';
  state.jobs = pass.jobs.map((job) => ({ job: job.name, shortName: job.shortName, decision: 'pending', reason: 'waiting', payload: release.name }));
  upsertSearchAttributes([{ key: PAYLOAD, value: [release.name] }]);
  await report(state);

  const newer = await newerPayloadAlreadyTriggered(release);
  if (newer) {
    const reason = `${release.name} is older than ${newer}, which this watcher already triggered for OCP ${version.version}; not going back`;
    log.warn('Newest Accepted release is older than one already triggered', { version: version.version, release: release.name, newer });
    state.jobs = state.jobs.map((j) => ({ ...j, decision: 'skipped', reason }));
    state.state = 'done';
    return state;
  }

  // One job at a time: Gangway limits request rates, and the order makes logs readable.
  for (let i = 0; i < pass.jobs.length; i++) {
    state.jobs[i] = await decideAndTrigger(pass.jobs[i], release);
    await report(state);
  }
  state.state = 'done';
  return state;

  /** A newer payload already triggered means the stream went back (a tag was rejected or pruned after the fact). */
  async function newerPayloadAlreadyTriggered(rel: Release): Promise<string | undefined> {
    try {
      const newest = await newestTriggeredPayload(version.version);
      return newest && (compareNightlies(newest, rel.name) ?? 0) > 0 ? newest : undefined;
    } catch (err) {
      // The trigger records still rule out duplicates; only this extra check is lost.
      log.warn('Could not read earlier triggers of this version', { version: version.version, reason: failureDetail(err).reason });
      return undefined;
    }
  }

  async function decideAndTrigger(job: JobSpec, rel: Release): Promise<JobOutcome> {
    const base = { job: job.name, shortName: job.shortName, payload: rel.name };
    if (!isValidLabelValue(rel.name)) {
      const shown = rel.name.length > 80 ? `${rel.name.slice(0, 80)}…` : rel.name;
      return {
        ...base,
        decision: 'skipped',
        reason: `payload name ${JSON.stringify(shown)} is not a valid label value (at most 63 characters of A-Za-z0-9._-); not triggering`,
      };
    }
    const verdict = judgeFromDeck(job, rel, input.deckRuns ?? undefined, pass.dedupPolicy, input.passStartedAtMs, pass.recentSuccessWindowHours);
    if (verdict.skip) return { ...base, decision: 'skipped', reason: verdict.reason };

    const workflowId = triggerWorkflowId(job.name, rel.name);
    if (pass.dryRun) {
      const record = await lookupTriggerRecord(workflowId);
      if (record === 'completed' || record === 'running') {
        return { ...base, decision: 'skipped', reason: `already triggered by this watcher (${workflowId})`, triggerWorkflowId: workflowId };
      }
      return { ...base, decision: 'would-trigger', reason: verdict.reason, triggerWorkflowId: workflowId };
    }

    try {
      const child = await startChild(triggerJob, {
        workflowId,
        args: [
          {
            request: buildTriggerRequest(job, version.version, rel, pass.labelPrefix, workflowId),
            retry: pass.retry,
            ...(pass.triggerHeartbeatTimeoutMs ? { heartbeatTimeoutMs: pass.triggerHeartbeatTimeoutMs } : {}),
          },
        ],
        // The ID is the record: a finished trigger blocks another, a failed one may be retried.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        // The record must outlive a pass that is cancelled or terminated.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: OCP_VERSION, value: [version.version] },
          { key: PAYLOAD, value: [rel.name] },
          { key: JOB, value: job.shortName },
          { key: DECISION, value: 'triggering' },
        ],
      });
      const result = await child.result();
      return {
        ...base,
        decision: 'triggered',
        reason: verdict.reason,
        triggerWorkflowId: workflowId,
        executionId: result.executionId,
        ...(result.httpStatus ? { httpStatus: result.httpStatus } : {}),
        ...(result.foundFromEarlierAttempt ? { reason: `${verdict.reason}; created by an earlier attempt whose answer was lost` } : {}),
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return { ...base, decision: 'skipped', reason: `already triggered by this watcher (${workflowId})`, triggerWorkflowId: workflowId };
      }
      const detail = failureDetail(err);
      return {
        ...base,
        decision: 'failed',
        reason: detail.reason,
        triggerWorkflowId: workflowId,
        ...(detail.httpStatus ? { httpStatus: detail.httpStatus } : {}),
      };
    }
  }
}

/** Pushes progress to the pass so its `summary` query is live; standalone runs have no parent. */
async function report(state: VersionResult): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  try {
    await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(versionUpdateSignal, state);
  } catch (err) {
    // Progress is best effort: the final result reaches the pass anyway.
    log.warn('Could not report progress to the pass', { error: String(err) });
  }
}
