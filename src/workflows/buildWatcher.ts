import { ApplicationFailure, executeChild, log, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DeckVerdictAnswer, WatcherActivities } from '../activities';
import type { DeckVerdict } from '../domain/decide';
import { FAILURE_TYPES } from '../domain/failureTypes';
import { isLegacyPassInput, parsePassRequest, PassRequestError } from '../domain/passRequest';
import { OCP_VERSION, PAYLOAD } from '../domain/searchAttributes';
import { countTotals } from '../domain/summary';
import type { DeckStatus, LegacyPassInput, PassPlan, PassRequest, PassSummary, Release, VersionResult } from '../domain/types';
import { passFailureReasons, upstreamHealthOf } from '../domain/upstreamHealth';
import type { NotificationOutcome } from '../domain/notifications';
import { failureDetail } from './failures';
import { notifyPass } from './notices';
import { versionWorkflowId } from './ids';
import { legacyPass } from './legacy/buildWatcherV1';
import { summaryQuery, versionProgressSignal, type VersionProgress } from './messages';
import { toRetryPolicy } from './retry';
import { EVERY_PAYLOAD_PATCH, versionPass } from './versionPass';
import { activitySummary, passDetailsMarkdown, versionDetailsStatic, versionSummaryLine } from '../domain/uiText';
import { callWithSummary, showCurrentDetails, staticMetadata, uiMetadataPatched } from './uiMetadata';

export { summaryQuery } from './messages';
export { versionWorkflowId } from './ids';

/** Resolving the input is local work; a few quick tries cover a worker that dies meanwhile. */
const PLAN_RETRY = { initialInterval: 1000, maximumInterval: 10_000, maximumAttempts: 5 };

/**
 * One pass. Input: a small PassRequest (`{}` = what the worker's configuration says), checked
 * first. Then: the plan (an activity, so history records it), each version's newest Accepted
 * release, Deck once (reduced to one verdict per (job, payload)), and one child per version
 * with a release. `summary` answers throughout.
 */
export async function buildWatcher(input: PassRequest | LegacyPassInput = {}): Promise<PassSummary> {
  // Passes started with the old whole-configuration input (open ones, recorded histories).
  if (isLegacyPassInput(input)) return legacyPass(input);

  let request: PassRequest;
  try {
    request = parsePassRequest(input);
  } catch (err) {
    if (err instanceof PassRequestError) throw invalidInput(err.message);
    throw err;
  }

  const info = workflowInfo();
  const ui = uiMetadataPatched();
  const startedAtMs = Date.now();
  let plan: PassPlan | undefined;
  let versions: VersionResult[] = [];
  const finished = new Set<string>();
  let deck: DeckStatus = { state: 'pending' };
  let finishedAt: string | undefined;
  let notifications: NotificationOutcome[] | undefined;

  const summary = (): PassSummary => ({
    workflowId: info.workflowId,
    runId: info.runId,
    state: finishedAt ? 'done' : 'running',
    dryRun: plan?.settings.dryRun ?? request.dryRun ?? false,
    dedupPolicy: plan?.settings.dedupPolicy ?? 'exact-payload',
    startedAt: new Date(startedAtMs).toISOString(),
    ...(finishedAt ? { finishedAt } : {}),
    deck,
    ...(plan?.discovered ? { discovered: plan.discovered } : {}),
    versions,
    totals: countTotals(versions),
    ...(notifications?.length ? { notifications } : {}),
  });
  setHandler(summaryQuery, summary);
  // The Temporal UI's current details: the matrix so far (no command: answered by a query).
  const showDetails = () => showCurrentDetails(() => passDetailsMarkdown(summary(), { namespace: info.namespace, taskQueue: info.taskQueue }));
  showDetails();
  setHandler(versionProgressSignal, (progress: VersionProgress) => {
    // Sent by our own children, but still data from outside this workflow: check its shape.
    const v = versions.find((x) => x.version === progress?.version);
    if (!v || finished.has(v.version) || !Array.isArray(progress.jobs)) return;
    for (const job of progress.jobs) {
      const i = v.jobs.findIndex((j) => j.job === job?.job);
      if (i >= 0) v.jobs[i] = job;
    }
    showDetails();
  });

  // It heartbeats: a worker that dies in it is noticed in seconds, not after the minute.
  const { resolvePass } = proxyActivities<WatcherActivities>({ startToCloseTimeout: '1m', heartbeatTimeout: '10s', retry: PLAN_RETRY });
  try {
    plan = await callWithSummary(ui, resolvePass, () => activitySummary.resolvePass(request), request);
  } catch (err) {
    const detail = failureDetail(err);
    if (detail.type === FAILURE_TYPES.invalidPassInput) throw invalidInput(detail.reason);
    await notifyPass({ passId: info.workflowId, upstreams: {} }, [`could not resolve the pass input: ${detail.reason}`], ui);
    throw ApplicationFailure.create({ type: 'PlanFailed', message: `could not resolve the pass input: ${detail.reason}`, nonRetryable: true });
  }
  const { settings } = plan;
  versions = plan.versions.map((v) => ({ version: v.version, stream: v.stream, state: 'discovering', jobs: [] }));
  upsertSearchAttributes([{ key: OCP_VERSION, value: plan.versions.map((v) => v.version) }]);
  showDetails();

  const { findLatestAcceptedRelease, findReleasesToTrigger, fetchDeckVerdicts } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: '10m',
    // They heartbeat (activities/index.ts): a worker that dies in one (say, parsing Deck) is
    // noticed after the trigger's heartbeat timeout, not after the 10 minutes Deck may need.
    // (An activity option: no new command, histories replay unchanged.)
    heartbeatTimeout: settings.triggerHeartbeatTimeoutMs,
    retry: toRetryPolicy(settings.retry),
  });
  // `payloads: every`: each Accepted payload newer than the newest the version's ledger
  // triggered, oldest first (the last one is `release`), at most maxPerPass.
  const every = settings.payloads?.mode === 'every' && patched(EVERY_PAYLOAD_PATCH) ? settings.payloads : undefined;

  // Each version's newest Accepted release (and with `every`, the older ones to catch up on), all at once.
  const chosen = await Promise.all(
    plan.versions.map(async (v, i): Promise<Release[] | undefined> => {
      const result = versions[i]!;
      try {
        const found = every
          ? await callWithSummary(ui, findReleasesToTrigger, () => activitySummary.findReleasesToTrigger(v.stream, every.maxPerPass), {
              version: v.version,
              stream: v.stream,
              maxPerPass: every.maxPerPass,
            })
          : [await callWithSummary(ui, findLatestAcceptedRelease, () => activitySummary.findLatestAcceptedRelease(v.stream), v.stream)];
        const release = found[found.length - 1]!;
        result.release = { name: release.name, pullSpec: release.pullSpec };
        result.state = 'deciding';
        result.jobs = v.jobs.map((job) => ({ job: job.name, shortName: job.shortName, decision: 'pending', reason: 'waiting' }));
        return found;
      } catch (err) {
        const detail = failureDetail(err);
        result.state = detail.type === FAILURE_TYPES.noAcceptedRelease ? 'no-release' : 'error';
        result.releaseError = detail.reason;
        finished.add(v.version);
        // No Accepted nightly yet is normal (a new stream, or all rejected); a failure is not.
        if (result.state === 'no-release') log.info('No Accepted release for version yet', { version: v.version, reason: detail.reason });
        else log.warn('No release for version', { version: v.version, reason: detail.reason });
        return undefined;
      }
    }),
  );

  const releases = chosen.map((found) => found?.[found.length - 1]);
  /** With `every`: the older payloads of a version, each asked of Deck under its own key. */
  const earlierOf = (i: number) => (chosen[i] ?? []).slice(0, -1).map((release) => ({ key: `${plan!.versions[i]!.version}/${release.name}`, release }));

  // Deck once, and only when some version has a payload to decide for, that its ledger says
  // could still bring a trigger (a pass that finds nothing new asks Deck nothing).
  const questions = plan.versions.flatMap((v, i) => (releases[i] ? [{ version: v.version, release: releases[i]!, jobs: v.jobs }] : []));
  const earlierQuestions = plan.versions.flatMap((v, i) => earlierOf(i).map((e) => ({ version: v.version, key: e.key, release: e.release, jobs: v.jobs })));
  let verdicts: Record<string, Array<DeckVerdict | null>> | undefined;
  if (questions.length === 0) {
    deck = { state: 'not-needed' };
  } else if (patched(DECK_ONLY_FOR_NEW_WORK) && earlierQuestions.length === 0 && !(await anyNewWork(questions, settings, ui))) {
    // (Older payloads chosen in `every` mode are newer than any triggered: new work by definition.)
    deck = { state: 'not-needed', reason: 'every payload was already triggered by this watcher for every job' };
  } else {
    let answer: DeckVerdictAnswer | undefined;
    try {
      const payloadNames = questions.map((q) => q.release.name);
      answer = await callWithSummary(ui, fetchDeckVerdicts, () => activitySummary.fetchDeckVerdicts(payloadNames), {
        questions: [...earlierQuestions, ...questions],
        labelPrefix: settings.labelPrefix,
        dedupPolicy: settings.dedupPolicy,
        recentSuccessWindowHours: settings.recentSuccessWindowHours,
        nowMs: startedAtMs,
      });
    } catch (err) {
      // Without Deck we still have our own trigger records, which rule out our own duplicates.
      deck = { state: 'unavailable', reason: failureDetail(err).reason };
      log.warn('Deck unavailable; deciding from trigger records only', { reason: deck.reason });
    }
    if (answer?.state === 'ok') {
      deck = { state: 'ok', fetchedAt: answer.fetchedAt, scanned: answer.scanned, matched: answer.matched };
      verdicts = answer.verdicts;
    } else if (answer?.state === 'too-large') {
      const kb = (n: number) => `${Math.round(n / 1024)} KB`;
      deck = {
        state: 'unavailable',
        reason: `Deck's verdicts for this pass are ${kb(answer.bytes)}, more than the ${kb(answer.limitBytes)} a pass carries (${answer.matched} runs of the watched jobs among ${answer.scanned} ProwJobs)`,
        tooLarge: { bytes: answer.bytes, limitBytes: answer.limitBytes },
      };
      log.warn('Deck answer too large to carry; deciding from trigger records only', { bytes: answer.bytes });
    }
  }

  showDetails();
  // Progress from many children is spaced out more, so the pass's history stays bounded.
  const progressEveryMs = Math.max(2000, questions.length * 400);
  const results = await Promise.allSettled(
    questions.map((q) => {
      const earlier = earlierOf(plan!.versions.findIndex((v) => v.version === q.version));
      return executeChild(versionPass, {
        workflowId: versionWorkflowId(info.workflowId, q.version),
        args: [
          {
            plan: plan!.versions.find((v) => v.version === q.version)!,
            settings,
            release: q.release,
            ...(verdicts ? { deck: verdicts[q.version] ?? [] } : {}),
            ...(earlier.length > 0 ? { earlier: earlier.map((e) => ({ release: e.release, ...(verdicts ? { deck: verdicts[e.key] ?? [] } : {}) })) } : {}),
            progressEveryMs,
          },
        ],
        typedSearchAttributes: [
          { key: OCP_VERSION, value: [q.version] },
          { key: PAYLOAD, value: [...earlier.map((e) => e.release.name), q.release.name] },
        ],
        ...staticMetadata(
          ui,
          () => versionSummaryLine(q.version, q.release, q.jobs.length, settings.dryRun),
          () => versionDetailsStatic(q.version, plan!.versions.find((v) => v.version === q.version)!.stream, q.release, q.jobs),
        ),
      });
    }),
  );
  results.forEach((result, k) => {
    const version = questions[k]!.version;
    const i = versions.findIndex((v) => v.version === version);
    const v = versions[i]!;
    finished.add(version);
    if (result.status === 'fulfilled') versions[i] = result.value;
    else versions[i] = { ...v, state: 'error', releaseError: `version pass failed: ${failureDetail(result.reason).reason}` };
  });

  const payloads = versions.flatMap((v) => [...(v.earlier ?? []).map((e) => e.release.name), ...(v.release ? [v.release.name] : [])]);
  if (payloads.length) upsertSearchAttributes([{ key: PAYLOAD, value: payloads }]);
  // Notifications (pass failed, an upstream down passes in a row) never fail the pass.
  const done = summary();
  notifications = await notifyPass(upstreamHealthOf(done), passFailureReasons(done), ui);
  finishedAt = new Date().toISOString();
  showDetails();
  return summary();
}

/** Since this patch, the pass asks the ledgers before Deck (new commands: an activity). */
const DECK_ONLY_FOR_NEW_WORK = 'deck-only-for-new-work';

/** Whether any version's payload could still bring a trigger; if the ledgers cannot say, yes. */
async function anyNewWork(questions: Array<{ version: string; release: Release; jobs: PassPlan['versions'][number]['jobs'] }>, settings: PassPlan['settings'], ui: boolean): Promise<boolean> {
  const { versionsWithNewWork } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: '1m',
    heartbeatTimeout: settings.triggerHeartbeatTimeoutMs,
    retry: toRetryPolicy(settings.retry),
  });
  try {
    const asked = questions.map((q) => ({ version: q.version, payload: q.release.name, jobs: q.jobs.map((j) => j.name) }));
    const versions = await callWithSummary(ui, versionsWithNewWork, () => activitySummary.versionsWithNewWork(asked.map((q) => q.payload)), asked);
    return versions.length > 0;
  } catch (err) {
    log.warn('Could not ask the ledgers what is new; fetching Deck', { reason: failureDetail(err).reason });
    return true;
  }
}

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FAILURE_TYPES.invalidPassInput, message: `invalid pass input: ${message}`, nonRetryable: true });
}
