// Plain data that crosses workflow boundaries. Nothing here may import Node modules:
// workflow code imports this file and must stay replay-safe.
import type { NotificationOutcome } from './notifications';

export type DedupPolicy = 'exact-payload' | 'recent-success';

export interface RetrySettings {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

export interface JobSpec {
  /** Full Prow job name, as Gangway and Deck's `spec.job` know it. */
  name: string;
  /** The part after the configured prefix, for short report lines and IDs. */
  shortName: string;
  /** Env var that pins the payload in the triggered job, or null to send none. */
  payloadEnv: string | null;
}

/** One watched OCP version: its nightly stream and the jobs to trigger for it (resolved for this version). */
export interface VersionSpec {
  version: string;
  stream: string;
  jobs: JobSpec[];
}

/** The version part of the input that passes took before `PassRequest` (see workflows/legacy). */
export interface LegacyVersionSpec {
  version: string;
  stream: string;
}

/**
 * The whole resolved configuration, which passes took as input before `PassRequest`.
 * Still accepted (and recorded in the replay histories), never produced by new code paths
 * other than `legacyPassInput` for the compatibility tests.
 */
export interface LegacyPassInput {
  versions: LegacyVersionSpec[];
  jobs: JobSpec[];
  dedupPolicy: DedupPolicy;
  recentSuccessWindowHours: number;
  labelPrefix: string;
  dryRun: boolean;
  retry: RetrySettings;
  /** Absent in passes started before it existed; the trigger workflow then uses its default. */
  triggerHeartbeatTimeoutMs?: number;
}

/**
 * What a pass is asked to do: the workflow input, small and validated. `{}` means "what the
 * worker's configuration says"; anything given narrows it. Everything else (streams, job
 * names, policy, retries) is resolved by the worker at the start of the pass.
 */
export interface PassRequest {
  /** OCP versions, like "4.21"; each must be one the worker watches. */
  versions?: string[];
  /** Jobs by short name (`azure-ipi-kata`) or full name; each must be configured. */
  jobs?: string[];
  dryRun?: boolean;
}

/** One version of a resolved pass: its stream and the jobs to decide for it. */
export type VersionPlan = VersionSpec;

/** How a pass decides and triggers, the same for every version. */
export interface PassSettings {
  dedupPolicy: DedupPolicy;
  recentSuccessWindowHours: number;
  labelPrefix: string;
  dryRun: boolean;
  retry: RetrySettings;
  triggerHeartbeatTimeoutMs: number;
  /** Triggers of one version in flight at once (the rate limit still spaces the POSTs). */
  concurrency: number;
  /** The Gangway activity's start-to-close timeout per attempt; absent: 30m. */
  triggerAttemptTimeoutMs?: number;
  /** Only with `payloads: every`: each Accepted payload newer than the newest triggered, oldest first, at most maxPerPass. */
  payloads?: { mode: 'every'; maxPerPass: number };
}

/** A `PassRequest` resolved against the worker's configuration, once, at the start of the pass. */
export interface PassPlan {
  versions: VersionPlan[];
  settings: PassSettings;
  /** Where the worker's configuration came from, for the summary. */
  configSource: string;
  /** With `ocpVersions: discover`: what the release controller offered at the pass's start. */
  discovered?: DiscoveredStreams;
}

export interface DiscoveredStreams {
  min: string;
  max?: string;
  /** Versions watched because the release controller has their nightly stream. */
  versions: string[];
  /** Matching streams outside min..max. */
  skipped: string[];
}

export interface Release {
  name: string;
  pullSpec: string;
  phase: string;
}

export type ProwJobState =
  | 'scheduling'
  | 'triggered'
  | 'pending'
  | 'success'
  | 'failure'
  | 'aborted'
  | 'error'
  | 'unknown';

/** The few facts about one Deck ProwJob that the decision needs. */
export interface DeckRun {
  id: string;
  job: string;
  state: ProwJobState;
  startTime?: string;
  completionTime?: string;
  url?: string;
  /** Our own payload label, when this watcher triggered the run. */
  payloadLabel?: string;
  triggerKey?: string;
  /** RELEASE_IMAGE_LATEST (or the configured env) found in the pod spec. */
  payloadEnvValue?: string;
}

export interface DeckSnapshot {
  fetchedAt: string;
  /** How many ProwJobs Deck returned before filtering to our jobs. */
  scanned: number;
  runs: DeckRun[];
}

export type DeckStatus =
  | { state: 'pending' }
  /** No version had a release to decide for, or (reason set) none had anything new to trigger, so Deck was not asked. */
  | { state: 'not-needed'; reason?: string }
  | { state: 'ok'; fetchedAt: string; scanned: number; matched: number }
  | { state: 'unavailable'; reason: string; tooLarge?: { bytes: number; limitBytes: number } };

export type Decision = 'pending' | 'triggered' | 'skipped' | 'failed' | 'would-trigger';

export interface JobOutcome {
  job: string;
  shortName: string;
  decision: Decision;
  reason: string;
  /** Set by passes of the old input only: the payload is the version's `release`. */
  payload?: string;
  /** Set by passes of the old input only: it is `triggerWorkflowId(job, payload)` (domain/labels). */
  triggerWorkflowId?: string;
  executionId?: string;
  httpStatus?: number;
}

/** `no-release`: the stream has no Accepted tag (normal). `error`: it could not be checked. */
export type VersionState = 'pending' | 'discovering' | 'deciding' | 'done' | 'no-release' | 'error';

export interface VersionResult {
  version: string;
  stream: string;
  state: VersionState;
  release?: { name: string; pullSpec: string };
  /** Why no release was found (or the discovery failed). */
  releaseError?: string;
  jobs: JobOutcome[];
  /** `payloads: every`: the older payloads this pass decided before `release`, oldest first. */
  earlier?: PayloadOutcome[];
  /** The verdicts so far of the version's previous payloads, from its ledger, newest first. */
  previous?: PreviousPayload[];
}

export interface PayloadOutcome {
  release: { name: string; pullSpec: string };
  jobs: JobOutcome[];
}

/** A payload of an earlier pass, as its version's ledger sees it now: one line per job. */
export interface PreviousPayload {
  name: string;
  jobs: Array<{ shortName: string; verdict: string; attempts: number }>;
}

export interface Totals {
  triggered: number;
  skipped: number;
  failed: number;
  wouldTrigger: number;
  versionsWithoutRelease: number;
  versionsFailed: number;
}

export interface PassSummary {
  workflowId: string;
  runId: string;
  state: 'running' | 'done';
  dryRun: boolean;
  dedupPolicy: DedupPolicy;
  startedAt: string;
  finishedAt?: string;
  deck: DeckStatus;
  /** With `ocpVersions: discover`: the versions found on the release controller for this pass. */
  discovered?: DiscoveredStreams;
  versions: VersionResult[];
  totals: Totals;
  /** What became of the pass's notifications (README, "Notifications"); absent when it sent none. */
  notifications?: NotificationOutcome[];
}

export interface TriggerRequest {
  job: JobSpec;
  version: string;
  release: { name: string; pullSpec: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /**
   * Since when an earlier try of this attempt may have posted (ISO time), or null when none, as
   * the ledger answered the pass's claim. Absent (the ledger's own attempts, triggers started
   * before it was passed): the trigger asks the ledger (query `earlierTriesSince`).
   */
  earlierTriesSince?: string | null;
}

export interface TriggerResult {
  executionId: string;
  /** Absent when an earlier attempt's execution was found instead of posting again. */
  httpStatus?: number;
  jobStatus?: string;
  /** The execution was created by an earlier attempt whose answer was lost (crash, timeout, 5xx). */
  foundFromEarlierAttempt?: boolean;
}

/** Detail attached to a failed trigger so the pass can report the HTTP status. */
export interface TriggerFailureDetail {
  httpStatus?: number;
  reason: string;
  /** The ApplicationFailure type, when there was one. */
  type?: string;
}

export type TriggerRecordState = 'none' | 'running' | 'completed' | 'failed';

/** What became of a trigger record: awaited while it was running. */
export type TriggerRecordOutcome =
  | { state: 'none' }
  | { state: 'completed'; wasRunning: boolean; result: TriggerResult }
  | { state: 'failed'; wasRunning: boolean; reason: string; httpStatus?: number };
