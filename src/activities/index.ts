import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context, log, sleep } from '@temporalio/activity';
import type { DeckClient, DeckQuery } from '../clients/deck';
import type { GangwayClient } from '../clients/gangway';
import type { ReleaseControllerClient } from '../clients/releaseController';
import type { Client } from '@temporalio/client';
import { abortable } from '../clients/abortable';
import { NoAcceptedReleaseError, UpstreamError } from '../clients/errors';
import { choosePayloads } from '../domain/payloads';
import { previousPayloads } from '../domain/previous';
import type { LedgerClient } from '../clients/ledger';
import type { TriggerRecordClient } from '../clients/triggerRecords';
import type { ClaimRequest, ClaimResult, RecordAnswer, RecordResult, RecordTriggerRequest } from '../domain/ledger';
import type { ExecutionState } from '../domain/follow';
import { triggerKeyLabel } from '../domain/labels';
import { judgeAll, type DeckQuestion, type DeckVerdicts } from '../domain/decide';
import { ledgerHasWork, type NewWorkQuestion } from '../domain/newWork';
import { PassRequestError } from '../domain/passRequest';
import type { DedupPolicy, DeckSnapshot, PassPlan, PassRequest, PreviousPayload, Release, TriggerRecordOutcome, TriggerRecordState, TriggerRequest, TriggerResult } from '../domain/types';
import { findEarlierTrigger } from './earlierTrigger';
import { FAILURE_TYPES } from '../domain/failureTypes';
import type { MetricRecorder } from '../domain/metrics';
import { asActivity, toApplicationFailure } from './failures';
import { heartbeatingActivity, whileHeartbeating } from './heartbeat';
import { createNotifyActivities, type NotifyDeps } from './notify';

export type { NotifyDeps, PassNoticeRequest } from './notify';

export interface ActivityDeps {
  /** The Temporal client the record clients use: their calls are cancelled with the activity. */
  temporal: Pick<Client, 'withAbortSignal'>;
  releaseController: ReleaseControllerClient;
  deck: DeckClient;
  gangway: GangwayClient;
  deckFilter: { org: string; repo: string };
  trigger: { inFlightGraceMs: number; deckLagToleranceMs: number };
  /** Trigger records: dry-run lookups, the wait for a trigger in progress (and, for passes of older code, the newest triggered payload). */
  triggerRecords: TriggerRecordClient;
  /** The per-version ledgers: the durable record of what was triggered (it outlives retention). */
  ledger: LedgerClient;
  /** A pass's input resolved against this worker's configuration; PassRequestError when it names what is not there. */
  resolvePlan: (request: PassRequest) => PassPlan | Promise<PassPlan>;
  /**
   * The Gangway budget shared by every worker of the task queue (README, "Gangway rate limit").
   * Left out (tests with in-memory upstreams), every request goes as soon as its client allows.
   */
  gangwayBudget?: GangwayBudget;
  /** Notifications (`notify:` config); left out, they are off. */
  notify?: NotifyDeps;
  /** The worker's metrics (src/domain/metrics.ts): here, the waits for a Gangway permit. */
  metrics?: MetricRecorder;
}

export interface GangwayBudget {
  /** The Gangway task queue: an activity dispatched from it has had its request paid for. */
  taskQueue: string;
  /** Waits for one dispatch of that queue (a `gangwayPermit` workflow); `id` names it. */
  permit(id: string, signal?: AbortSignal): Promise<void>;
}

export interface DeckVerdictQuery {
  questions: DeckQuestion[];
  labelPrefix: string;
  dedupPolicy: DedupPolicy;
  recentSuccessWindowHours: number;
  /** The pass's clock, so every version judges "recent" against the same instant. */
  nowMs: number;
}

export type DeckVerdictAnswer =
  | { state: 'ok'; fetchedAt: string; scanned: number; matched: number; verdicts: DeckVerdicts }
  /** The verdicts alone would be more than a workflow should carry: the pass decides from its own records. */
  | { state: 'too-large'; fetchedAt: string; scanned: number; matched: number; bytes: number; limitBytes: number };

/** Far below the server's 2 MB blob limit and the SDK's 512 KB warning. */
export const DECK_VERDICTS_LIMIT_BYTES = 256 * 1024;

/** Worker and Gangway clocks may differ a little; an earlier attempt's execution must not fall outside the window. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Thin wrappers: the clients do the work and classify failures; these only adapt to Temporal. */
export function createActivities(deps: ActivityDeps) {
  return {
    // `notify` and `passNotices` (src/activities/notify.ts).
    ...createNotifyActivities(deps.notify),

    async findLatestAcceptedRelease(stream: string): Promise<Release> {
      return heartbeatingActivity(() => deps.releaseController.latestAccepted(stream));
    },

    /** The pass's small input, resolved once by the worker that runs it (history records the plan). */
    async resolvePass(request: PassRequest): Promise<PassPlan> {
      try {
        return await whileHeartbeating(async () => deps.resolvePlan(request));
      } catch (err) {
        if (err instanceof PassRequestError) {
          throw ApplicationFailure.create({ type: FAILURE_TYPES.invalidPassInput, message: err.message, nonRetryable: true });
        }
        throw toApplicationFailure(err);
      }
    },

    /**
     * Deck once per pass, reduced in the worker to one verdict per asked (job, payload):
     * Deck's runs never enter history, whatever their number.
     */
    async fetchDeckVerdicts(query: DeckVerdictQuery): Promise<DeckVerdictAnswer> {
      const jobs = new Map(query.questions.flatMap((q) => q.jobs.map((j) => [j.name, j] as const)));
      const snapshot = await heartbeatingActivity(() => deps.deck.recentRuns({ jobs: [...jobs.values()], labelPrefix: query.labelPrefix, ...deps.deckFilter }));
      const verdicts = judgeAll(query.questions, snapshot.runs, query.dedupPolicy, query.nowMs, query.recentSuccessWindowHours);
      const facts = { fetchedAt: snapshot.fetchedAt, scanned: snapshot.scanned, matched: snapshot.runs.length };
      const bytes = Buffer.byteLength(JSON.stringify(verdicts));
      log.info('Deck fetched', { ...facts, verdictBytes: bytes });
      if (bytes > DECK_VERDICTS_LIMIT_BYTES) return { state: 'too-large', ...facts, bytes, limitBytes: DECK_VERDICTS_LIMIT_BYTES };
      return { state: 'ok', ...facts, verdicts };
    },

    /**
     * What became of a trigger another run started: waits for it while it is in progress (it
     * runs on this task queue, so this worker may be the one finishing it).
     */
    async awaitTriggerRecord(workflowId: string): Promise<TriggerRecordOutcome> {
      return heartbeatingActivity(() => cancellable(() => deps.triggerRecords.outcome(workflowId, Context.current().cancellationSignal)));
    },

    /** Asks the version's ledger for the next attempt of (job, payload); starts the ledger if needed. */
    async ledgerClaim(version: string, request: ClaimRequest): Promise<ClaimResult> {
      return heartbeatingActivity(() => cancellable(() => deps.ledger.claim(version, request, { updateId: updateIdOf('claim') })));
    },

    /** `ledgerClaim` for several jobs of one payload, in one Update: a pass asks once per version. */
    async ledgerClaimAll(version: string, requests: ClaimRequest[]): Promise<ClaimResult[]> {
      return heartbeatingActivity(() => cancellable(() => deps.ledger.claimAll(version, requests, { updateId: updateIdOf('claims') })));
    },

    /** What `ledgerClaimAll` would answer, changing nothing (a dry run); null when the version has no ledger yet. */
    async ledgerPreviewClaims(version: string, requests: ClaimRequest[]): Promise<ClaimResult[] | null> {
      return heartbeatingActivity(async () => (await cancellable(() => deps.ledger.previewClaims(version, requests))) ?? null);
    },

    /** Tells the version's ledger what became of a granted attempt. */
    async ledgerRecordTrigger(version: string, request: RecordTriggerRequest): Promise<RecordResult> {
      return heartbeatingActivity(() => cancellable(() => deps.ledger.recordTrigger(version, request, { updateId: updateIdOf('record') })));
    },

    /** `ledgerRecordTrigger` for several attempts of one payload, in one Update. */
    async ledgerRecordTriggers(version: string, requests: RecordTriggerRequest[]): Promise<RecordAnswer[]> {
      return heartbeatingActivity(() => cancellable(() => deps.ledger.recordTriggers(version, requests, { updateId: updateIdOf('records') })));
    },

    /**
     * Which of these versions' payloads could still bring a trigger, by their ledgers (the pass
     * fetches Deck only for those). A ledger that cannot be read counts as new work.
     */
    async versionsWithNewWork(questions: NewWorkQuestion[]): Promise<string[]> {
      const answers = await whileHeartbeating(() => Promise.all(
        questions.map(async (q) => {
          try {
            return ledgerHasWork(await deps.ledger.matrix(q.version), q.payload, q.jobs);
          } catch (err) {
            log.warn('Ledger not readable; counting its version as new', { version: q.version, error: (err as Error).message });
            return true;
          }
        }),
      ));
      return questions.filter((_, i) => answers[i]).map((q) => q.version);
    },

    /** The newest payload the version's ledger says this watcher triggered (null: no ledger, or none yet). */
    async ledgerNewestTriggered(version: string): Promise<string | null> {
      return heartbeatingActivity(() => cancellable(() => deps.ledger.newestTriggered(version)));
    },

    /** The report's look back: the verdicts so far of the version's previous payloads, small (domain/previous.ts). */
    async ledgerPreviousVerdicts(version: string, query: { exclude: string[]; limit: number; order?: string[] }): Promise<PreviousPayload[]> {
      return heartbeatingActivity(async () => previousPayloads(await cancellable(() => deps.ledger.matrix(version)), query.exclude, query.limit, query.order));
    },

    /**
     * `payloads: every`: the stream's Accepted payloads newer than the newest this version's
     * ledger triggered, oldest first, at most `maxPerPass` (domain/payloads.ts). Only the chosen
     * ones enter history, never the controller's whole tag list.
     */
    async findReleasesToTrigger(query: { version: string; stream: string; maxPerPass: number }): Promise<Release[]> {
      return heartbeatingActivity(async () => {
        const newest = await cancellable(() => deps.ledger.newestTriggered(query.version));
        const accepted = await deps.releaseController.acceptedTags(query.stream);
        const chosen = choosePayloads(accepted, newest, query.maxPerPass);
        if (chosen.length === 0) throw new NoAcceptedReleaseError(`release controller ${query.stream}/tags: no Accepted tag`);
        return chosen;
      });
    },

    /**
     * Follow-through (run by the version ledgers): where one execution is, from Deck's
     * `/prowjob?prowjob=<id>`. `missing` is an answer, not a failure: Deck lags and forgets.
     */
    async executionState(executionId: string): Promise<ExecutionState> {
      // Heartbeats (when the ledger asks for it), so a look whose worker died is retried after
      // the heartbeat timeout, not after the start-to-close timeout that Deck's slow answers need.
      return heartbeatingActivity(() => deps.deck.executionState(executionId));
    },

    async fetchDeckRuns(query: Omit<DeckQuery, 'org' | 'repo'>): Promise<DeckSnapshot> {
      const snapshot = await asActivity(() => deps.deck.recentRuns({ ...query, ...deps.deckFilter }));
      log.info('Deck fetched', { scanned: snapshot.scanned, matched: snapshot.runs.length });
      return snapshot;
    },

    /**
     * Gangway has no idempotency key, so a POST is only sent when no earlier attempt of this
     * trigger can have created the execution, or after looking for what it created (by our
     * trigger-key label). See RELIABILITY.md for every point a worker may die at.
     */
    async triggerGangwayJob(request: TriggerRequest): Promise<TriggerResult> {
      return heartbeatingActivity(() => cancellable(() => trigger(request)));
    },

    /**
     * The activity of a `gangwayPermit` workflow: it does nothing, its dispatch from the Gangway
     * task queue is the point (the server paces those dispatches for all workers).
     */
    async takeGangwayPermit(): Promise<void> {},

    /**
     * The newest payload this watcher has triggered for a version, from the trigger records
     * (completed triggerJob workflows) of the last two weeks: nightlies expire after 14 days.
     * A visibility search: only passes recorded before `VISIBILITY_OFF_PATCH` still call it
     * (versionPass asks the ledger alone now). Kept registered so they replay and finish.
     */
    async newestTriggeredPayload(version: string): Promise<string | null> {
      return heartbeatingActivity(async () => (await deps.triggerRecords.newestTriggeredPayload(version)) ?? null);
    },

    async lookupTriggerRecord(workflowId: string): Promise<TriggerRecordState> {
      return heartbeatingActivity(() => deps.triggerRecords.state(workflowId));
    },
  };

  /**
   * Runs `work` with every Temporal call in it bound to the activity's cancellation: a call is
   * cancelled, not left retrying on a connection the process is about to close (a `run` that
   * ends while an earlier run's trigger still waits crashed on such a retry).
   */
  function cancellable<T>(work: () => Promise<T>): Promise<T> {
    const signal = Context.current().cancellationSignal;
    return abortable(deps.temporal.withAbortSignal(signal, work), signal);
  }

  /** One Update ID per activity (all its retries): the server answers a repeated ID with the first answer. */
  function updateIdOf(kind: string): string {
    const info = Context.current().info;
    const run = info.workflowExecution;
    return `${kind}/${run?.workflowId ?? 'standalone'}/${run?.runId ?? ''}/${info.activityId}`;
  }

  async function trigger(request: TriggerRequest): Promise<TriggerResult> {
    const ctx = Context.current();
    const attempt = attemptSignal(ctx);
    try {
      return await triggerWithin(request, attempt.signal);
    } finally {
      attempt.dispose();
    }
  }

  /** `signal`: the activity cancelled, or this attempt out of time; every Gangway request honours it. */
  async function triggerWithin(request: TriggerRequest, signal: AbortSignal): Promise<TriggerResult> {
    const info = Context.current().info;
    const facts = { job: request.job.name, payload: request.release.name, attempt: info.attempt };
    const run = info.workflowExecution;
    // The ledger, not a visibility search, says whether an earlier try of this trigger (a failed
    // run of the same trigger workflow) may have posted: visibility lags behind.
    // The claim's answer came with the request when the pass claimed in a batch; else the ledger is asked.
    const since = request.earlierTriesSince;
    let earlierRunStartMs: number | undefined;
    if (since !== undefined) earlierRunStartMs = since === null ? undefined : Date.parse(since);
    else if (run) earlierRunStartMs = await cancellable(() => deps.ledger.earlierTriesSinceMs(request.version, request.release.name, request.job.name));
    const lookUpFirst = info.attempt > 1 || earlierRunStartMs !== undefined;
    // Every Gangway request is paid for by one dispatch from the Gangway task queue, which the
    // server paces for all workers. A POST sent right after its activity was dispatched from
    // that queue is paid for by that dispatch. Any other request (a retry's lookup and the POST
    // after it, which come after the grace and Deck's lag, or a request of an activity
    // scheduled on another queue by a trigger from before that queue) first takes a permit.
    const paidByDispatch = !deps.gangwayBudget || (!lookUpFirst && info.taskQueue === deps.gangwayBudget.taskQueue);
    const gangway = paidByDispatch ? bound(deps.gangway, signal) : withPermits(deps.gangway, deps.gangwayBudget!, `${run?.workflowId ?? info.activityId}/attempt-${info.attempt}`, signal, deps.metrics);
    if (lookUpFirst) {
      if (info.attempt > 1) {
        const graceLeft = info.currentAttemptScheduledTimestampMs + deps.trigger.inFlightGraceMs - Date.now();
        if (graceLeft > 0) await sleep(graceLeft);
      }
      const label = triggerKeyLabel(request.labels);
      if (!label) throw new Error('trigger request carries no trigger-key label; cannot look for earlier attempts');
      const found = await findEarlierTrigger(
        {
          jobName: request.job.name,
          label,
          sinceMs: Math.min(info.scheduledTimestampMs, earlierRunStartMs ?? Infinity) - CLOCK_SKEW_MS,
        },
        {
          gangway,
          deck: deps.deck,
          deckLagToleranceMs: deps.trigger.deckLagToleranceMs,
          sleep,
          onDeckLag: (ids) => log.info('Waiting for Deck to show executions before deciding', { ...facts, executions: ids }),
        },
      );
      if (found) {
        log.info('Found the execution an earlier attempt created; not posting again', { ...facts, executionId: found.id });
        return { executionId: found.id, foundFromEarlierAttempt: true, ...(found.job_status ? { jobStatus: found.job_status } : {}) };
      }
    }
    const envs = request.job.payloadEnv ? { [request.job.payloadEnv]: request.release.pullSpec } : {};
    const created = await gangway.createExecution({
      jobName: request.job.name,
      envs,
      labels: request.labels,
      annotations: request.annotations,
    });
    log.info('Gangway execution created', { ...facts, executionId: created.execution.id, httpStatus: created.httpStatus });
    return {
      executionId: created.execution.id,
      httpStatus: created.httpStatus,
      ...(created.execution.job_status ? { jobStatus: created.execution.job_status } : {}),
    };
  }
}

type TriggerGangway = Pick<GangwayClient, 'listExecutions' | 'createExecution'>;

/** The two Gangway requests a trigger makes, each abandoned when `signal` aborts. */
function bound(gangway: GangwayClient, signal: AbortSignal): TriggerGangway {
  return {
    listExecutions: (jobName) => gangway.listExecutions(jobName, { signal }),
    createExecution: (request) => gangway.createExecution(request, { signal }),
  };
}

/** The two Gangway requests a trigger makes, each after a permit (`name` prefixes the permits' workflow IDs). */
function withPermits(gangway: GangwayClient, budget: GangwayBudget, name: string, signal: AbortSignal, metrics?: MetricRecorder): TriggerGangway {
  const permit = async (what: string) => {
    const id = `osc-gangway-permit/${name}/${what}-${randomUUID().slice(0, 8)}`;
    const started = Date.now();
    await budget.permit(id, signal);
    const waitMs = Date.now() - started;
    metrics?.record('gangwayRateLimitWait', { kind: 'permit' }, waitMs / 1000);
    log.info('Gangway permit taken', { permit: id, waitMs });
  };
  return {
    listExecutions: async (jobName) => {
      await permit('list');
      return gangway.listExecutions(jobName, { signal });
    },
    createExecution: async (request) => {
      await permit('create');
      return gangway.createExecution(request, { signal });
    },
  };
}

/** Before the server's start-to-close timeout ends the attempt, this much earlier (the clocks and the dispatch differ a little). */
export function attemptMarginMs(startToCloseMs: number): number {
  return Math.max(1000, Math.min(10_000, Math.floor(startToCloseMs / 10)));
}

/**
 * Aborts when the activity is cancelled (its heartbeat told it so: a timeout, the workflow's
 * request, the worker shutting down) or, at the latest, just before its start-to-close timeout
 * ends this attempt on the server. So no wait (a rate-limit slot, a permit) and no request of
 * an abandoned attempt outlives it: once the server starts the next attempt, this one sends
 * nothing more and its request in flight is cut off (what Gangway received before is what the
 * next attempt's in-flight grace and lookup are for).
 */
function attemptSignal(ctx: Context): { signal: AbortSignal; dispose: () => void } {
  const timeoutMs = ctx.info.startToCloseTimeoutMs;
  if (!(timeoutMs > 0)) return { signal: ctx.cancellationSignal, dispose: () => {} };
  const deadline = new AbortController();
  const ms = Math.max(0, timeoutMs - attemptMarginMs(timeoutMs));
  const timer = setTimeout(
    () => deadline.abort(new UpstreamError('gangway', `attempt ${ctx.info.attempt} abandoned ${Math.round(ms / 1000)} s after it started, before its start-to-close timeout; the next attempt looks for what it may have created`, true)),
    ms,
  );
  return { signal: AbortSignal.any([ctx.cancellationSignal, deadline.signal]), dispose: () => clearTimeout(timer) };
}

export type WatcherActivities = ReturnType<typeof createActivities>;
