// The watcher's Prometheus metrics: every name and label set in one place, and the pure rules
// behind the state gauges. Workflow code imports this file: no Node modules, no I/O.
//
// Counters are exported with a `_total` suffix (the Runtime is installed with
// countersTotalSuffix). Workflow counters carry the SDK's own labels too (namespace, taskQueue,
// workflowType). No label ever holds a URL, a token or an error message.
import type { MetricMeter, NumericMetricValueType } from '@temporalio/common';
import type { LedgerMatrix, LedgerState } from './ledger';
import type { PassSummary } from './types';

export const METRIC_PREFIX = 'osc_build_watcher_';

interface MetricDef<L extends string> {
  name: string;
  kind: 'counter' | 'histogram' | 'gauge';
  labels: readonly L[];
  help: string;
  unit?: string;
  valueType?: NumericMetricValueType;
}

const def = <L extends string>(d: MetricDef<L>) => d;

export const METRICS = {
  // Counted in workflows (replay-safe: the SDK's workflow meter records nothing while replaying).
  triggers: def({
    name: `${METRIC_PREFIX}triggers`,
    kind: 'counter',
    labels: ['version', 'job', 'result'] as const,
    help: 'Trigger workflows (one per job and payload) that ended: result triggered (the ProwJob exists) or failed',
  }),
  decisions: def({
    name: `${METRIC_PREFIX}pass_decisions`,
    kind: 'counter',
    labels: ['version', 'job', 'decision'] as const,
    help: "Each pass's decision per job: triggered, skipped, failed, would-trigger",
  }),
  verdicts: def({
    name: `${METRIC_PREFIX}verdicts`,
    kind: 'counter',
    labels: ['version', 'job', 'verdict'] as const,
    help: 'Final verdicts recorded by the version ledgers: success, failure, aborted, error, unknown',
  }),
  // Counted in the worker process (activities and the clients they use): once per execution.
  retries: def({
    name: `${METRIC_PREFIX}activity_retries`,
    kind: 'counter',
    labels: ['activity'] as const,
    help: 'Activity attempts after the first (a retried upstream call, a trigger retried after a failure)',
  }),
  upstreamRequests: def({
    name: `${METRIC_PREFIX}upstream_requests`,
    kind: 'counter',
    labels: ['api', 'status_class'] as const,
    help: 'HTTP requests to the release controller, Deck and Gangway, by status class (2xx … 5xx; network: no answer)',
  }),
  gangwayRateLimitWait: def({
    name: `${METRIC_PREFIX}gangway_rate_limit_wait_seconds`,
    kind: 'histogram',
    labels: ['kind'] as const,
    valueType: 'float',
    unit: 's',
    help: "Waits before a Gangway request: kind process (this process's token bucket) or permit (the shared budget's permit workflow)",
  }),
  deckBytes: def({
    name: `${METRIC_PREFIX}deck_response_bytes`,
    kind: 'counter',
    labels: ['endpoint'] as const,
    unit: 'By',
    help: "Bytes of Deck's answers as received (compressed when Deck sent gzip): endpoint prowjobs.js or prowjob",
  }),
  // Gauges read from Temporal's durable state by each worker (src/metricsCollector.ts).
  lastSuccessfulPass: def({
    name: `${METRIC_PREFIX}last_successful_pass_timestamp_seconds`,
    kind: 'gauge',
    labels: [] as const,
    valueType: 'float',
    help: 'When the last successful pass closed (completed, not a dry run, no failed trigger, every version checked); unix seconds',
  }),
  newestAcceptedAge: def({
    name: `${METRIC_PREFIX}newest_accepted_payload_age_seconds`,
    kind: 'gauge',
    labels: ['version'] as const,
    valueType: 'float',
    help: 'Age of the newest Accepted nightly of the version, as the latest completed pass that found one saw it (from the time in its name)',
  }),
  payloadsNotGreen: def({
    name: `${METRIC_PREFIX}payloads_not_green`,
    kind: 'gauge',
    labels: ['version'] as const,
    help: "Payloads in the version's ledger whose jobs are not all success yet (pending, running, failed, unknown)",
  }),
  oldestNotGreenAge: def({
    name: `${METRIC_PREFIX}oldest_not_green_payload_age_seconds`,
    kind: 'gauge',
    labels: ['version'] as const,
    valueType: 'float',
    help: 'Time since the ledger first saw the oldest payload that is not all green yet; 0 when every payload is green',
  }),
} as const;

export type MetricKey = keyof typeof METRICS;
export type LabelsOf<K extends MetricKey> = Record<(typeof METRICS)[K]['labels'][number], string>;

/** Histogram buckets in the metric's own unit (the SDK's default buckets are for milliseconds). */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [METRICS.gangwayRateLimitWait.name]: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
};

/**
 * Records on any of the SDK's meters (the workflow's `metricMeter`, an activity's, the Runtime's),
 * creating each metric once per meter.
 */
export class MetricRecorder {
  private readonly made = new Map<string, { add?: (v: number, t: object) => void; record?: (v: number, t: object) => void; set?: (v: number, t: object) => void }>();

  constructor(private readonly meter: MetricMeter) {}

  add<K extends MetricKey>(key: K, labels: LabelsOf<K>, value = 1): void {
    this.metric(key).add?.(value, labels);
  }

  record<K extends MetricKey>(key: K, labels: LabelsOf<K>, value: number): void {
    this.metric(key).record?.(value, labels);
  }

  set<K extends MetricKey>(key: K, labels: LabelsOf<K>, value: number): void {
    this.metric(key).set?.(value, labels);
  }

  private metric(key: MetricKey) {
    let m = this.made.get(key);
    if (!m) {
      const d: MetricDef<string> = METRICS[key];
      if (d.kind === 'counter') {
        const c = this.meter.createCounter(d.name, d.unit, d.help);
        m = { add: (v, t) => c.add(v, t as Record<string, string>) };
      } else if (d.kind === 'histogram') {
        const h = this.meter.createHistogram(d.name, d.valueType ?? 'int', d.unit, d.help);
        m = { record: (v, t) => h.record(v, t as Record<string, string>) };
      } else {
        const g = this.meter.createGauge(d.name, d.valueType ?? 'int', d.unit, d.help);
        m = { set: (v, t) => g.set(v, t as Record<string, string>) };
      }
      this.made.set(key, m);
    }
    return m;
  }
}

/** `2xx` … `5xx` for an answer, `network` when there was none (refused, reset, timed out). */
export function statusClass(status: number | undefined): string {
  if (status === undefined || !Number.isFinite(status) || status < 100 || status > 599) return 'network';
  return `${Math.floor(status / 100)}xx`;
}

/** The verdicts the `verdicts` counter counts: a job's end, or follow-through giving up. */
export const COUNTED_VERDICTS: readonly string[] = ['success', 'failure', 'aborted', 'error', 'unknown'];

/** A job's short name (a request may name it either way) and the state of one attempt, as the ledger holds them. */
export function attemptIn(state: LedgerState, payload: string, job: string, attempt: number): { shortName: string; state?: string } {
  const j = state.payloads.find((x) => x.name === payload)?.jobs.find((x) => x.name === job || x.shortName === job);
  const a = j?.attempts.find((x) => x.attempt === attempt);
  return { shortName: j?.shortName ?? job, ...(a ? { state: a.state } : {}) };
}

/** A pass that did what a pass is for: completed, posted for real, no failed trigger, every version checked. */
export function passSucceeded(summary: Pick<PassSummary, 'dryRun' | 'totals'>): boolean {
  return !summary.dryRun && summary.totals.failed === 0 && summary.totals.versionsFailed === 0;
}

export interface NotGreen {
  /** Payloads of the ledger whose jobs are not all `success`. */
  count: number;
  /** When the oldest of them was first seen (ms since the epoch); undefined when none. */
  oldestFirstSeenMs?: number;
}

/**
 * Green: every job the ledger holds for the payload has the verdict `success` (a job with no
 * attempt, `skipped`, is left out). Anything else (pending, running, failure, unknown, …) is not
 * green yet; a payload stays so until a retest succeeds or `keepPayloads` prunes it.
 */
export function notGreen(matrix: Pick<LedgerMatrix, 'payloads'>): NotGreen {
  let count = 0;
  let oldest: number | undefined;
  for (const p of matrix.payloads) {
    const counted = p.jobs.filter((j) => j.verdict !== 'skipped');
    if (counted.length === 0 || counted.every((j) => j.verdict === 'success')) continue;
    count++;
    const seen = Date.parse(p.firstSeenAt);
    if (!Number.isNaN(seen)) oldest = oldest === undefined ? seen : Math.min(oldest, seen);
  }
  return { count, ...(oldest !== undefined ? { oldestFirstSeenMs: oldest } : {}) };
}

/**
 * The series names Prometheus sees for each metric, with the Runtime installed as cli/logging.ts
 * does (countersTotalSuffix; no unit suffix): `_total` on counters, `_bucket`/`_sum`/`_count` on
 * histograms. Checked against a real scrape by test/metrics.test.ts.
 */
export function exportedSeries(): Map<string, { key: MetricKey; labels: readonly string[] }> {
  const out = new Map<string, { key: MetricKey; labels: readonly string[] }>();
  for (const [key, d] of Object.entries(METRICS) as Array<[MetricKey, MetricDef<string>]>) {
    const names = d.kind === 'counter' ? [`${d.name}_total`] : d.kind === 'histogram' ? [`${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name];
    for (const name of names) out.set(name, { key, labels: name.endsWith('_bucket') ? [...d.labels, 'le'] : d.labels });
  }
  return out;
}
