import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities';
import { FOLLOW_CONCURRENCY, type FollowSettings, type Look } from '../domain/follow';
import {
  emptyLedgerState,
  followSettingsOf,
  Ledger,
  LEDGER_INVALID_INPUT,
  LEDGER_REJECTED,
  LedgerInputError,
  LedgerRequestError,
  parseLedgerInput,
  type FollowTarget,
  type LedgerInput,
} from '../domain/ledger';
import { ledgerDetailsMarkdown } from '../domain/uiText';
import { failureDetail } from './failures';
import { forEachLimited } from './pool';
import { showCurrentDetails } from './uiMetadata';
import {
  claimTriggerUpdate,
  matrixQuery,
  newestTriggeredQuery,
  pauseUpdate,
  recordTriggerUpdate,
  recordVerdictUpdate,
  resumeUpdate,
  retestUpdate,
} from './ledgerMessages';

export * from './ledgerMessages';
export { ledgerWorkflowId } from '../domain/ledger';

/**
 * Marks the runs that follow their ProwJobs. A run whose history was made before follow-through
 * existed replays without it (it issued no timer and no activity), and starts following once it
 * runs live again.
 */
export const FOLLOW_PATCH = 'ledger-follow-through';

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
  const ledger = new Ledger(parsed.state ?? emptyLedgerState(version), keepPayloads);
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
  setHandler(recordTriggerUpdate, (req) => shown(apply(() => ledger.recordTrigger(req, now()))), {
    validator: (req) => validate(() => ledger.checkRecordTrigger(req)),
  });
  setHandler(recordVerdictUpdate, (req) => shown(apply(() => ledger.recordVerdict(req, now()))), {
    validator: (req) => validate(() => ledger.checkRecordVerdict(req)),
  });
  setHandler(pauseUpdate, (req) => shown(apply(() => ledger.pause(req, now()))), { validator: (req) => validate(() => ledger.checkPause(req)) });
  setHandler(resumeUpdate, () => shown(apply(() => ledger.resume())));
  setHandler(retestUpdate, (req) => shown(apply(() => ledger.retest(req, now()))), { validator: (req) => validate(() => ledger.checkRetest(req)) });
  setHandler(matrixQuery, () => ledger.matrix());
  setHandler(newestTriggeredQuery, () => ledger.state.newestTriggered);

  const longEnough = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (maxHistoryEvents !== undefined && info.historyLength >= maxHistoryEvents);
  };
  const { executionState } = proxyActivities<WatcherActivities>(lookActivityOptions(follow));
  const soonest = () => ledger.nextLookDueMs(follow) ?? Infinity;

  while (!longEnough()) {
    const dueAt = soonest();
    if (dueAt === Infinity) {
      // Nothing to follow: wait for a trigger to be recorded (no timer, no history).
      await condition(() => longEnough() || soonest() !== Infinity);
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
    // Until the soonest look, or until an Update brings a sooner one (then the timer is cancelled).
    await condition(() => longEnough() || soonest() < dueAt, Math.max(1, dueAt - Date.now()));
  }
  // Handlers are synchronous, so none is ever half done; this stays for any that may not be.
  await condition(allHandlersFinished);
  await continueAsNew<typeof versionLedger>({
    version,
    keepPayloads,
    state: ledger.state,
    ...(maxHistoryEvents !== undefined ? { maxHistoryEvents } : {}),
    ...(parsed.follow ? { follow: parsed.follow } : {}),
  });

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
        log.info('Follow-through: verdict recorded', { version, payload: target.payload, job: target.shortName, attempt: target.attempt, state: r.attempt.state });
      }
    } catch (err) {
      // The payload was pruned while the look was under way: nothing left to record.
      if (!(err instanceof LedgerRequestError)) throw err;
      log.warn('Follow-through: the attempt is no longer in the ledger', { version, payload: target.payload, job: target.shortName, reason: err.message });
    }
  }
}

/**
 * One Deck GET per try, a few tries close together: a look that still fails is a look without
 * news, and the ledger's own schedule (doubling, up to maxPollEvery) decides when to look again.
 */
function lookActivityOptions(follow: FollowSettings) {
  return {
    startToCloseTimeout: '2m',
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
