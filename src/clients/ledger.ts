import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, WorkflowIdConflictPolicy, type QueryDefinition } from '@temporalio/common';
import {
  DEFAULT_KEEP_PAYLOADS,
  LEDGER_REJECTED,
  LEDGER_WORKFLOW_TYPE,
  ledgerWorkflowId,
  type ClaimRequest,
  type ClaimResult,
  type LedgerInput,
  type LedgerTriggerSettings,
  type LedgerMatrix,
  type PauseResult,
  type RecordAnswer,
  type RecordResult,
  type RecordTriggerRequest,
  type RecordVerdictRequest,
  type RetestRequest,
  type RetestResult,
} from '../domain/ledger';
import type { FollowSettings } from '../domain/follow';
import type { RetriggerSettings } from '../domain/retrigger';
import { OCP_VERSION } from '../domain/searchAttributes';
import {
  claimTriggerUpdate,
  claimTriggersUpdate,
  earlierTriesSinceQuery,
  previewClaimsQuery,
  matrixQuery,
  newestTriggeredQuery,
  pauseUpdate,
  recordTriggerUpdate,
  recordTriggersUpdate,
  recordVerdictUpdate,
  resumeUpdate,
  retestUpdate,
} from '../domain/ledgerMessages';
import { UpstreamError } from './errors';

/**
 * The ledger refused the request (an Update validator, with its one-line message): asking
 * again will not help. Non-retryable, so an activity fails at once with that message.
 */
export class LedgerRejectedError extends UpstreamError {
  override name = 'LedgerRejectedError';
  constructor(
    readonly version: string,
    message: string,
  ) {
    super('temporal', message, false);
  }
}

export interface LedgerClientOptions {
  /** The task queue the ledger runs on when a claim or pause starts it (the watcher's). */
  taskQueue: string;
  /** Payloads a new ledger keeps (default 10). Only used when this call starts the ledger. */
  keepPayloads?: number;
  /** Test knob: a ledger this call starts continues as new once its history has this many events. */
  maxHistoryEvents?: number;
  /** Follow-through's schedule for a ledger this call starts (config `follow:`); without it, the ledger's defaults. */
  follow?: FollowSettings;
  /** Bounded retrigger for a ledger this call starts (config `retrigger:`); without it, the ledger's defaults. */
  retrigger?: RetriggerSettings;
  /** How a ledger this call starts posts its own attempts; without it, the ledger's defaults. */
  trigger?: LedgerTriggerSettings;
}

export interface UpdateCallOptions {
  /**
   * The Update's ID. The server answers a repeated ID on the same run with the first answer,
   * so a caller that retries after a lost answer may set it (e.g. from its activity's IDs).
   */
  updateId?: string;
}

/**
 * The per-version ledgers (`versionLedger` workflows), for activities and the CLI. Like the HTTP
 * clients, it decides once what a failure means: Temporal briefly away (a restart, a blip, an
 * Update that timed out) is a retryable UpstreamError('temporal'); a request a ledger's
 * validator refused is a LedgerRejectedError with the validator's message.
 *
 * `claim` and `pause` start the ledger when it does not exist yet (Update-with-Start, conflict
 * policy USE_EXISTING: the first one starts it, the others reach the running one). The other
 * Updates concern records that only a claim creates, so they do not start one.
 */
export class LedgerClient {
  constructor(
    private readonly temporal: Client,
    private readonly options: LedgerClientOptions,
  ) {}

  handle(version: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(ledgerWorkflowId(this.options.taskQueue, version));
  }

  /** Grants the next attempt for (payload, job), or says why not; starts the ledger if needed. */
  async claim(version: string, request: ClaimRequest, opts: UpdateCallOptions = {}): Promise<ClaimResult> {
    return this.call(version, `claim ${request.job?.shortName} for ${request.payload}`, () =>
      this.temporal.workflow.executeUpdateWithStart(claimTriggerUpdate, {
        args: [request],
        startWorkflowOperation: this.startOperation(version),
        ...(opts.updateId ? { updateId: opts.updateId } : {}),
      }),
    );
  }

  /** `claim` for several jobs of one payload in one Update (answers in order); starts the ledger if needed. */
  async claimAll(version: string, requests: ClaimRequest[], opts: UpdateCallOptions = {}): Promise<ClaimResult[]> {
    return this.call(version, `claim ${requests.length} job(s) for ${requests[0]?.payload}`, () =>
      this.temporal.workflow.executeUpdateWithStart(claimTriggersUpdate, {
        args: [requests],
        startWorkflowOperation: this.startOperation(version),
        ...(opts.updateId ? { updateId: opts.updateId } : {}),
      }),
    );
  }

  async recordTrigger(version: string, request: RecordTriggerRequest, opts: UpdateCallOptions = {}): Promise<RecordResult> {
    return this.update(version, `record the trigger of ${request.job} for ${request.payload}`, (h) =>
      h.executeUpdate(recordTriggerUpdate, { args: [request], ...(opts.updateId ? { updateId: opts.updateId } : {}) }),
    );
  }

  /** `recordTrigger` for several attempts of one payload in one Update; each answer says whether it was recorded. */
  async recordTriggers(version: string, requests: RecordTriggerRequest[], opts: UpdateCallOptions = {}): Promise<RecordAnswer[]> {
    return this.update(version, `record ${requests.length} trigger(s) for ${requests[0]?.payload}`, (h) =>
      h.executeUpdate(recordTriggersUpdate, { args: [requests], ...(opts.updateId ? { updateId: opts.updateId } : {}) }),
    );
  }

  async recordVerdict(version: string, request: RecordVerdictRequest, opts: UpdateCallOptions = {}): Promise<RecordResult> {
    return this.update(version, `record the verdict of ${request.job} for ${request.payload}`, (h) =>
      h.executeUpdate(recordVerdictUpdate, { args: [request], ...(opts.updateId ? { updateId: opts.updateId } : {}) }),
    );
  }

  /** No claim is granted until `resume`. Starts the ledger if needed, so a version can be paused before its first pass. */
  async pause(version: string, note?: string): Promise<PauseResult> {
    return this.call(version, `pause OCP ${version}`, () =>
      this.temporal.workflow.executeUpdateWithStart(pauseUpdate, {
        args: [note !== undefined ? { note } : {}],
        startWorkflowOperation: this.startOperation(version),
      }),
    );
  }

  /** A version without a ledger is not paused: nothing to do, nothing started. */
  async resume(version: string): Promise<PauseResult> {
    return this.call(version, `resume OCP ${version}`, async () => {
      try {
        return await this.handle(version).executeUpdate(resumeUpdate);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { changed: false, paused: null };
        throw err;
      }
    });
  }

  async retest(version: string, request: RetestRequest): Promise<RetestResult> {
    const job = typeof request.job === 'string' ? request.job : request.job.shortName;
    return this.update(version, `retest ${job}`, (h) => h.executeUpdate(retestUpdate, { args: [request] }));
  }

  /** The ledger's matrix, or undefined when this version has no ledger yet. Needs a worker on the task queue. */
  async matrix(version: string): Promise<LedgerMatrix | undefined> {
    return this.read(version, matrixQuery, []);
  }

  /** The newest payload the version's ledger recorded as triggered; null without one (or without a ledger). */
  async newestTriggered(version: string): Promise<string | null> {
    return (await this.read(version, newestTriggeredQuery, [])) ?? null;
  }

  /**
   * What a claim of each would be answered now, changing nothing (a dry run), in their order;
   * undefined when this version has no ledger yet (every claim would be granted).
   */
  async previewClaims(version: string, requests: ClaimRequest[]): Promise<ClaimResult[] | undefined> {
    return this.read(version, previewClaimsQuery, [requests]);
  }

  /**
   * Since when (ms) an earlier try of (payload, job)'s latest trigger may have posted without
   * the ledger knowing (`Ledger.earlierTriesSince`); undefined when none, or without a ledger.
   */
  async earlierTriesSinceMs(version: string, payload: string, job: string): Promise<number | undefined> {
    const since = await this.read(version, earlierTriesSinceQuery, [payload, job]);
    return since == null ? undefined : Date.parse(since);
  }

  /** A query of the version's ledger; undefined when it has no ledger yet. */
  private async read<R, A extends any[]>(version: string, query: QueryDefinition<R, A>, args: A): Promise<R | undefined> {
    return this.call(version, `read the ledger of OCP ${version}`, async () => {
      try {
        return await this.handle(version).query(query, ...args);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    });
  }

  private startOperation(version: string) {
    const input: LedgerInput = {
      version,
      keepPayloads: this.options.keepPayloads ?? DEFAULT_KEEP_PAYLOADS,
      ...(this.options.maxHistoryEvents !== undefined ? { maxHistoryEvents: this.options.maxHistoryEvents } : {}),
      ...(this.options.follow ? { follow: { ...this.options.follow } } : {}),
      ...(this.options.retrigger ? { retrigger: { ...this.options.retrigger, on: [...this.options.retrigger.on] } } : {}),
      ...(this.options.trigger ? { trigger: { ...this.options.trigger, retry: { ...this.options.trigger.retry } } } : {}),
    };
    return new WithStartWorkflowOperation(LEDGER_WORKFLOW_TYPE, {
      workflowId: ledgerWorkflowId(this.options.taskQueue, version),
      taskQueue: this.options.taskQueue,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [{ key: OCP_VERSION, value: [version] }],
    });
  }

  /** An Update to an existing ledger: none means nothing was ever claimed for that version. */
  private update<T>(version: string, what: string, send: (handle: WorkflowHandle) => Promise<T>): Promise<T> {
    return this.call(version, what, async () => {
      try {
        return await send(this.handle(version));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new LedgerRejectedError(version, `OCP ${version} has no ledger yet: nothing was claimed for it`);
        throw err;
      }
    });
  }

  private async call<T>(version: string, what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof UpstreamError || err instanceof CancelledFailure) throw err;
      // A validator's (or handler's) refusal: its message is the one line to show. Any other
      // failed Update (the server aborting one while the ledger continues as new) may be retried.
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === LEDGER_REJECTED) {
        throw new LedgerRejectedError(version, err.cause.message);
      }
      const first = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
      throw new UpstreamError('temporal', `ledger of OCP ${version}: ${what}: ${first}`, true);
    }
  }
}
