import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities';
import { FOLLOW_CONCURRENCY, type FollowSettings, type Look } from '../domain/follow';
import {
  emptyLedgerState,
  followSettingsOf,
  launchKey,
  Ledger,
  ledgerTriggerSettingsOf,
  retriggerSettingsOf,
  type LaunchTarget,
  LEDGER_INVALID_INPUT,
  LEDGER_REJECTED,
  LedgerInputError,
  LedgerRequestError,
  parseLedgerInput,
  type FollowTarget,
  type LedgerInput,
  type RecordVerdictRequest,
} from '../domain/ledger';
import { ledgerDetailsMarkdown } from '../domain/uiText';
import { failureDetail } from './failures';
import { postAttempt } from './ledgerLaunch';
import { startLedgerNotices } from './notices';
import { attemptIn, COUNTED_VERDICTS } from '../domain/metrics';
import { countInWorkflow } from './metrics';
import { forEachLimited } from './pool';
import { showCurrentDetails } from './uiMetadata';
import {
  claimTriggerUpdate,
  claimTriggersUpdate,
  matrixQuery,
  newestTriggeredQuery,
  earlierTriesSinceQuery,
  previewClaimsQuery,
  pauseUpdate,
  recordTriggerUpdate,
  recordTriggersUpdate,
  recordVerdictUpdate,
  resumeUpdate,
  retestUpdate,
} from '../domain/ledgerMessages';

export * from '../domain/ledgerMessages';
export { ledgerWorkflowId } from '../domain/ledger';

/**
 * Marks the runs that follow their ProwJobs. A run whose history was made before follow-through
 * existed replays without it (it issued no timer and no activity), and starts following once it
 * runs live again.
 */
export const FOLLOW_PATCH = 'ledger-follow-through';

/**
 * Marks the runs that start attempts themselves: retries (bounded retrigger) and operators'
 * retests. A run whose history was made before replays without them, and starts them once live.
 */
export const RETRIGGER_PATCH = 'ledger-retrigger';

/**
 * One OCP version's ledger, an entity workflow under `osc-ledger/<task-queue>/ocp-<version>`: the single,
 * strongly consistent owner of what was triggered for which payload, and what became of it.
 * All changes asked from outside are in its Update handlers, which are synchronous (so they need
 * no lock, and each runs right after its validator). The main loop follows every posted attempt
 * to its verdict (src/domain/follow.ts): it looks at each ProwJob when due (activity
 * `executionState`, a few at once), records what it finds through the same rules as the
 * `recordVerdict` Update, and sleeps on a durable timer until the next look is due, or until an
 * Update brings an earlier one. When history is long enough it continues as new, carrying the
 * records and the schedule.
 */
export async function versionLedger(input: LedgerInput): Promise<void> {
  let parsed: ReturnType<typeof parseLedgerInput>;
  try {
    parsed = parseLedgerInput(input);
  } catch (err) {
    if (err instanceof LedgerInputError) throw ApplicationFailure.create({ type: LEDGER_INVALID_INPUT, message: err.message, nonRetryable: true });
    throw err;
  }
  const { version, keepPayloads, maxHistoryEvents } = parsed;
  const follow = followSettingsOf(parsed);
  const retrigger = retriggerSettingsOf(parsed);
  const triggerSettings = ledgerTriggerSettingsOf(parsed);
  const ledger = new Ledger(parsed.state ?? emptyLedgerState(version), keepPayloads, retrigger);
  // Workflow time: recorded in history, the same on replay.
  const now = () => new Date().toISOString();
  // The Temporal UI's current details: the matrix in Markdown, kept current after every change
  // (no command: answered by the `__temporal_workflow_metadata` query).
  const showDetails = () => showCurrentDetails(() => ledgerDetailsMarkdown(ledger.matrix(), { namespace: workflowInfo().namespace }));
  const shown = <T>(result: T): T => {
    showDetails();
    return result;
  };
  showDetails();

  setHandler(claimTriggerUpdate, (req) => shown(apply(() => ledger.claim(req, now()))), { validator: (req) => validate(() => ledger.checkClaim(req)) });
  setHandler(claimTriggersUpdate, (reqs) => shown(apply(() => ledger.claims(reqs, now()))), { validator: (reqs) => validate(() => ledger.checkClaims(reqs)) });
  setHandler(recordTriggerUpdate, (req) => shown(apply(() => ledger.recordTrigger(req, now()))), {
    validator: (req) => validate(() => ledger.checkRecordTrigger(req)),
  });
  setHandler(recordTriggersUpdate, (reqs) => shown(apply(() => ledger.recordTriggers(reqs, now()))), {
    validator: (reqs) => validate(() => ledger.checkRecordTriggers(reqs)),
  });
  setHandler(recordVerdictUpdate, (req) => shown(apply(() => recordVerdict(req))), {
    validator: (req) => validate(() => ledger.checkRecordVerdict(req)),
  });
  setHandler(pauseUpdate, (req) => shown(apply(() => ledger.pause(req, now()))), { validator: (req) => validate(() => ledger.checkPause(req)) });
  setHandler(resumeUpdate, () => shown(apply(() => ledger.resume())));
  setHandler(retestUpdate, (req) => shown(apply(() => ledger.retest(req, now()))), { validator: (req) => validate(() => ledger.checkRetest(req)) });
  setHandler(matrixQuery, () => ledger.matrix());
  setHandler(newestTriggeredQuery, () => ledger.state.newestTriggered);
  setHandler(earlierTriesSinceQuery, (payload, job) => ledger.earlierTriesSince(String(payload), String(job)));
  // A query adds no command: histories replay unchanged.
  setHandler(previewClaimsQuery, (reqs) => ledger.previewClaims(reqs));

  /** The Update's rule; a verdict it makes final is counted (the attempt's state changed, not only its URL). */
  function recordVerdict(req: RecordVerdictRequest) {
    const before = attemptIn(ledger.state, req.payload, req.job, req.attempt).state;
    const r = ledger.recordVerdict(req, now());
    if (r.attempt.state !== before) countVerdict(version, attemptIn(ledger.state, req.payload, req.job, req.attempt).shortName, r.attempt.state);
    return r;
  }

  const longEnough = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (maxHistoryEvents !== undefined && info.historyLength >= maxHistoryEvents);
  };
  const { executionState } = proxyActivities<WatcherActivities>(lookActivityOptions(follow));
  // Attempts the ledger starts itself (retries, retests), by `<payload>\n<job>`, while their trigger runs.
  const launching = new Set<string>();
  // Launches whose claim was refused (a bug if ever): not tried again in this run, so the loop cannot spin.
  const refused = new Set<string>();
  const busy = () => (refused.size === 0 ? launching : new Set([...launching, ...refused]));
  // The ledger starts attempts only in runs marked by RETRIGGER_PATCH; `retriggerBlocked`: a
  // history made before it is being replayed (then it waits to be live, as FOLLOW_PATCH does).
  let retriggerOn = false;
  let retriggerBlocked = false;
  const hasLaunches = () => ledger.launchTargets(busy()).length > 0;
  const soonestLaunch = () => (retriggerOn ? (ledger.nextLaunchDueMs(busy()) ?? Infinity) : Infinity);
  const soonest = () => Math.min(ledger.nextLookDueMs(follow) ?? Infinity, soonestLaunch());
  // Wakes the loop when a launch appears before the patch was taken (e.g. a retest Update).
  const launchNews = () => !retriggerOn && (retriggerBlocked ? !workflowInfo().unsafe.isReplaying : hasLaunches());
  // Notifications (payload final, retries exhausted) are sent beside the main loop, from the state.
  const notices = startLedgerNotices(ledger.state, ledger.retryView());

  while (!longEnough()) {
    if (!retriggerOn && hasLaunches()) {
      retriggerOn = patched(RETRIGGER_PATCH);
      retriggerBlocked = !retriggerOn;
    }
    if (retriggerOn) {
      const launches = ledger.launchTargets(busy()).filter((t) => t.atMs <= Date.now());
      if (launches.length > 0) {
        for (const target of launches) launch(target);
        continue;
      }
    }
    const dueAt = soonest();
    if (dueAt === Infinity) {
      // Nothing to follow: wait for a trigger to be recorded (no timer, no history).
      await condition(() => longEnough() || soonest() !== Infinity || launchNews());
      continue;
    }
    if (!patched(FOLLOW_PATCH)) {
      // Replaying a history made before follow-through: that code only waited. Follow once live.
      await condition(() => longEnough() || !workflowInfo().unsafe.isReplaying);
      continue;
    }
    const due = ledger.followTargets(follow).filter((t) => t.dueAtMs <= Date.now());
    if (due.length > 0) {
      await forEachLimited(due, FOLLOW_CONCURRENCY, (target) => look(target));
      continue;
    }
    // Until the soonest look (or retry), or until an Update brings a sooner one (then the timer is cancelled).
    await condition(() => longEnough() || soonest() < dueAt || launchNews(), Math.max(1, dueAt - Date.now()));
  }
  // Handlers are synchronous, so none is ever half done; this stays for any that may not be.
  // An attempt being started finishes in this run: its record then goes on with the state.
  await condition(() => allHandlersFinished() && launching.size === 0);
  await notices.stop();
  await continueAsNew<typeof versionLedger>({
    version,
    keepPayloads,
    state: ledger.state,
    ...(maxHistoryEvents !== undefined ? { maxHistoryEvents } : {}),
    ...(parsed.follow ? { follow: parsed.follow } : {}),
    ...(parsed.retrigger ? { retrigger: parsed.retrigger } : {}),
    ...(parsed.trigger ? { trigger: parsed.trigger } : {}),
  });

  /**
   * Starts one attempt of the ledger's own: claims it now (so the next turn of the loop, and any
   * claim, sees it in progress), posts it as its own trigger workflow, and records the outcome;
   * follow-through then takes it like any posted attempt.
   */
  function launch(target: LaunchTarget): void {
    const key = launchKey(target.payload, target.job.name);
    try {
      ledger.claimLaunch(target, now());
    } catch (err) {
      if (!(err instanceof LedgerRequestError)) throw err;
      log.warn('Retrigger: the attempt no longer matches the records', { version, payload: target.payload, job: target.job.shortName, reason: err.message });
      refused.add(key);
      return;
    }
    launching.add(key);
    log.info(`Retrigger: starting attempt ${target.attempt} (${target.kind})`, { version, payload: target.payload, job: target.job.shortName, workflowId: target.workflowId });
    void postAttempt(version, target, triggerSettings)
      .then((outcome) => {
        try {
          ledger.recordTrigger({ payload: target.payload, job: target.job.name, attempt: target.attempt, outcome }, now());
        } catch (err) {
          if (!(err instanceof LedgerRequestError)) throw err;
          log.warn('Retrigger: the attempt is no longer in the ledger', { version, payload: target.payload, job: target.job.shortName, reason: err.message });
        }
      })
      .finally(() => launching.delete(key));
  }

  /** One look at one ProwJob, recorded. A failed look is a look without news: the schedule goes on. */
  async function look(target: FollowTarget): Promise<void> {
    let seen: Look;
    try {
      seen = await executionState(target.executionId);
    } catch (err) {
      seen = { failed: failureDetail(err).reason };
    }
    try {
      const r = ledger.recordLook(target, seen, now(), follow);
      showDetails();
      if (r.done && r.changed) {
        countVerdict(version, target.shortName, r.attempt.state);
        log.info('Follow-through: verdict recorded', { version, payload: target.payload, job: target.shortName, attempt: target.attempt, state: r.attempt.state });
      }
    } catch (err) {
      // The payload was pruned while the look was under way: nothing left to record.
      if (!(err instanceof LedgerRequestError)) throw err;
      log.warn('Follow-through: the attempt is no longer in the ledger', { version, payload: target.payload, job: target.shortName, reason: err.message });
    }
  }
}

/** A final verdict (or `unknown`) newly recorded: counted once, live (see ./metrics). */
function countVerdict(version: string, job: string, state: string): void {
  if (COUNTED_VERDICTS.includes(state)) countInWorkflow('verdicts', { version, job, verdict: state });
}

/**
 * One Deck GET per try, a few tries close together: a look that still fails is a look without
 * news, and the ledger's own schedule (doubling, up to maxPollEvery) decides when to look again.
 */
function lookActivityOptions(follow: FollowSettings) {
  return {
    startToCloseTimeout: '2m',
    // A look whose worker dies is noticed in seconds: the ledger waits for each batch of looks,
    // so a dead one would otherwise hold up its version's follow-through for the whole 2 minutes.
    // (An activity option: no new command, histories replay unchanged.)
    heartbeatTimeout: '10s',
    retry: {
      initialInterval: Math.min(5_000, follow.pollEveryMs),
      backoffCoefficient: 2,
      maximumInterval: Math.min(60_000, follow.maxPollEveryMs),
      maximumAttempts: 3,
    },
  } as const;
}

/** A validator's refusal: the Update is rejected, and nothing enters history. */
function validate(check: () => unknown): void {
  try {
    check();
  } catch (err) {
    throw rejection(err);
  }
}

/**
 * The handler checks again (the state cannot have changed since its validator ran, as handlers
 * are synchronous). A refusal here fails only the Update; any other error is a bug and fails
 * the workflow task, so the ledger waits for a fixed worker rather than lose a record.
 */
function apply<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    throw rejection(err);
  }
}

function rejection(err: unknown): unknown {
  if (err instanceof LedgerRequestError) return ApplicationFailure.create({ type: LEDGER_REJECTED, message: err.message, nonRetryable: true });
  return err;
}
