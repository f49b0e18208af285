import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { emptyLedgerState, Ledger, LEDGER_INVALID_INPUT, LEDGER_REJECTED, LedgerInputError, LedgerRequestError, parseLedgerInput, type LedgerInput } from '../domain/ledger';
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
 * One OCP version's ledger, an entity workflow under `osc-ledger/<task-queue>/ocp-<version>`: the single,
 * strongly consistent owner of what was triggered for which payload, and what became of it.
 * All its work is in its Update handlers, which are synchronous (so they need no lock, and
 * each runs right after its validator); the main function only waits until history is long
 * enough to continue as new, carrying the records.
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
  const ledger = new Ledger(parsed.state ?? emptyLedgerState(version), keepPayloads);
  // Workflow time: recorded in history, the same on replay.
  const now = () => new Date().toISOString();

  setHandler(claimTriggerUpdate, (req) => apply(() => ledger.claim(req, now())), { validator: (req) => validate(() => ledger.checkClaim(req)) });
  setHandler(recordTriggerUpdate, (req) => apply(() => ledger.recordTrigger(req, now())), {
    validator: (req) => validate(() => ledger.checkRecordTrigger(req)),
  });
  setHandler(recordVerdictUpdate, (req) => apply(() => ledger.recordVerdict(req, now())), {
    validator: (req) => validate(() => ledger.checkRecordVerdict(req)),
  });
  setHandler(pauseUpdate, (req) => apply(() => ledger.pause(req, now())), { validator: (req) => validate(() => ledger.checkPause(req)) });
  setHandler(resumeUpdate, () => apply(() => ledger.resume()));
  setHandler(retestUpdate, (req) => apply(() => ledger.retest(req, now())), { validator: (req) => validate(() => ledger.checkRetest(req)) });
  setHandler(matrixQuery, () => ledger.matrix());
  setHandler(newestTriggeredQuery, () => ledger.state.newestTriggered);

  const longEnough = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (maxHistoryEvents !== undefined && info.historyLength >= maxHistoryEvents);
  };
  await condition(longEnough);
  // Handlers are synchronous, so none is ever half done; this stays for any that may not be.
  await condition(allHandlersFinished);
  await continueAsNew<typeof versionLedger>({
    version,
    keepPayloads,
    state: ledger.state,
    ...(maxHistoryEvents !== undefined ? { maxHistoryEvents } : {}),
  });
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
