import {
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WatcherActivities } from '../activities';
import { verdictAt, type DeckVerdict } from '../domain/decide';
import { isValidLabelValue, triggerWorkflowId } from '../domain/labels';
import { compareNightlies } from '../domain/nightly';
import { DECISION, JOB, OCP_VERSION, PAYLOAD } from '../domain/searchAttributes';
import { buildTriggerRequest } from '../domain/trigger';
import { LEDGER_BATCH_SIZE, type ClaimRequest, type ClaimResult, type RecordAnswer, type RecordTriggerRequest } from '../domain/ledger';
import type { JobOutcome, JobSpec, PassSettings, PayloadOutcome, Release, VersionPlan, VersionResult } from '../domain/types';
import { failureDetail } from './failures';
import { versionProgressSignal } from './messages';
import { countInWorkflow } from './metrics';
import { Batcher } from './batcher';
import { forEachLimited } from './pool';
import { toRetryPolicy } from './retry';
import { triggerJob } from './triggerJob';
import { activitySummary, triggerDetailsStatic, triggerSummaryLine } from '../domain/uiText';
import { callWithSummary, staticMetadata, uiMetadataPatched } from './uiMetadata';

export interface VersionPassInput {
  plan: VersionPlan;
  settings: PassSettings;
  /** The stream's newest Accepted release, found by the pass. */
  release: Release;
  /** Deck's verdicts for this version's jobs, in their order; absent when Deck was not usable. */
  deck?: Array<DeckVerdict | null>;
  /**
   * `payloads: every`: older payloads to decide and trigger before `release`, oldest first, each
   * with Deck's verdicts for its jobs. Each is done before the next, so the ledger's "never go
   * back" rule sees them in order.
   */
  earlier?: Array<{ release: Release; deck?: Array<DeckVerdict | null> }>;
  /** Progress reports to the pass are at least this far apart. */
  progressEveryMs: number;
}

/** Passes that ask the ledger alone whether a newer payload was triggered (no visibility search). */
export const VISIBILITY_OFF_PATCH = 'ledger-only-records';
/** Passes that decide older payloads too (`payloads: every`). */
export const EVERY_PAYLOAD_PATCH = 'every-payload';
/** Passes whose result shows the verdicts so far of the version's previous payloads. */
export const PREVIOUS_VERDICTS_PATCH = 'previous-verdicts';
/**
 * Passes that ask the ledger in batches: a payload's claims in one Update, and the triggers'
 * outcomes together as they end (one Update in flight, the next carries what ended meanwhile).
 */
export const LEDGER_BATCHES_PATCH = 'ledger-batches';
/**
 * Dry runs that ask the ledger what a claim would get (already triggered, paused, older than the
 * newest, in progress, attempts exhausted) before the trigger records, as a real pass does.
 */
export const DRY_RUN_LEDGER_PATCH = 'dry-run-ledger';
/** A dry run's reason for a job whose trigger is in flight (the ledger's `in-progress`, or a running trigger record). */
const IN_PROGRESS_IN_A_DRY_RUN = 'a trigger of this payload is in progress, not posted yet; a real pass waits for its outcome';
/** How many previous payloads a pass's result shows per version. */
export const PREVIOUS_PAYLOADS_SHOWN = 3;

/** How long a trigger of an earlier run may take to finish, retries included, before this pass stops waiting. */
const ADOPT_TIMEOUT = '3h';

/**
 * One OCP version of a pass: decides every job from Deck's verdicts and the trigger records,
 * triggers what needs it (several at once), and returns the version's outcome. It carries only
 * its own version's facts.
 */
export async function versionPass(input: VersionPassInput): Promise<VersionResult> {
  const { plan, settings } = input;
  // The payload being decided: `input.release`, or in turn each of `input.earlier` before it.
  let release = input.release;
  const state: VersionResult = {
    version: plan.version,
    stream: plan.stream,
    state: 'deciding',
    release: { name: release.name, pullSpec: release.pullSpec },
    jobs: plan.jobs.map((job) => ({ job: job.name, shortName: job.shortName, decision: 'pending', reason: 'waiting' })),
  };
  const progress = new ProgressReporter(plan.version, input.progressEveryMs);
  const ui = uiMetadataPatched();

  const { lookupTriggerRecord, newestTriggeredPayload } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: settings.triggerHeartbeatTimeoutMs,
    retry: toRetryPolicy(settings.retry),
  });
  const { ledgerClaim, ledgerClaimAll, ledgerPreviewClaims, ledgerRecordTrigger, ledgerRecordTriggers, ledgerNewestTriggered, ledgerPreviousVerdicts } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: '1m',
    // They heartbeat (activities/index.ts): a worker killed during one is noticed after the
    // trigger's heartbeat timeout, not the whole minute. (An activity option: no new command,
    // histories replay unchanged.)
    heartbeatTimeout: settings.triggerHeartbeatTimeoutMs,
    retry: { ...toRetryPolicy(settings.retry), maximumAttempts: Math.max(settings.retry.maximumAttempts, 10) },
  });
  const { awaitTriggerRecord } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: ADOPT_TIMEOUT,
    heartbeatTimeout: settings.triggerHeartbeatTimeoutMs,
    retry: toRetryPolicy(settings.retry),
  });

  const newer = await newerPayloadAlreadyTriggered();
  if (newer) {
    const reason = `${release.name} is older than ${newer}, which this watcher already triggered for OCP ${plan.version}; not going back`;
    log.warn('Newest Accepted release is older than one already triggered', { version: plan.version, release: release.name, newer });
    state.jobs = state.jobs.map((j) => ({ ...j, decision: 'skipped', reason }));
    for (const j of state.jobs) countDecision(j);
    state.state = 'done';
    return state;
  }

  // `payloads: every`: the older payloads first, oldest first, each in full before the next.
  // Their outcomes go into the result only (progress speaks of `release`, the newest).
  if (input.earlier?.length && patched(EVERY_PAYLOAD_PATCH)) {
    const earlier: PayloadOutcome[] = [];
    for (const e of input.earlier) {
      release = e.release;
      const jobs: JobOutcome[] = plan.jobs.map((job) => ({ ...base(job), decision: 'pending', reason: 'waiting' }));
      await decideAndTrigger(e.deck, (i, outcome) => (jobs[i] = outcome), false);
      earlier.push({ release: { name: e.release.name, pullSpec: e.release.pullSpec }, jobs });
    }
    release = input.release;
    state.earlier = earlier;
  }

  await decideAndTrigger(input.deck, setOutcome, true);
  if (patched(PREVIOUS_VERDICTS_PATCH)) {
    const decided = [release.name, ...(input.earlier ?? []).map((e) => e.release.name)];
    try {
      const previous = await callWithSummary(ui, ledgerPreviousVerdicts, () => activitySummary.ledgerPreviousVerdicts(plan.version), plan.version, {
        exclude: decided,
        limit: PREVIOUS_PAYLOADS_SHOWN,
        order: plan.jobs.map((j) => j.shortName),
      });
      if (previous.length > 0) state.previous = previous;
    } catch (err) {
      // Only the report's look back is lost.
      log.warn('Could not read the previous payloads from the ledger', { version: plan.version, reason: failureDetail(err).reason });
    }
  }
  state.state = 'done';
  return state;

  /** One payload (`release`): Deck's skips, then the triggers, `settings.concurrency` at a time. */
  async function decideAndTrigger(deck: Array<DeckVerdict | null> | undefined, set: (i: number, outcome: JobOutcome) => void, report: boolean): Promise<void> {
    // Deck's verdicts first: every skip is known at once and reported in one message.
    const toTrigger: number[] = [];
    plan.jobs.forEach((job, i) => {
      const outcome = decideFromDeck(job, verdictAt(deck, i));
      if (outcome) set(i, outcome);
      else toTrigger.push(i);
    });
    // Skips go to the pass at once when triggers follow; otherwise the result follows at once.
    if (report && toTrigger.length > 0) await progress.flush(true);

    // The ledger grants the payload's attempts in one Update (then the triggers go on as below).
    const batched = toTrigger.length > 0 && !settings.dryRun && patched(LEDGER_BATCHES_PATCH);
    const claims = batched ? await claimAll(toTrigger.map((i) => plan.jobs[i]!)) : undefined;
    const recorder = batched ? recordInBatches() : undefined;
    // A dry run asks the ledger what the claims would get, changing nothing.
    const previews = toTrigger.length > 0 && settings.dryRun && patched(DRY_RUN_LEDGER_PATCH) ? await previewAll(toTrigger.map((i) => plan.jobs[i]!)) : undefined;

    await forEachLimited(toTrigger, Math.max(1, settings.concurrency), async (i, n) => {
      const why = verdictAt(deck, i).reason;
      set(i, await (settings.dryRun ? dryRun(plan.jobs[i]!, why, previews?.[n]) : trigger(plan.jobs[i]!, why, claims?.[n], recorder)));
      if (report) await progress.flush(false);
    });
  }

  function setOutcome(i: number, outcome: JobOutcome): void {
    state.jobs[i] = outcome;
    progress.changed(outcome);
    countDecision(outcome);
  }

  function countDecision(outcome: JobOutcome): void {
    if (outcome.decision !== 'pending') countInWorkflow('decisions', { version: plan.version, job: outcome.shortName, decision: outcome.decision });
  }

  /** A newer payload already triggered means the stream went back (a tag was rejected or pruned after the fact). */
  async function newerPayloadAlreadyTriggered(): Promise<string | undefined> {
    try {
      // The ledger is the record. Passes of older code also read the trigger records through
      // visibility when the ledger was new; visibility lags, so it is on no decision's path now.
      const fromLedger = await callWithSummary(ui, ledgerNewestTriggered, () => activitySummary.ledgerNewestTriggered(plan.version), plan.version);
      const newest = fromLedger ?? (patched(VISIBILITY_OFF_PATCH) ? null : await newestTriggeredPayload(plan.version));
      return newest && (compareNightlies(newest, release.name) ?? 0) > 0 ? newest : undefined;
    } catch (err) {
      // The trigger records still rule out duplicates; only this extra check is lost.
      log.warn('Could not read earlier triggers of this version', { version: plan.version, reason: failureDetail(err).reason });
      return undefined;
    }
  }

  /**
   * The payload is the version's, and the trigger record's ID follows from job and payload
   * (`triggerWorkflowId`): neither is repeated per job, so a pass's summary stays small.
   */
  function base(job: JobSpec) {
    return { job: job.name, shortName: job.shortName };
  }

  /** A skip decided without Temporal or Gangway, or undefined when the job goes on to its trigger record. */
  function decideFromDeck(job: JobSpec, verdict: DeckVerdict): JobOutcome | undefined {
    if (!isValidLabelValue(release.name)) {
      const shown = release.name.length > 80 ? `${release.name.slice(0, 80)}…` : release.name;
      return {
        ...base(job),
        decision: 'skipped',
        reason: `payload name ${JSON.stringify(shown)} is not a valid label value (at most 63 characters of A-Za-z0-9._-); not triggering`,
      };
    }
    return verdict.skip ? { ...base(job), decision: 'skipped', reason: verdict.reason, ...(verdict.runId ? { executionId: verdict.runId } : {}) } : undefined;
  }

  function claimRequest(job: JobSpec): ClaimRequest {
    return {
      payload: release.name,
      pullSpec: release.pullSpec,
      job: { name: job.name, shortName: job.shortName, payloadEnv: job.payloadEnv },
      claimant: triggerWorkflowId(job.name, release.name),
    };
  }

  /** One answer per job, in order: the ledger's, or why it could not be asked (the same for a whole Update). */
  async function claimAll(jobs: JobSpec[]): Promise<Array<ClaimResult | { unasked: string }>> {
    const answers: Array<ClaimResult | { unasked: string }> = [];
    for (let i = 0; i < jobs.length; i += LEDGER_BATCH_SIZE) {
      const some = jobs.slice(i, i + LEDGER_BATCH_SIZE);
      try {
        answers.push(...(await callWithSummary(ui, ledgerClaimAll, () => activitySummary.ledgerClaimAll(some.map((j) => j.shortName), release.name), plan.version, some.map(claimRequest))));
      } catch (err) {
        const unasked = failureDetail(err).reason;
        answers.push(...some.map(() => ({ unasked })));
      }
    }
    return answers;
  }

  /**
   * What the ledger would answer each claim, in order (a dry run's question); undefined for all
   * when the version has no ledger yet or it could not be read (then the trigger records alone decide).
   */
  async function previewAll(jobs: JobSpec[]): Promise<Array<ClaimResult | undefined>> {
    const answers: Array<ClaimResult | undefined> = [];
    for (let i = 0; i < jobs.length; i += LEDGER_BATCH_SIZE) {
      const some = jobs.slice(i, i + LEDGER_BATCH_SIZE);
      try {
        const previews = await callWithSummary(ui, ledgerPreviewClaims, () => activitySummary.ledgerPreviewClaims(some.map((j) => j.shortName), release.name), plan.version, some.map(claimRequest));
        answers.push(...some.map((_, k) => previews?.[k]));
      } catch (err) {
        log.warn('Could not ask the ledger for the dry run; the trigger records decide', { version: plan.version, reason: failureDetail(err).reason });
        answers.push(...some.map(() => undefined));
      }
    }
    return answers;
  }

  /** A dry run's decision: the ledger's refusal as a real pass would report it, else the trigger records (`triggerOnce`). */
  async function dryRun(job: JobSpec, why: string, preview?: ClaimResult): Promise<JobOutcome> {
    if (preview && !preview.granted) {
      if (preview.reason === 'in-progress') {
        return { ...base(job), decision: 'skipped', reason: IN_PROGRESS_IN_A_DRY_RUN };
      }
      return refused(job, preview);
    }
    return triggerOnce(job, why);
  }

  /** A claim the ledger refused, as the job's outcome (`in-progress` aside: a real pass waits for that trigger). */
  function refused(job: JobSpec, claim: Extract<ClaimResult, { granted: false }>): JobOutcome {
    switch (claim.reason) {
      case 'already-triggered':
        return { ...base(job), decision: 'skipped', reason: 'already triggered by this watcher', ...(claim.attempt?.executionId ? { executionId: claim.attempt.executionId } : {}) };
      case 'paused':
        return { ...base(job), decision: 'skipped', reason: `OCP ${plan.version} is paused${claim.paused?.note ? ` (${claim.paused.note})` : ''}; nothing is triggered until it is resumed` };
      case 'older-than-newest':
        return { ...base(job), decision: 'skipped', reason: `${release.name} is older than ${claim.newest ?? 'a payload'} this watcher already triggered for OCP ${plan.version}; not going back` };
      default:
        return { ...base(job), decision: 'failed', reason: `no attempt left for this payload (${claim.reason})` };
    }
  }

  /** The triggers' outcomes to the ledger, those that end while one Update is in flight together in the next. */
  function recordInBatches(): Batcher<RecordTriggerRequest, RecordAnswer> {
    return new Batcher(
      (requests) => {
        const shown = requests.map((r) => ({ shortName: plan.jobs.find((j) => j.name === r.job)?.shortName ?? r.job, attempt: r.attempt }));
        return callWithSummary(ui, ledgerRecordTriggers, () => activitySummary.ledgerRecordTriggers(shown, release.name), plan.version, requests);
      },
      (err) => ({ refused: failureDetail(err).reason }),
      LEDGER_BATCH_SIZE,
    );
  }

  /**
   * The ledger first: it grants the next attempt of (job, payload), or says why not (posted
   * already, paused, older than the newest triggered). It outlives the trigger records, which
   * go with the namespace's retention. The trigger workflow's ID is the claimant, so a pass that
   * lost the answer, or a second pass, is granted the same attempt and meets the same trigger.
   */
  async function trigger(
    job: JobSpec,
    why: string,
    claimed?: ClaimResult | { unasked: string },
    recorder?: Batcher<RecordTriggerRequest, RecordAnswer>,
  ): Promise<JobOutcome> {
    const workflowId = triggerWorkflowId(job.name, release.name);
    const unasked = (reason: string): JobOutcome => ({ ...base(job), decision: 'failed', reason: `the ledger of OCP ${plan.version} could not be asked: ${reason}` });
    let claim: ClaimResult;
    if (claimed) {
      if ('unasked' in claimed) return unasked(claimed.unasked);
      claim = claimed;
    } else {
      try {
        claim = await callWithSummary(ui, ledgerClaim, () => activitySummary.ledgerClaim(job.shortName, release.name), plan.version, claimRequest(job));
      } catch (err) {
        return unasked(failureDetail(err).reason);
      }
    }
    if (!claim.granted) {
      // Another claimant's attempt in flight: the same trigger record; wait for it.
      return claim.reason === 'in-progress' ? adopt(job, workflowId) : refused(job, claim);
    }
    const outcome = await triggerOnce(job, why, 'earlierTriesSince' in claim ? claim.earlierTriesSince : undefined);
    const attempt = claim.attempt;
    const record: RecordTriggerRequest = {
      payload: release.name,
      job: job.name,
      attempt,
      // Triggered, or found already posted: both name the execution; a failure names none.
      outcome: outcome.executionId ? { executionId: outcome.executionId } : { failed: outcome.reason },
    };
    // Not recorded: the attempt stays `triggering`; the next pass (same claimant) is granted it
    // again and meets the finished trigger record, which it records then.
    const notRecorded = (reason: string) => log.warn('Could not record the trigger in the ledger', { version: plan.version, job: job.name, reason });
    if (recorder) {
      const answer = await recorder.submit(record);
      if ('refused' in answer) notRecorded(answer.refused);
      return outcome;
    }
    try {
      await callWithSummary(ui, ledgerRecordTrigger, () => activitySummary.ledgerRecordTrigger(job.shortName, release.name, attempt), plan.version, record);
    } catch (err) {
      notRecorded(failureDetail(err).reason);
    }
    return outcome;
  }

  /** `earlierTriesSince`: from the claim's answer, handed to the trigger (undefined: it asks the ledger). */
  async function triggerOnce(job: JobSpec, why: string, earlierTriesSince?: string | null): Promise<JobOutcome> {
    const workflowId = triggerWorkflowId(job.name, release.name);
    const withId = base(job);
    if (settings.dryRun) {
      const record = await callWithSummary(ui, lookupTriggerRecord, () => activitySummary.lookupTriggerRecord(job.shortName, release.name), workflowId);
      if (record === 'completed') return { ...withId, decision: 'skipped', reason: 'already triggered by this watcher' };
      if (record === 'running') {
        return { ...withId, decision: 'skipped', reason: IN_PROGRESS_IN_A_DRY_RUN };
      }
      return { ...withId, decision: 'would-trigger', reason: why };
    }

    try {
      const child = await startChild(triggerJob, {
        workflowId,
        args: [
          {
            request: {
              ...buildTriggerRequest(job, plan.version, release, settings.labelPrefix, workflowId),
              ...(earlierTriesSince !== undefined ? { earlierTriesSince } : {}),
            },
            retry: settings.retry,
            heartbeatTimeoutMs: settings.triggerHeartbeatTimeoutMs,
            ...(settings.triggerAttemptTimeoutMs !== undefined ? { attemptTimeoutMs: settings.triggerAttemptTimeoutMs } : {}),
          },
        ],
        // The ID is the record: a finished trigger blocks another, a failed one may be retried.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        // The record must outlive a pass that is cancelled or terminated.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: OCP_VERSION, value: [plan.version] },
          { key: PAYLOAD, value: [release.name] },
          { key: JOB, value: job.shortName },
          { key: DECISION, value: 'triggering' },
        ],
        ...staticMetadata(ui, () => triggerSummaryLine(job.shortName, release.name), () => triggerDetailsStatic(job, release)),
      });
      const result = await child.result();
      return {
        ...withId,
        decision: 'triggered',
        reason: result.foundFromEarlierAttempt ? `${why}; created by an earlier attempt whose answer was lost` : why,
        executionId: result.executionId,
        ...(result.httpStatus ? { httpStatus: result.httpStatus } : {}),
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return adopt(job, workflowId);
      const detail = failureDetail(err);
      return { ...withId, decision: 'failed', reason: detail.reason, ...(detail.httpStatus ? { httpStatus: detail.httpStatus } : {}) };
    }
  }

  /**
   * The trigger exists already: finished, or still in progress (another pass, or one a crashed
   * `run` left behind). Only a finished, successful one is "already triggered"; one in progress
   * is waited for and reported as it ends.
   */
  async function adopt(job: JobSpec, workflowId: string): Promise<JobOutcome> {
    const withId = base(job);
    let outcome;
    try {
      outcome = await callWithSummary(ui, awaitTriggerRecord, () => activitySummary.awaitTriggerRecord(job.shortName, release.name), workflowId);
    } catch (err) {
      return { ...withId, decision: 'failed', reason: `could not learn the outcome of the trigger in progress: ${failureDetail(err).reason}` };
    }
    switch (outcome.state) {
      case 'completed':
        if (!outcome.wasRunning) {
          return { ...withId, decision: 'skipped', reason: 'already triggered by this watcher', executionId: outcome.result.executionId };
        }
        return {
          ...withId,
          decision: 'triggered',
          reason: "triggered by an earlier run's attempt, which this pass waited for",
          executionId: outcome.result.executionId,
          ...(outcome.result.httpStatus ? { httpStatus: outcome.result.httpStatus } : {}),
        };
      case 'failed':
        return {
          ...withId,
          decision: 'failed',
          reason: `an earlier run's trigger failed: ${outcome.reason}`,
          ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}),
        };
      default:
        return { ...withId, decision: 'failed', reason: 'the trigger record existed but is gone; the next pass triggers it' };
    }
  }
}

/** Sends the pass what changed, at most every `everyMs` (and always when forced), as deltas. */
class ProgressReporter {
  private readonly pending = new Map<string, JobOutcome>();
  private lastSentMs = -Infinity;

  constructor(
    private readonly version: string,
    private readonly everyMs: number,
  ) {}

  changed(outcome: JobOutcome): void {
    this.pending.set(outcome.job, outcome);
  }

  async flush(force: boolean): Promise<void> {
    const parent = workflowInfo().parent;
    if (!parent || this.pending.size === 0) return;
    if (!force && Date.now() - this.lastSentMs < this.everyMs) return;
    const jobs = [...this.pending.values()];
    this.pending.clear();
    this.lastSentMs = Date.now();
    try {
      await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(versionProgressSignal, { version: this.version, jobs });
    } catch (err) {
      // Progress is best effort: the final result reaches the pass anyway.
      log.warn('Could not report progress to the pass', { error: String(err) });
    }
  }
}
