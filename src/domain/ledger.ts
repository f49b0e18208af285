// The per-version ledger: what it records and every rule that changes it. Pure (no Temporal, no
// Node modules): the `versionLedger` workflow runs it, the unit tests run it without a server.
//
// One ledger per watched OCP version. It owns, for that version:
//   - the payloads it has seen (the newest `keepPayloads` of them, by nightly order),
//   - for each payload and job, every attempt to trigger it and what became of it (and, while
//     its ProwJob runs, when follow-through looks at it next: src/domain/follow.ts),
//   - `newestTriggered`, the newest payload it ever triggered (kept after pruning: the
//     "never go back to an older nightly" rule),
//   - whether the version is paused.
//
// Each operation has a `check…` (parses and validates the request against the state, changes
// nothing, throws LedgerRequestError with one line) and the operation itself (checks again, then
// changes the state). The workflow runs the first as the Update's validator, so a bad request is
// rejected before it enters history.
import { DEFAULT_FOLLOW, describeLook, type FollowSettings, followSettingsProblem, formatDuration, type Look, nextWaitMs, progressRank, seenState } from './follow';
import { attemptWorkflowId } from './labels';
import { compareNightlies } from './nightly';
import { attemptsAllowed, DEFAULT_RETRIGGER, planRetry, type RetriableState, RETRIABLE_STATES, type RetriggerSettings, retriggerSettingsProblem } from './retrigger';
import type { RetrySettings } from './types';
import type { LedgerNotices, RetryView } from './notifications';

/** Workflow type of the ledger. */
export const LEDGER_WORKFLOW_TYPE = 'versionLedger';

/** One ledger per OCP version, under a deterministic ID: every pass and the CLI meet on it. */
export function ledgerWorkflowId(taskQueue: string, version: string): string {
  // One ledger per watcher deployment (its task queue) and version: a ledger's workflow tasks go
  // to the queue it was started on, so two deployments in one namespace must not share one.
  return `osc-ledger/${taskQueue}/ocp-${version}`;
}

/** The ApplicationFailure type of a request the ledger refuses (its validators, and the handlers as a backstop). */
export const LEDGER_REJECTED = 'LedgerRequestRejected';
/** The ApplicationFailure type of a ledger started with an unusable input. */
export const LEDGER_INVALID_INPUT = 'InvalidLedgerInput';

export const DEFAULT_KEEP_PAYLOADS = 10;
export const MAX_KEEP_PAYLOADS = 100;
/**
 * Bumped when LedgerState changes shape, so a continued-as-new run can tell what it was handed.
 * An optional field a state may lack (an attempt's `follow`) does not bump it.
 */
export const LEDGER_SCHEMA = 1;

const VERSION = /^\d+\.\d+$/;
const MAX_NAME = 200;
const MAX_PULL_SPEC = 500;
const MAX_TEXT = 500;
/** The most requests one `claimTriggers` or `recordTriggers` Update takes. */
const MAX_BATCH = 500;
/**
 * How many a pass puts in one of those Updates: a version with more jobs asks in several, in
 * order. Fixed: a different size would change a running pass's commands.
 */
export const LEDGER_BATCH_SIZE = 100;

/** A ProwJob's state as Prow reports it, plus `running` (pending with a pod) and our `unknown`. */
export type ProwState = 'triggered' | 'pending' | 'running' | 'success' | 'failure' | 'aborted' | 'error' | 'unknown';
export const PROW_STATES: readonly ProwState[] = ['triggered', 'pending', 'running', 'success', 'failure', 'aborted', 'error', 'unknown'];
/** A ProwJob in one of these has ended: its verdict no longer changes. */
export const FINAL_STATES: readonly ProwState[] = ['success', 'failure', 'aborted', 'error'];
/** A posted attempt in one of these is followed to its verdict (src/domain/follow.ts). */
export const FOLLOWED_STATES: readonly ProwState[] = ['triggered', 'pending', 'running'];

/**
 * `triggering`: claimed, the POST may be under way. `triggered`: Gangway created the execution.
 * Then the ProwJob's state as it goes. `failed-to-trigger`: the trigger gave up, nothing was created.
 */
export type AttemptState = 'triggering' | ProwState | 'failed-to-trigger';

/** What the matrix says of a (payload, job), from its latest attempt; `skipped` when it has none. */
export type JobVerdict =
  | 'triggering'
  | 'pending'
  | 'running'
  | 'success'
  | 'failure'
  | 'aborted'
  | 'error'
  | 'unknown'
  | 'skipped'
  | 'failed-to-trigger';

export interface AttemptRecord {
  /** 1, 2, … per (payload, job). */
  attempt: number;
  state: AttemptState;
  claimedAt: string;
  /** Who claimed it (e.g. the trigger's workflow ID): the same claimant asking again gets the same attempt. */
  claimant?: string;
  /** Granted because an operator asked for a retest. */
  retest?: true;
  /** Started by the ledger as a bounded retrigger (src/domain/retrigger.ts). */
  retry?: true;
  /** Granted again to its claimant, whose earlier answer was lost: an earlier run of its trigger may have posted. */
  regrantedAt?: string;
  /** The Gangway execution (ProwJob) ID. */
  executionId?: string;
  /** The Prow URL of the run. */
  url?: string;
  triggeredAt?: string;
  /** When the ProwJob ended, or when the trigger gave up. */
  finishedAt?: string;
  /** Why the trigger failed, or (`unknown`) why follow-through gave up. */
  reason?: string;
  /** Follow-through's bookkeeping while the ProwJob has not ended; gone once it has. */
  follow?: FollowRecord;
}

/** Where follow-through is with one posted attempt; kept in the state, so it survives continue-as-new. */
export interface FollowRecord {
  /** When the next look at the ProwJob is due. */
  nextPollAt: string;
  /** The wait that led to it: the next one is twice as long, up to the ceiling. */
  waitMs: number;
  /** Looks so far. */
  looks: number;
  /** What the last look found (a ProwJob state, `not in Deck`, or `no answer from Deck (…)`). */
  lastSeen?: string;
}

export interface RetestRequestRecord {
  at: string;
  note?: string;
}

export interface JobRecord {
  /** Full Prow job name. */
  name: string;
  shortName: string;
  /** The job's payload variable (null: none), as the pass's claim gave it: a retry the ledger starts sets it the same. */
  payloadEnv?: string | null;
  attempts: AttemptRecord[];
  /** The most attempts the pass allows without a retest, as its last claim said. */
  maxAttempts?: number;
  /** An operator asked for a retest: the next claim is granted (once), beyond any limit. */
  retest?: RetestRequestRecord;
}

export interface PayloadRecord {
  name: string;
  pullSpec: string;
  firstSeenAt: string;
  jobs: JobRecord[];
}

export interface PausedRecord {
  note?: string;
  at: string;
}

/** Everything a ledger holds; handed to the next run on continue-as-new. */
export interface LedgerState {
  schema: number;
  version: string;
  /** Newest first. */
  payloads: PayloadRecord[];
  /** The newest payload this ledger ever recorded as triggered; survives pruning. */
  newestTriggered: string | null;
  paused: PausedRecord | null;
  /** The notifications this ledger has taken (src/domain/notifications.ts); absent before they existed. */
  notices?: LedgerNotices;
}

// ---- Requests and results --------------------------------------------------------------------

export interface LedgerJob {
  name: string;
  shortName: string;
  /** The job's payload variable (a JobSpec's); kept so a retry posts what the pass posted. */
  payloadEnv?: string | null;
}

export interface ClaimRequest {
  payload: string;
  pullSpec: string;
  job: LedgerJob;
  /** The attempt number the caller expects to be granted: a consistency check, never required. */
  attempt?: number;
  /** Who claims (e.g. the trigger's workflow ID). A claim repeated by the same claimant while its attempt is still `triggering` gets that attempt again. */
  claimant?: string;
  /** The pass's limit on attempts per (payload, job) after failed triggers; a retest goes beyond it. */
  maxAttempts?: number;
}

export type ClaimRefusal = 'already-triggered' | 'in-progress' | 'paused' | 'older-than-newest' | 'attempts-exhausted';

export type ClaimResult =
  | {
      granted: true;
      attempt: number;
      /** The same claimant's attempt, granted again (its earlier answer was lost). */
      regranted?: true;
      /** Granted by an operator's retest. */
      retest?: true;
      /**
       * In a `claimTriggers` answer (always there): since when an earlier try of this attempt
       * may have posted without the ledger knowing (`earlierTriesSince`), null when none. The
       * trigger is handed it, so its first attempt need not ask the ledger again.
       */
      earlierTriesSince?: string | null;
    }
  | {
      granted: false;
      reason: ClaimRefusal;
      /** The latest attempt, for `already-triggered`, `in-progress` and `attempts-exhausted`. */
      attempt?: AttemptRecord;
      /** The newest payload triggered, for `older-than-newest`. */
      newest?: string;
      /** For `paused`. */
      paused?: PausedRecord;
    };

export type TriggerOutcome = { executionId: string; url?: string } | { failed: string };

export interface RecordTriggerRequest {
  payload: string;
  /** Full job name. */
  job: string;
  attempt: number;
  outcome: TriggerOutcome;
}

export interface RecordVerdictRequest {
  payload: string;
  job: string;
  attempt: number;
  state: ProwState;
  url?: string;
  finishedAt?: string;
}

/** One answer of a `recordTriggers` batch. */
export type RecordAnswer = RecordResult | { refused: string };

export interface RecordResult {
  /** False when the same thing was already recorded (or a late, older state was ignored). */
  changed: boolean;
  attempt: AttemptRecord;
  newestTriggered: string | null;
}

export interface PauseRequest {
  note?: string;
}

export interface PauseResult {
  changed: boolean;
  paused: PausedRecord | null;
}

export interface RetestRequest {
  /** A full or short name the ledger knows, or the job itself (then it need not have been claimed for that payload). */
  job: string | LedgerJob;
  /** Default: the newest payload in the ledger. */
  payload?: string;
  note?: string;
}

export interface RetestResult {
  changed: boolean;
  payload: string;
  job: string;
  shortName: string;
  /** The attempt number the next claim gets. */
  nextAttempt: number;
  requested: RetestRequestRecord;
  /** An attempt in progress: the retest is granted once it is recorded. */
  waitingFor?: AttemptRecord;
  /** The version is paused: the retest is granted after a resume. */
  paused: PausedRecord | null;
}

// ---- The matrix (query) ----------------------------------------------------------------------

export interface MatrixAttempt {
  attempt: number;
  state: AttemptState;
  executionId?: string;
  url?: string;
  triggeredAt?: string;
  finishedAt?: string;
  reason?: string;
  retest?: true;
  retry?: true;
  /** The ProwJob has not ended: when it is looked at next, how often it was, and what the last look found. */
  following?: { nextPollAt: string; looks: number; lastSeen?: string };
}

export interface MatrixJob {
  job: string;
  shortName: string;
  verdict: JobVerdict;
  attempts: MatrixAttempt[];
  maxAttempts?: number;
  retestPending?: RetestRequestRecord;
  /** A retry (bounded retrigger) is planned: its attempt number and when it starts. */
  retryPending?: { attempt: number; at: string };
}

export interface MatrixPayload {
  name: string;
  pullSpec: string;
  firstSeenAt: string;
  jobs: MatrixJob[];
}

// ---- Follow-through ----------------------------------------------------------------------------

/** A posted attempt whose ProwJob has not ended, and when to look at it. */
export interface FollowTarget {
  payload: string;
  /** Full job name. */
  job: string;
  shortName: string;
  attempt: number;
  executionId: string;
  /** When the next look is due (ms since the epoch). */
  dueAtMs: number;
  /** From then on, a look that finds no final state records `unknown`. */
  deadlineAtMs: number;
}

export interface LookResult {
  changed: boolean;
  /** Following ended: a final state, `unknown` at the deadline, or no longer followed. */
  done: boolean;
  attempt: AttemptRecord;
  /** Still followed: when the next look is due. */
  nextPollAt?: string;
}

export interface LedgerMatrix {
  version: string;
  paused: PausedRecord | null;
  newestTriggered: string | null;
  /** Newest first. */
  payloads: MatrixPayload[];
}

// ---- Errors ----------------------------------------------------------------------------------

/**
 * A batch Update's request: a list of 1 to MAX_BATCH requests, each checked as alone, all for
 * one payload, no job twice (`facts`: a request's payload, its job's full name, and the name shown).
 */
function checkBatch<T>(
  raw: unknown,
  what: string,
  noun: { one: string; many: string; done: string },
  checkOne: (r: unknown) => T,
  facts: (r: T) => { payload: string; job: string; shown: string },
): T[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_BATCH) {
    throw new LedgerRequestError(`${what}: expected a list of 1 to ${MAX_BATCH} ${noun.many}, got ${Array.isArray(raw) ? `${raw.length}` : typeof raw}`);
  }
  const requests = raw.map(checkOne);
  const payload = facts(requests[0]!).payload;
  const jobs = new Set<string>();
  for (const r of requests) {
    const f = facts(r);
    if (f.payload !== payload) throw new LedgerRequestError(`${what}: every ${noun.one} must be for one payload; got ${payload} and ${f.payload}`);
    if (jobs.has(f.job)) throw new LedgerRequestError(`${what}: ${f.shown} is ${noun.done} twice for ${f.payload}`);
    jobs.add(f.job);
  }
  return requests;
}

/** A request the ledger refuses to take: one line, naming what is wrong. */
export class LedgerRequestError extends Error {
  override name = 'LedgerRequestError';
}

/** The workflow input (or the state handed on by continue-as-new) is unusable. */
export class LedgerInputError extends Error {
  override name = 'LedgerInputError';
}

export interface LedgerInput {
  version: string;
  /** Payloads kept, newest first (default 10). */
  keepPayloads?: number;
  /** Only when continuing as new. */
  state?: LedgerState;
  /** Test knob: continue as new once history has this many events (besides the server's suggestion). */
  maxHistoryEvents?: number;
  /** Follow-through's schedule (config `follow:`); without it, DEFAULT_FOLLOW (2m, 15m, 24h). */
  follow?: FollowSettings;
  /** Bounded retrigger (config `retrigger:`); without it, DEFAULT_RETRIGGER (error and aborted, 2 retries, 1m doubling to 15m). */
  retrigger?: RetriggerSettings;
  /** How the ledger's own attempts (retries, retests) are posted; without it, DEFAULT_LEDGER_TRIGGER. */
  trigger?: LedgerTriggerSettings;
}

/** What a trigger the ledger starts needs besides the job and payload (the pass has the same in its settings). */
export interface LedgerTriggerSettings {
  labelPrefix: string;
  retry: RetrySettings;
  heartbeatTimeoutMs: number;
  /** For a job whose claim did not say (claimed before the ledger kept it). */
  defaultPayloadEnv: string | null;
}

export const DEFAULT_LEDGER_TRIGGER: LedgerTriggerSettings = {
  labelPrefix: 'osc-build-watcher',
  retry: { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 6 },
  heartbeatTimeoutMs: 30_000,
  defaultPayloadEnv: 'RELEASE_IMAGE_LATEST',
};

/** An attempt the ledger starts itself: a retry, an operator's retest, or one of those claimed before a continue-as-new. */
export interface LaunchTarget {
  kind: 'retry' | 'retest' | 'resume';
  payload: string;
  pullSpec: string;
  job: LedgerJob;
  attempt: number;
  /** The trigger workflow's ID, `osc-trigger/<job>/<payload>/attempt-<n>`. */
  workflowId: string;
  /** When it may start (ms since the epoch; 0: now). */
  atMs: number;
}

/** The retrigger settings a ledger runs with. */
export function retriggerSettingsOf(input: Pick<LedgerInput, 'retrigger'>): RetriggerSettings {
  return input.retrigger ?? DEFAULT_RETRIGGER;
}

export function ledgerTriggerSettingsOf(input: Pick<LedgerInput, 'trigger'>): LedgerTriggerSettings {
  return input.trigger ?? DEFAULT_LEDGER_TRIGGER;
}

/** The follow settings a ledger runs with. */
export function followSettingsOf(input: Pick<LedgerInput, 'follow'>): FollowSettings {
  return input.follow ?? DEFAULT_FOLLOW;
}

export function emptyLedgerState(version: string): LedgerState {
  return { schema: LEDGER_SCHEMA, version, payloads: [], newestTriggered: null, paused: null };
}

/** Checks the workflow input; returns it with defaults filled in. */
export function parseLedgerInput(raw: unknown): Required<Pick<LedgerInput, 'version' | 'keepPayloads'>> & LedgerInput {
  if (!isObject(raw)) throw new LedgerInputError(`input must be an object like {"version":"4.21"}, got ${describe(raw)}`);
  const o = raw;
  const keys = ['version', 'keepPayloads', 'state', 'maxHistoryEvents', 'follow', 'retrigger', 'trigger'];
  const unknown = Object.keys(o).find((k) => !keys.includes(k));
  if (unknown !== undefined) throw new LedgerInputError(`input: unknown key "${unknown}" (allowed: ${keys.join(', ')})`);
  const version = o.version;
  if (typeof version !== 'string' || !VERSION.test(version)) throw new LedgerInputError(`input: version must be an OCP version like "4.21", got ${describe(version)}`);
  const keepPayloads = o.keepPayloads === undefined ? DEFAULT_KEEP_PAYLOADS : o.keepPayloads;
  if (!isInt(keepPayloads) || keepPayloads < 1 || keepPayloads > MAX_KEEP_PAYLOADS) {
    throw new LedgerInputError(`input: keepPayloads must be a whole number from 1 to ${MAX_KEEP_PAYLOADS}, got ${describe(keepPayloads)}`);
  }
  if (o.maxHistoryEvents !== undefined && (!isInt(o.maxHistoryEvents) || o.maxHistoryEvents < 10)) {
    throw new LedgerInputError(`input: maxHistoryEvents must be a whole number of at least 10, got ${describe(o.maxHistoryEvents)}`);
  }
  const input: Required<Pick<LedgerInput, 'version' | 'keepPayloads'>> & LedgerInput = { version, keepPayloads };
  if (o.maxHistoryEvents !== undefined) input.maxHistoryEvents = o.maxHistoryEvents as number;
  if (o.follow !== undefined) input.follow = parseFollow(o.follow);
  if (o.retrigger !== undefined) input.retrigger = parseRetrigger(o.retrigger);
  if (o.trigger !== undefined) input.trigger = parseTriggerSettings(o.trigger);
  if (o.state !== undefined) {
    const state = o.state as LedgerState;
    if (!isObject(state) || !Array.isArray(state.payloads) || state.schema !== LEDGER_SCHEMA) {
      throw new LedgerInputError(`input: state is not a ledger state of schema ${LEDGER_SCHEMA}`);
    }
    if (state.version !== version) throw new LedgerInputError(`input: state is OCP ${String(state.version)}'s, not ${version}'s`);
    input.state = state;
  }
  return input;
}

// ---- The ledger ------------------------------------------------------------------------------

/**
 * The rules, over a LedgerState it changes in place. Every change goes through one of the
 * operations below; `check…` twins change nothing (the Update validators).
 */
export class Ledger {
  constructor(
    readonly state: LedgerState,
    readonly keepPayloads: number = DEFAULT_KEEP_PAYLOADS,
    /** Bounded retrigger's rules; the matrix shows planned retries and `n/max` attempts by them. */
    readonly retrigger: RetriggerSettings = DEFAULT_RETRIGGER,
  ) {
    this.prune();
  }

  get version(): string {
    return this.state.version;
  }

  // -- claimTrigger --

  checkClaim(raw: unknown): ClaimRequest {
    const what = 'claimTrigger';
    const o = asRequest(raw, what, ['payload', 'pullSpec', 'job', 'attempt', 'claimant', 'maxAttempts']);
    const req: ClaimRequest = {
      payload: name(o, 'payload', what, MAX_NAME),
      pullSpec: name(o, 'pullSpec', what, MAX_PULL_SPEC),
      job: ledgerJob(o.job, `${what}: job`),
    };
    if (o.attempt !== undefined) req.attempt = positiveInt(o.attempt, `${what}: attempt`);
    if (o.claimant !== undefined) req.claimant = name(o, 'claimant', what, MAX_TEXT);
    if (o.maxAttempts !== undefined) req.maxAttempts = positiveInt(o.maxAttempts, `${what}: maxAttempts`);
    this.checkPayloadVersion(req.payload, what);
    const payload = this.payload(req.payload);
    if (payload && payload.pullSpec !== req.pullSpec) {
      throw new LedgerRequestError(`${what}: payload ${req.payload} is recorded with pullSpec ${payload.pullSpec}, not ${req.pullSpec}`);
    }
    if (req.attempt !== undefined) {
      const latest = lastOf(payload && findJob(payload, req.job.name)?.attempts);
      const next = (latest?.attempt ?? 0) + 1;
      const sameClaimant = latest && latest.state === 'triggering' && req.claimant !== undefined && latest.claimant === req.claimant;
      if (req.attempt !== next && !(sameClaimant && req.attempt === latest.attempt)) {
        throw new LedgerRequestError(
          `${what}: attempt ${req.attempt} is out of order for ${req.job.shortName} of ${req.payload}: ${latest ? `attempts 1..${latest.attempt} exist, the next is ${next}` : 'none was made, the first is 1'}`,
        );
      }
    }
    return req;
  }

  /**
   * Several claims for one payload at once (a pass's jobs of one version, in one Update): each
   * checked as `checkClaim`, all for the same payload and pull spec, no job twice. So a batch
   * the validator let through cannot fail half-way in the handler.
   */
  checkClaims(raw: unknown): ClaimRequest[] {
    const requests = checkBatch(raw, 'claimTriggers', { one: 'claim', many: 'claims', done: 'claimed' }, (r) => this.checkClaim(r), (r) => ({
      payload: r.payload,
      job: r.job.name,
      shown: r.job.shortName,
    }));
    const other = requests.find((r) => r.pullSpec !== requests[0]!.pullSpec);
    if (other) throw new LedgerRequestError(`claimTriggers: ${other.payload} is claimed with two pull specs, ${requests[0]!.pullSpec} and ${other.pullSpec}`);
    return requests;
  }

  /** `claim` for each of a batch, in its order (see `checkClaims`); a grant says since when earlier tries may have posted. */
  claims(raw: unknown, now: string): ClaimResult[] {
    return this.checkClaims(raw).map((request) => {
      const result = this.claim(request, now);
      return result.granted ? { ...result, earlierTriesSince: this.earlierTriesSince(request.payload, request.job.name) } : result;
    });
  }

  /**
   * Grants the next attempt for (payload, job), in this order:
   * 1. the latest attempt `triggering`: granted again to the same claimant, else refused `in-progress`;
   * 2. the latest attempt posted (`triggered` or any state after it), or one the ledger started
   *    itself that failed to trigger after an earlier one was posted: refused `already-triggered`,
   *    unless a retest is pending;
   * 3. the version paused: refused `paused`;
   * 4. the payload older than `newestTriggered`: refused `older-than-newest`, unless a retest is pending;
   * 5. `maxAttempts` attempts made (all failed to trigger): refused `attempts-exhausted`, unless a retest is pending;
   * 6. otherwise granted: attempt latest+1 (after `failed-to-trigger` that is the next number, so
   *    every try keeps its record), state `triggering`. A pending retest is consumed by this grant.
   */
  claim(raw: unknown, now: string): ClaimResult {
    const req = this.checkClaim(raw);
    const { result, payload, job, latest, retest } = this.decideClaim(req);
    if (!result.granted) return result;
    if (result.regranted) {
      latest!.regrantedAt = now;
      return result;
    }

    const p = payload ?? this.addPayload(req.payload, req.pullSpec, now);
    let j = job;
    if (!j) {
      j = { name: req.job.name, shortName: req.job.shortName, attempts: [] };
      p.jobs.push(j);
    }
    j.shortName = req.job.shortName;
    if (req.job.payloadEnv !== undefined) j.payloadEnv = req.job.payloadEnv;
    if (req.maxAttempts !== undefined) j.maxAttempts = req.maxAttempts;
    const attempt: AttemptRecord = {
      attempt: result.attempt,
      state: 'triggering',
      claimedAt: now,
      ...(req.claimant !== undefined ? { claimant: req.claimant } : {}),
      ...(retest ? { retest: true as const } : {}),
    };
    j.attempts.push(attempt);
    delete j.retest;
    this.prune();
    return result;
  }

  /**
   * What `claims` would answer for each of a batch, changing nothing: a dry run's question. A
   * grant names the attempt a claim would be given now.
   */
  previewClaims(raw: unknown): ClaimResult[] {
    return this.checkClaims(raw).map((req) => this.decideClaim(req).result);
  }

  /**
   * `claim`'s rules (see there), changing nothing: the answer a claim gets now, and the records
   * a grant builds on.
   */
  private decideClaim(req: ClaimRequest): { result: ClaimResult; payload?: PayloadRecord; job?: JobRecord; latest?: AttemptRecord; retest?: RetestRequestRecord } {
    const payload = this.payload(req.payload);
    const job = payload ? findJob(payload, req.job.name) : undefined;
    const latest = lastOf(job?.attempts);
    const retest = job?.retest;
    const refused = (result: Extract<ClaimResult, { granted: false }>) => ({ result });

    if (latest?.state === 'triggering') {
      if (req.claimant !== undefined && latest.claimant === req.claimant) {
        return { result: { granted: true, attempt: latest.attempt, regranted: true, ...(latest.retest ? { retest: true as const } : {}) }, latest };
      }
      return refused({ granted: false, reason: 'in-progress', attempt: copyOf(latest) });
    }
    if (latest && latest.state !== 'failed-to-trigger' && !retest) return refused({ granted: false, reason: 'already-triggered', attempt: copyOf(latest) });
    // The ledger's own attempt (a retry or retest) failed to trigger: the ledger retries it, the pass does not.
    if (latest && job && !retest && latest.claimant === attemptWorkflowId(job.name, req.payload, latest.attempt)) {
      const posted = [...job.attempts].reverse().find((a) => a.state !== 'failed-to-trigger');
      if (posted) return refused({ granted: false, reason: 'already-triggered', attempt: copyOf(posted) });
    }
    if (this.state.paused) return refused({ granted: false, reason: 'paused', paused: { ...this.state.paused } });
    const newest = this.state.newestTriggered;
    if (!retest && newest !== null && (compareNightlies(req.payload, newest) ?? 0) < 0) {
      return refused({ granted: false, reason: 'older-than-newest', newest });
    }
    const maxAttempts = req.maxAttempts ?? job?.maxAttempts;
    if (!retest && latest && maxAttempts !== undefined && job!.attempts.length >= maxAttempts) {
      return refused({ granted: false, reason: 'attempts-exhausted', attempt: copyOf(latest) });
    }
    const result: ClaimResult = { granted: true, attempt: (latest?.attempt ?? 0) + 1, ...(retest ? { retest: true as const } : {}) };
    return { result, ...(payload ? { payload } : {}), ...(job ? { job } : {}), ...(latest ? { latest } : {}), ...(retest ? { retest } : {}) };
  }

  /**
   * Since when an earlier try of the latest attempt's trigger may have posted without the ledger
   * knowing it: the first claim of an earlier attempt that failed to trigger (a create may have
   * gone through with its answer lost), or the latest attempt's own claim when it was granted
   * again (its claimant's first try may have failed unrecorded). Null when neither: the trigger
   * activity then posts without looking first. A question of the trigger activity, asked
   * through a query: this ledger, not a visibility search, is the record.
   */
  earlierTriesSince(payloadName: string, jobName: string): string | null {
    const payload = this.payload(payloadName);
    const attempts = (payload && findJob(payload, jobName)?.attempts) ?? [];
    const latest = lastOf(attempts);
    const tries = attempts.filter((a) => (a !== latest && a.state === 'failed-to-trigger') || (a === latest && a.state === 'triggering' && a.regrantedAt !== undefined));
    return tries.length > 0 ? tries.map((a) => a.claimedAt).reduce((x, y) => (Date.parse(y) < Date.parse(x) ? y : x)) : null;
  }

  // -- recordTrigger --

  checkRecordTrigger(raw: unknown): RecordTriggerRequest {
    const what = 'recordTrigger';
    const o = asRequest(raw, what, ['payload', 'job', 'attempt', 'outcome']);
    const req: RecordTriggerRequest = {
      payload: name(o, 'payload', what, MAX_NAME),
      job: name(o, 'job', what, MAX_NAME),
      attempt: positiveInt(o.attempt, `${what}: attempt`),
      outcome: triggerOutcome(o.outcome, `${what}: outcome`),
    };
    const { attempt, job } = this.locate(what, req.payload, req.job, req.attempt);
    const latest = lastOf(job.attempts)!;
    if (attempt.state === 'triggering') {
      if (attempt !== latest) throw new LedgerRequestError(`${what}: attempt ${req.attempt} of ${job.shortName} for ${req.payload} is not the latest (${latest.attempt})`);
      return req;
    }
    if (sameOutcome(attempt, req.outcome)) return req;
    const was = attempt.state === 'failed-to-trigger' ? `failed to trigger (${attempt.reason ?? 'no reason'})` : `triggered (execution ${attempt.executionId ?? '?'})`;
    throw new LedgerRequestError(`${what}: attempt ${req.attempt} of ${job.shortName} for ${req.payload} is already recorded as ${was}`);
  }

  /** Several `recordTrigger`s for one payload (a pass records its triggers as they end, in batches): each checked, no attempt twice. */
  checkRecordTriggers(raw: unknown): RecordTriggerRequest[] {
    return checkBatch(raw, 'recordTriggers', { one: 'record', many: 'records', done: 'recorded' }, (r) => this.checkRecordTrigger(r), (r) => ({
      payload: r.payload,
      job: r.job,
      shown: r.job,
    }));
  }

  /**
   * `recordTrigger` for each of a batch, in order. Each answers for itself: one that an earlier
   * one's pruning made moot is refused alone, with its reason, and the others stand.
   */
  recordTriggers(raw: unknown, now: string): RecordAnswer[] {
    return this.checkRecordTriggers(raw).map((request) => {
      try {
        return this.recordTrigger(request, now);
      } catch (err) {
        if (err instanceof LedgerRequestError) return { refused: err.message };
        throw err;
      }
    });
  }

  /** Marks the attempt `triggered` (and moves `newestTriggered` up) or `failed-to-trigger`. The same outcome twice is a no-op. */
  recordTrigger(raw: unknown, now: string): RecordResult {
    const req = this.checkRecordTrigger(raw);
    const { attempt } = this.locate('recordTrigger', req.payload, req.job, req.attempt);
    if (attempt.state !== 'triggering') return this.recorded(false, attempt);
    if ('failed' in req.outcome) {
      attempt.state = 'failed-to-trigger';
      attempt.reason = clip(req.outcome.failed);
      attempt.finishedAt = now;
    } else {
      attempt.state = 'triggered';
      attempt.executionId = req.outcome.executionId;
      if (req.outcome.url !== undefined) attempt.url = req.outcome.url;
      attempt.triggeredAt = now;
      const newest = this.state.newestTriggered;
      if (newest === null || (compareNightlies(req.payload, newest) ?? 0) > 0) this.state.newestTriggered = req.payload;
    }
    this.prune();
    return this.recorded(true, attempt);
  }

  // -- recordVerdict --

  checkRecordVerdict(raw: unknown): RecordVerdictRequest {
    const what = 'recordVerdict';
    const o = asRequest(raw, what, ['payload', 'job', 'attempt', 'state', 'url', 'finishedAt']);
    if (typeof o.state !== 'string' || !(PROW_STATES as readonly string[]).includes(o.state)) {
      throw new LedgerRequestError(`${what}: state must be one of ${PROW_STATES.join(', ')}, got ${describe(o.state)}`);
    }
    const req: RecordVerdictRequest = {
      payload: name(o, 'payload', what, MAX_NAME),
      job: name(o, 'job', what, MAX_NAME),
      attempt: positiveInt(o.attempt, `${what}: attempt`),
      state: o.state as ProwState,
    };
    if (o.url !== undefined) req.url = name(o, 'url', what, MAX_TEXT);
    if (o.finishedAt !== undefined) {
      if (typeof o.finishedAt !== 'string' || Number.isNaN(Date.parse(o.finishedAt))) {
        throw new LedgerRequestError(`${what}: finishedAt must be an ISO time, got ${describe(o.finishedAt)}`);
      }
      req.finishedAt = o.finishedAt;
    }
    const { attempt, job } = this.locate(what, req.payload, req.job, req.attempt);
    if (attempt.state === 'triggering' || attempt.state === 'failed-to-trigger') {
      throw new LedgerRequestError(`${what}: attempt ${req.attempt} of ${job.shortName} for ${req.payload} has no execution (${attempt.state})`);
    }
    if (isFinal(attempt.state) && isFinal(req.state) && attempt.state !== req.state) {
      throw new LedgerRequestError(`${what}: attempt ${req.attempt} of ${job.shortName} for ${req.payload} already ended ${attempt.state}; it cannot become ${req.state}`);
    }
    return req;
  }

  /**
   * The ProwJob's state for an attempt that was posted. A final state (success, failure, aborted,
   * error) is kept: the same one again is a no-op, a later non-final one (a stale read) is ignored.
   */
  recordVerdict(raw: unknown, now: string): RecordResult {
    const req = this.checkRecordVerdict(raw);
    const { attempt } = this.locate('recordVerdict', req.payload, req.job, req.attempt);
    const before = JSON.stringify(attempt);
    if (!isFinal(attempt.state)) {
      attempt.state = req.state;
      if (isFinal(req.state)) attempt.finishedAt = req.finishedAt ?? now;
    }
    if (req.url !== undefined && attempt.url === undefined) attempt.url = req.url;
    // Ended (or given up on): follow-through has nothing left to look at.
    if (!isFollowed(attempt)) delete attempt.follow;
    return this.recorded(JSON.stringify(attempt) !== before, attempt);
  }

  // -- follow-through (src/domain/follow.ts; run by the workflow's main loop) --

  /**
   * The posted attempts whose ProwJob has not ended (triggered, pending or running, with an
   * execution), soonest look first. An attempt without a `follow` record (never looked at, or
   * recorded before follow-through existed) is due `pollEveryMs` after its trigger.
   */
  followTargets(settings: FollowSettings): FollowTarget[] {
    const targets: FollowTarget[] = [];
    for (const p of this.state.payloads) {
      for (const j of p.jobs) {
        for (const a of j.attempts) {
          if (!isFollowed(a)) continue;
          const deadlineAtMs = triggeredMs(a) + settings.deadlineMs;
          const planned = a.follow ? Date.parse(a.follow.nextPollAt) : NaN;
          const dueAtMs = Number.isNaN(planned) ? Math.min(triggeredMs(a) + settings.pollEveryMs, deadlineAtMs) : planned;
          targets.push({ payload: p.name, job: j.name, shortName: j.shortName, attempt: a.attempt, executionId: a.executionId!, dueAtMs, deadlineAtMs });
        }
      }
    }
    // Stable: equal times keep the matrix's order.
    return targets.sort((x, y) => x.dueAtMs - y.dueAtMs);
  }

  /** When the soonest look is due (ms since the epoch), or undefined when no ProwJob is followed. */
  nextLookDueMs(settings: FollowSettings): number | undefined {
    let soonest: number | undefined;
    for (const t of this.followTargets(settings)) soonest = soonest === undefined ? t.dueAtMs : Math.min(soonest, t.dueAtMs);
    return soonest;
  }

  /**
   * What a look at the ProwJob found. A final state is recorded through `recordVerdict` (so
   * exactly as the Update would), with Deck's URL and completion time, and following ends. A
   * state further on (pending, running) is recorded too; `missing`, an older state or a failed
   * look change nothing but the schedule: the next look waits twice as long (up to
   * `maxPollEveryMs`), and never past the deadline. A look at or after the deadline that finds
   * no final state records `unknown`, with the reason. An attempt no longer followed (a
   * verdict came by Update meanwhile) is left as it is.
   */
  recordLook(target: Pick<FollowTarget, 'payload' | 'job' | 'attempt' | 'executionId'>, look: Look, now: string, settings: FollowSettings): LookResult {
    const { job, attempt } = this.locate('follow', target.payload, target.job, target.attempt);
    if (!isFollowed(attempt) || attempt.executionId !== target.executionId) return { changed: false, done: true, attempt: copyOf(attempt) };
    const seen = seenState(look);
    const url = 'failed' in look || !look.url || look.url.length > MAX_TEXT ? undefined : look.url;
    const verdict = (state: ProwState, finishedAt?: string) =>
      this.recordVerdict({ payload: target.payload, job: job.name, attempt: attempt.attempt, state, ...(url ? { url } : {}), ...(finishedAt ? { finishedAt } : {}) }, now);

    if (seen !== undefined && isFinal(seen)) {
      const completion = 'failed' in look ? undefined : look.completionTime;
      const finishedAt = completion && !Number.isNaN(Date.parse(completion)) ? completion : undefined;
      const r = verdict(seen, finishedAt);
      return { changed: r.changed, done: true, attempt: r.attempt };
    }
    let changed = false;
    const ahead = seen !== undefined && progressRank(seen) > progressRank(attempt.state);
    if (ahead || (url !== undefined && attempt.url === undefined)) changed = verdict(ahead ? seen : (attempt.state as ProwState)).changed;

    const nowMs = Date.parse(now);
    const deadlineAtMs = triggeredMs(attempt) + settings.deadlineMs;
    const lastSeen = clip(describeLook(look));
    if (nowMs >= deadlineAtMs) {
      verdict('unknown');
      attempt.reason = clip(`no final state ${formatDuration(settings.deadlineMs)} after the trigger; last look: ${lastSeen}`);
      return { changed: true, done: true, attempt: copyOf(attempt) };
    }
    const waitMs = nextWaitMs(attempt.follow?.waitMs ?? settings.pollEveryMs, settings);
    attempt.follow = { nextPollAt: new Date(Math.min(nowMs + waitMs, deadlineAtMs)).toISOString(), waitMs, looks: (attempt.follow?.looks ?? 0) + 1, lastSeen };
    return { changed, done: false, attempt: copyOf(attempt), nextPollAt: attempt.follow.nextPollAt };
  }

  // -- pause / resume --

  checkPause(raw: unknown): PauseRequest {
    if (raw === undefined || raw === null) return {};
    const o = asRequest(raw, 'pause', ['note']);
    return o.note === undefined ? {} : { note: text(o.note, 'pause: note') };
  }

  /** Grants nothing until resumed. Pausing again with another note replaces it. */
  pause(raw: unknown, now: string): PauseResult {
    const req = this.checkPause(raw);
    const current = this.state.paused;
    if (current && current.note === req.note) return { changed: false, paused: { ...current } };
    this.state.paused = { ...(req.note !== undefined ? { note: req.note } : {}), at: now };
    return { changed: true, paused: { ...this.state.paused } };
  }

  resume(): PauseResult {
    const changed = this.state.paused !== null;
    this.state.paused = null;
    return { changed, paused: null };
  }

  // -- retest --

  checkRetest(raw: unknown): { req: RetestRequest; payload: PayloadRecord; job: LedgerJob; record?: JobRecord } {
    const what = 'retest';
    const o = asRequest(raw, what, ['job', 'payload', 'note']);
    const req: RetestRequest = { job: typeof o.job === 'string' ? name(o, 'job', what, MAX_NAME) : ledgerJob(o.job, `${what}: job`) };
    if (o.payload !== undefined) req.payload = name(o, 'payload', what, MAX_NAME);
    if (o.note !== undefined) req.note = text(o.note, `${what}: note`);
    const payload = req.payload === undefined ? this.state.payloads[0] : this.payload(req.payload);
    if (!payload) {
      throw new LedgerRequestError(
        req.payload === undefined
          ? `${what}: the ledger of OCP ${this.version} has no payload yet; nothing to retest`
          : `${what}: payload ${req.payload} is not in the ledger of OCP ${this.version} (${this.knownPayloads()})`,
      );
    }
    if (typeof req.job !== 'string') {
      const record = findJob(payload, req.job.name);
      return { req, payload, job: req.job, ...(record ? { record } : {}) };
    }
    const wanted = req.job;
    const matches = (j: JobRecord) => j.name === wanted || j.shortName === wanted;
    const record = payload.jobs.find(matches);
    if (record) return { req, payload, job: { name: record.name, shortName: record.shortName }, record };
    // Known from another payload (e.g. a job the pass skipped for this one): its names are known.
    const elsewhere = this.state.payloads.flatMap((p) => p.jobs).find(matches);
    if (elsewhere) return { req, payload, job: { name: elsewhere.name, shortName: elsewhere.shortName } };
    const known = [...new Set(this.state.payloads.flatMap((p) => p.jobs.map((j) => j.shortName)))];
    throw new LedgerRequestError(`${what}: job ${wanted} is not in the ledger of OCP ${this.version} (${known.join(', ') || 'no job yet'})`);
  }

  /**
   * Lets the next claim for (payload, job) be granted once more, even when the job was triggered,
   * its attempts are exhausted, or the payload is older than the newest triggered. A claim still
   * has to wait for an attempt in progress and for a resume. Asking twice before that claim is
   * one retest.
   */
  retest(raw: unknown, now: string): RetestResult {
    const { req, payload, job, record } = this.checkRetest(raw);
    let j = record;
    if (!j) {
      j = { name: job.name, shortName: job.shortName, attempts: [] };
      payload.jobs.push(j);
    }
    const latest = lastOf(j.attempts);
    // A retest the ledger has already started (and not yet recorded) is that request: asking again is the same retest.
    const started = latest?.state === 'triggering' && latest.retest === true && latest.claimant === attemptWorkflowId(j.name, payload.name, latest.attempt) && !j.retest;
    const changed = !j.retest && !started;
    if (changed) j.retest = { at: now, ...(req.note !== undefined ? { note: req.note } : {}) };
    if (started) {
      return {
        changed: false,
        payload: payload.name,
        job: j.name,
        shortName: j.shortName,
        nextAttempt: latest.attempt,
        requested: { at: latest.claimedAt },
        waitingFor: copyOf(latest),
        paused: this.state.paused ? { ...this.state.paused } : null,
      };
    }
    return {
      changed,
      payload: payload.name,
      job: j.name,
      shortName: j.shortName,
      nextAttempt: (latest?.attempt ?? 0) + 1,
      requested: { ...j.retest! },
      ...(latest?.state === 'triggering' ? { waitingFor: copyOf(latest) } : {}),
      paused: this.state.paused ? { ...this.state.paused } : null,
    };
  }

  // -- queries --

  matrix(): LedgerMatrix {
    return {
      version: this.version,
      paused: this.state.paused ? { ...this.state.paused } : null,
      newestTriggered: this.state.newestTriggered,
      payloads: this.state.payloads.map((p) => ({
        name: p.name,
        pullSpec: p.pullSpec,
        firstSeenAt: p.firstSeenAt,
        jobs: p.jobs.map((j) => ({
          job: j.name,
          shortName: j.shortName,
          verdict: verdictOf(j),
          attempts: j.attempts.map(matrixAttempt),
          ...this.allowed(j),
          ...(j.retest ? { retestPending: { ...j.retest } } : {}),
          ...this.retryPendingOf(p, j),
        })),
      })),
    };
  }

  // -- bounded retrigger and retests: attempts the ledger starts itself (src/domain/retrigger.ts) --

  /** A payload with a newer one in the ledger (newest first) has been superseded. */
  isSuperseded(payloadName: string): boolean {
    return this.state.payloads.findIndex((p) => p.name === payloadName) > 0;
  }

  /**
   * The attempts the ledger is to start, soonest first: the ones it claimed and has not seen
   * recorded (a continue-as-new came between; `resume`, now), the operators' retests (now, once
   * no attempt is in progress), and the retries `planRetry` finds due (at the end of their
   * backoff). A paused version starts no new one. `busy` names attempts being started already
   * (`<payload>\n<job>`).
   */
  launchTargets(busy: ReadonlySet<string> = new Set()): LaunchTarget[] {
    const targets: LaunchTarget[] = [];
    for (const p of this.state.payloads) {
      for (const j of p.jobs) {
        if (busy.has(launchKey(p.name, j.name))) continue;
        const latest = lastOf(j.attempts);
        const job = this.jobOf(j);
        const target = (kind: LaunchTarget['kind'], attempt: number, atMs: number): LaunchTarget => ({
          kind,
          payload: p.name,
          pullSpec: p.pullSpec,
          job,
          attempt,
          workflowId: attemptWorkflowId(j.name, p.name, attempt),
          atMs,
        });
        if (latest?.state === 'triggering') {
          if ((latest.retry || latest.retest) && latest.claimant === attemptWorkflowId(j.name, p.name, latest.attempt)) targets.push(target('resume', latest.attempt, 0));
          continue;
        }
        if (this.state.paused) continue;
        if (j.retest) {
          targets.push(target('retest', (latest?.attempt ?? 0) + 1, 0));
          continue;
        }
        const plan = planRetry(j.attempts, this.isSuperseded(p.name), this.retrigger);
        if (plan.due) targets.push(target('retry', plan.attempt, plan.atMs));
      }
    }
    return targets.sort((x, y) => x.atMs - y.atMs);
  }

  /** Bounded retrigger's view of a job, for notifications: a retry still to come, or none left. */
  retryView(): RetryView {
    return {
      pending: (p, j) => planRetry(j.attempts, this.isSuperseded(p.name), this.retrigger).due,
      exhausted: (p, j) => {
        const plan = planRetry(j.attempts, this.isSuperseded(p.name), this.retrigger);
        // Out of retries, or out of the attempts the pass's claims allow (a trigger that kept failing).
        const claimsUsedUp = j.maxAttempts !== undefined && j.attempts.length >= j.maxAttempts && lastOf(j.attempts)?.state !== 'success';
        return (!plan.due && plan.why === 'exhausted') || claimsUsedUp;
      },
    };
  }

  /** When the soonest attempt the ledger starts is due (ms since the epoch), or undefined. */
  nextLaunchDueMs(busy?: ReadonlySet<string>): number | undefined {
    return this.launchTargets(busy)[0]?.atMs;
  }

  /**
   * Claims the attempt of a launch target (state `triggering`, claimed by its own trigger
   * workflow ID), consuming a pending retest. A `resume` target is claimed already. Throws when
   * the target no longer matches the records (then nothing is started).
   */
  claimLaunch(target: LaunchTarget, now: string): AttemptRecord {
    const payload = this.payload(target.payload);
    const job = payload && findJob(payload, target.job.name);
    if (!payload || !job) throw new LedgerRequestError(`launch: ${target.job.shortName} of ${target.payload} is not in the ledger of OCP ${this.version}`);
    const latest = lastOf(job.attempts);
    if (target.kind === 'resume') {
      if (!latest || latest.attempt !== target.attempt || latest.state !== 'triggering') throw new LedgerRequestError(`launch: attempt ${target.attempt} of ${job.shortName} for ${target.payload} is no longer in progress`);
      return copyOf(latest);
    }
    if ((latest?.attempt ?? 0) + 1 !== target.attempt || latest?.state === 'triggering') {
      throw new LedgerRequestError(`launch: attempt ${target.attempt} of ${job.shortName} for ${target.payload} is out of order`);
    }
    const attempt: AttemptRecord = {
      attempt: target.attempt,
      state: 'triggering',
      claimedAt: now,
      claimant: target.workflowId,
      ...(target.kind === 'retest' ? { retest: true as const } : { retry: true as const }),
    };
    job.attempts.push(attempt);
    if (target.kind === 'retest') delete job.retest;
    return copyOf(attempt);
  }

  private jobOf(j: JobRecord): LedgerJob {
    return { name: j.name, shortName: j.shortName, ...(j.payloadEnv !== undefined ? { payloadEnv: j.payloadEnv } : {}) };
  }

  private allowed(j: JobRecord): { maxAttempts?: number } {
    if (j.attempts.length === 0) return j.maxAttempts !== undefined ? { maxAttempts: j.maxAttempts } : {};
    const retests = j.attempts.filter((a) => a.retest).length;
    return { maxAttempts: Math.max(j.maxAttempts ?? 0, attemptsAllowed(j.attempts, this.retrigger, retests)) };
  }

  private retryPendingOf(p: PayloadRecord, j: JobRecord): { retryPending?: { attempt: number; at: string } } {
    if (this.state.paused) return {};
    const plan = planRetry(j.attempts, this.isSuperseded(p.name), this.retrigger);
    return plan.due ? { retryPending: { attempt: plan.attempt, at: new Date(plan.atMs).toISOString() } } : {};
  }

  // -- helpers --

  private payload(name: string): PayloadRecord | undefined {
    return this.state.payloads.find((p) => p.name === name);
  }

  private knownPayloads(): string {
    return this.state.payloads.length ? `kept: ${this.state.payloads.map((p) => p.name).join(', ')}` : 'it has none yet';
  }

  private checkPayloadVersion(payload: string, what: string): void {
    const m = /^(\d+)\.(\d+)\./.exec(payload);
    if (m && `${m[1]}.${m[2]}` !== this.version) throw new LedgerRequestError(`${what}: payload ${payload} is not an OCP ${this.version} payload`);
  }

  private locate(what: string, payloadName: string, jobName: string, n: number): { payload: PayloadRecord; job: JobRecord; attempt: AttemptRecord } {
    const payload = this.payload(payloadName);
    if (!payload) throw new LedgerRequestError(`${what}: payload ${payloadName} is not in the ledger of OCP ${this.version} (${this.knownPayloads()})`);
    const job = findJob(payload, jobName);
    if (!job || job.attempts.length === 0) throw new LedgerRequestError(`${what}: job ${jobName} has no attempt for payload ${payloadName}`);
    const attempt = job.attempts.find((a) => a.attempt === n);
    if (!attempt) throw new LedgerRequestError(`${what}: attempt ${n} of ${job.shortName} for ${payloadName} was never claimed (attempts 1..${lastOf(job.attempts)!.attempt})`);
    return { payload, job, attempt };
  }

  private addPayload(name: string, pullSpec: string, now: string): PayloadRecord {
    const record: PayloadRecord = { name, pullSpec, firstSeenAt: now, jobs: [] };
    this.state.payloads.push(record);
    this.state.payloads.sort(newerFirst);
    return record;
  }

  /**
   * Keeps the newest `keepPayloads` payloads, and besides them the newest triggered one (so it
   * can never be claimed again as new) and any with an attempt in progress (its outcome is still
   * to be recorded).
   */
  private prune(): void {
    const { payloads } = this.state;
    if (payloads.length <= this.keepPayloads) return;
    this.state.payloads = payloads.filter(
      (p, i) => i < this.keepPayloads || p.name === this.state.newestTriggered || p.jobs.some((j) => lastOf(j.attempts)?.state === 'triggering'),
    );
  }

  private recorded(changed: boolean, attempt: AttemptRecord): RecordResult {
    return { changed, attempt: copyOf(attempt), newestTriggered: this.state.newestTriggered };
  }
}

/** Newest first: nightly order where both names are nightlies, else the order they were first seen. */
export function newerFirst(a: PayloadRecord, b: PayloadRecord): number {
  const byName = compareNightlies(b.name, a.name);
  if (byName !== undefined && byName !== 0) return byName;
  if (a.firstSeenAt !== b.firstSeenAt) return a.firstSeenAt < b.firstSeenAt ? 1 : -1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function verdictOf(job: Pick<JobRecord, 'attempts'>): JobVerdict {
  const latest = lastOf(job.attempts);
  if (!latest) return 'skipped';
  // Posted, not yet seen by Prow as anything else.
  if (latest.state === 'triggered') return 'pending';
  return latest.state;
}

function matrixAttempt(a: AttemptRecord): MatrixAttempt {
  return {
    attempt: a.attempt,
    state: a.state,
    ...(a.executionId !== undefined ? { executionId: a.executionId } : {}),
    ...(a.url !== undefined ? { url: a.url } : {}),
    ...(a.triggeredAt !== undefined ? { triggeredAt: a.triggeredAt } : {}),
    ...(a.finishedAt !== undefined ? { finishedAt: a.finishedAt } : {}),
    ...(a.reason !== undefined ? { reason: a.reason } : {}),
    ...(a.retest ? { retest: true as const } : {}),
    ...(a.retry ? { retry: true as const } : {}),
    ...(a.follow ? { following: { nextPollAt: a.follow.nextPollAt, looks: a.follow.looks, ...(a.follow.lastSeen !== undefined ? { lastSeen: a.follow.lastSeen } : {}) } } : {}),
  };
}

function isFinal(state: AttemptState): boolean {
  return (FINAL_STATES as readonly string[]).includes(state);
}

/** Posted, with an execution, and not ended: follow-through looks at it. */
function isFollowed(a: AttemptRecord): boolean {
  return a.executionId !== undefined && (FOLLOWED_STATES as readonly string[]).includes(a.state);
}

/**
 * When the attempt was posted (recordTrigger's time; the claim's, which is earlier, if that is
 * missing). An unreadable time counts as long ago: the next look is the last.
 */
function triggeredMs(a: AttemptRecord): number {
  const ms = Date.parse(a.triggeredAt ?? a.claimedAt);
  return Number.isNaN(ms) ? 0 : ms;
}

/** A copy for answers: follow-through's bookkeeping stays inside (the matrix shows it as `following`). */
function copyOf(a: AttemptRecord): AttemptRecord {
  const { follow: _follow, ...rest } = a;
  return { ...rest };
}

function sameOutcome(attempt: AttemptRecord, outcome: TriggerOutcome): boolean {
  if ('failed' in outcome) return attempt.state === 'failed-to-trigger' && attempt.reason === clip(outcome.failed);
  return attempt.state !== 'failed-to-trigger' && attempt.executionId === outcome.executionId;
}

/** Names one (payload, job) among the attempts being started. */
export function launchKey(payload: string, job: string): string {
  return `${payload}\n${job}`;
}

function findJob(payload: PayloadRecord, jobName: string): JobRecord | undefined {
  return payload.jobs.find((j) => j.name === jobName);
}

function lastOf<T>(items: T[] | undefined): T | undefined {
  return items && items.length ? items[items.length - 1] : undefined;
}

function clip(reason: string): string {
  return reason.length > MAX_TEXT ? `${reason.slice(0, MAX_TEXT - 1)}…` : reason;
}

// ---- Parsing ---------------------------------------------------------------------------------

function asRequest(raw: unknown, what: string, keys: string[]): Record<string, unknown> {
  if (!isObject(raw)) throw new LedgerRequestError(`${what}: the request must be an object with ${keys.join(', ')}, got ${describe(raw)}`);
  const o = raw;
  const unknown = Object.keys(o).filter((k) => !keys.includes(k));
  if (unknown.length) throw new LedgerRequestError(`${what}: unknown key "${unknown[0]}" (allowed: ${keys.join(', ')})`);
  return o;
}

function name(o: Record<string, unknown>, key: string, what: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string' || v.trim() === '') throw new LedgerRequestError(`${what}: ${key} must be a non-empty string, got ${describe(v)}`);
  if (v.length > max) throw new LedgerRequestError(`${what}: ${key} is longer than ${max} characters`);
  return v;
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new LedgerRequestError(`${where} must be a string, got ${describe(v)}`);
  if (v.length > MAX_TEXT) throw new LedgerRequestError(`${where} is longer than ${MAX_TEXT} characters`);
  return v;
}

function positiveInt(v: unknown, where: string): number {
  if (!isInt(v) || v < 1) throw new LedgerRequestError(`${where} must be a whole number from 1, got ${describe(v)}`);
  return v;
}

function ledgerJob(v: unknown, where: string): LedgerJob {
  if (!isObject(v)) throw new LedgerRequestError(`${where} must be an object {name, shortName}, got ${describe(v)}`);
  // A JobSpec may be passed as it is: its payloadEnv is not the ledger's business.
  const extra = Object.keys(v).find((k) => k !== 'name' && k !== 'shortName' && k !== 'payloadEnv');
  if (extra) throw new LedgerRequestError(`${where}: unknown key "${extra}" (allowed: name, shortName)`);
  const what = where.replace(/: job$/, '');
  const job: LedgerJob = { name: name(v, 'name', `${what}: job`, MAX_NAME), shortName: name(v, 'shortName', `${what}: job`, MAX_NAME) };
  if (v.payloadEnv === null || (typeof v.payloadEnv === 'string' && v.payloadEnv.length <= MAX_NAME)) job.payloadEnv = v.payloadEnv;
  return job;
}

function triggerOutcome(v: unknown, where: string): TriggerOutcome {
  if (!isObject(v)) throw new LedgerRequestError(`${where} must be {executionId, url?} or {failed: reason}, got ${describe(v)}`);
  const what = where.replace(/: outcome$/, '');
  if ('failed' in v) {
    if (Object.keys(v).length !== 1) throw new LedgerRequestError(`${where}: {failed} takes no other key`);
    if (typeof v.failed !== 'string' || v.failed.trim() === '') throw new LedgerRequestError(`${where}: failed must be a non-empty reason, got ${describe(v.failed)}`);
    return { failed: v.failed };
  }
  const extra = Object.keys(v).find((k) => k !== 'executionId' && k !== 'url');
  if (extra) throw new LedgerRequestError(`${where}: unknown key "${extra}" (allowed: executionId, url; or failed)`);
  const outcome: TriggerOutcome = { executionId: name(v, 'executionId', `${what}: outcome`, MAX_NAME) };
  if (v.url !== undefined) outcome.url = name(v, 'url', `${what}: outcome`, MAX_TEXT);
  return outcome;
}

function parseFollow(v: unknown): FollowSettings {
  const keys = ['pollEveryMs', 'maxPollEveryMs', 'deadlineMs'];
  if (!isObject(v)) throw new LedgerInputError(`input: follow must be an object {${keys.join(', ')}}, got ${describe(v)}`);
  const extra = Object.keys(v).find((k) => !keys.includes(k));
  if (extra !== undefined) throw new LedgerInputError(`input: follow: unknown key "${extra}" (allowed: ${keys.join(', ')})`);
  for (const k of keys) if (!isInt(v[k])) throw new LedgerInputError(`input: follow.${k} must be a whole number of milliseconds, got ${describe(v[k])}`);
  const settings: FollowSettings = { pollEveryMs: v.pollEveryMs as number, maxPollEveryMs: v.maxPollEveryMs as number, deadlineMs: v.deadlineMs as number };
  const problem = followSettingsProblem(settings, { pollEvery: 'follow.pollEveryMs', maxPollEvery: 'follow.maxPollEveryMs', deadline: 'follow.deadlineMs' });
  if (problem) throw new LedgerInputError(`input: ${problem}`);
  return settings;
}

function parseRetrigger(v: unknown): RetriggerSettings {
  const keys = ['on', 'maxRetries', 'initialMs', 'maxMs', 'superseded'];
  if (!isObject(v)) throw new LedgerInputError(`input: retrigger must be an object {${keys.join(', ')}}, got ${describe(v)}`);
  const extra = Object.keys(v).find((k) => !keys.includes(k));
  if (extra !== undefined) throw new LedgerInputError(`input: retrigger: unknown key "${extra}" (allowed: ${keys.join(', ')})`);
  const on = Array.isArray(v.on) ? (v.on.filter((x) => typeof x === 'string') as RetriableState[]) : [];
  if (!Array.isArray(v.on) || on.length !== v.on.length) throw new LedgerInputError(`input: retrigger.on must be a list among ${RETRIABLE_STATES.join(', ')}`);
  const settings: RetriggerSettings = { on, maxRetries: v.maxRetries as number, initialMs: v.initialMs as number, maxMs: v.maxMs as number, superseded: v.superseded as boolean };
  const problem = retriggerSettingsProblem(settings, { on: 'retrigger.on', maxRetries: 'retrigger.maxRetries', initial: 'retrigger.initialMs', max: 'retrigger.maxMs' });
  if (problem) throw new LedgerInputError(`input: ${problem}`);
  return settings;
}

function parseTriggerSettings(v: unknown): LedgerTriggerSettings {
  if (!isObject(v) || typeof v.labelPrefix !== 'string' || !isObject(v.retry) || !isInt(v.heartbeatTimeoutMs) || !(v.defaultPayloadEnv === null || typeof v.defaultPayloadEnv === 'string')) {
    throw new LedgerInputError('input: trigger must be {labelPrefix, retry, heartbeatTimeoutMs, defaultPayloadEnv}');
  }
  const r = v.retry;
  if (!isInt(r.initialIntervalMs) || typeof r.backoffCoefficient !== 'number' || !isInt(r.maximumIntervalMs) || !isInt(r.maximumAttempts)) {
    throw new LedgerInputError('input: trigger.retry must be {initialIntervalMs, backoffCoefficient, maximumIntervalMs, maximumAttempts}');
  }
  return v as unknown as LedgerTriggerSettings;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}
