// Plain data that crosses workflow boundaries. Nothing here may import Node modules:
// workflow code imports this file and must stay replay-safe.

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

/** Workflow input of one pass. Carries no URLs and no secrets: the worker owns those. */
export interface PassInput {
  versions: VersionSpec[];
  jobs: JobSpec[];
  dedupPolicy: DedupPolicy;
  recentSuccessWindowHours: number;
  labelPrefix: string;
  dryRun: boolean;
  retry: RetrySettings;
  /** Absent in passes started before it existed; the trigger workflow then uses its default. */
  triggerHeartbeatTimeoutMs?: number;
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
  | { state: 'ok'; fetchedAt: string; scanned: number; matched: number }
  | { state: 'unavailable'; reason: string };

export type Decision = 'pending' | 'triggered' | 'skipped' | 'failed' | 'would-trigger';

export interface JobOutcome {
  job: string;
  shortName: string;
  decision: Decision;
  reason: string;
  payload?: string;
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
  versions: VersionResult[];
  totals: Totals;
}

export interface TriggerRequest {
  job: JobSpec;
  version: string;
  release: { name: string; pullSpec: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
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
