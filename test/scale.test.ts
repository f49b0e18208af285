// The workflows at 50 streams x 20 jobs on a real dev server, with the upstream clients replaced
// by in-memory ones (the activities and workflows are the real ones). Two passes: the second
// finds the first's 1,000 runs on Deck, among 2,000 unrelated ProwJobs. Nothing a workflow
// carries may grow with Deck: every event stays far below the SDK's 512 KB payload warning, and
// no history passes 2 MB or 2,000 events (read back from the server).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { temporal as proto } from '@temporalio/proto';
import { createActivities } from '../src/activities';
import type { DeckClient, DeckQuery } from '../src/clients/deck';
import type { GangwayClient } from '../src/clients/gangway';
import type { ReleaseControllerClient } from '../src/clients/releaseController';
import { LedgerClient } from '../src/clients/ledger';
import { TriggerRecordClient } from '../src/clients/triggerRecords';
import { loadConfig, type WatcherConfig } from '../src/config/load';
import { resolvePassPlan } from '../src/config/plan';
import { labelKeys } from '../src/domain/labels';
import type { DeckRun, DeckSnapshot, JobSpec, PassSummary, Release } from '../src/domain/types';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { createWorkerPair } from '../src/worker';
import { JOB_PREFIX } from './helpers/config';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';

// `npm test`: 50 streams x 10 jobs (the pass history grows with streams, a version's with its
// jobs); `npm run test:long` runs the bench's full 50 x 20 (SCALE_JOBS=20).
const VERSIONS = Number(process.env.SCALE_VERSIONS ?? 50);
const JOBS = Number(process.env.SCALE_JOBS ?? 10);
const UNRELATED = 2000;
const MAX_EVENT_BYTES = 512 * 1024;
const MAX_HISTORY_BYTES = 2 * 1024 * 1024;
const MAX_HISTORY_EVENTS = 2000;

let temporal: TestTemporal;
before(async () => {
  temporal = await startTestTemporal();
});
after(() => temporal?.stop());

/** Deck, the release controller and Gangway, in memory: what Gangway creates shows on Deck. */
class Upstreams {
  pass = 1;
  creates = 0;
  deckFetches = 0;
  readonly runs: Array<DeckRun & { labels: Record<string, string> }> = [];
  constructor(private readonly labelPrefix: string) {
    // Unrelated ProwJobs of other jobs: filtered out by name, as the real client does.
    for (let i = 0; i < UNRELATED; i++) this.runs.push({ id: randomUUID(), job: `periodic-ci-other-repo-job-${i % 40}`, state: 'success', labels: {} });
  }
  tag(stream: string): string {
    return `${stream}-2026-12-0${this.pass}-000000`;
  }
  readonly releaseController = {
    latestAccepted: async (stream: string): Promise<Release> => ({ name: this.tag(stream), pullSpec: `registry.ci.openshift.org/ocp/release:${this.tag(stream)}`, phase: 'Accepted' }),
  };
  readonly deck = {
    recentRuns: async (query: DeckQuery): Promise<DeckSnapshot> => {
      this.deckFetches += 1;
      const wanted = new Set(query.jobs.map((j: JobSpec) => j.name));
      const keys = labelKeys(query.labelPrefix);
      const mine = this.runs
        .filter((r) => wanted.has(r.job))
        .map(({ labels, ...run }) => ({ ...run, ...(labels[keys.payload] ? { payloadLabel: labels[keys.payload] } : {}), ...(labels[keys.triggerKey] ? { triggerKey: labels[keys.triggerKey] } : {}) }));
      return { fetchedAt: new Date().toISOString(), scanned: this.runs.length, runs: mine };
    },
    prowJobLabels: async (id: string) => {
      const run = this.runs.find((r) => r.id === id);
      return run ? { state: 'found' as const, labels: run.labels } : { state: 'missing' as const };
    },
  };
  readonly gangway = {
    createExecution: async (req: { jobName: string; labels: Record<string, string> }) => {
      this.creates += 1;
      const id = randomUUID();
      this.runs.unshift({ id, job: req.jobName, state: 'pending', startTime: new Date().toISOString(), labels: req.labels });
      return { httpStatus: 200, execution: { id, job_name: req.jobName, job_status: 'PENDING', create_time: new Date().toISOString() } };
    },
    listExecutions: async () => [],
  };
}

function scaleConfig(): WatcherConfig {
  const base = loadConfig({ env: {} });
  const jobs: JobSpec[] = Array.from({ length: JOBS }, (_, i) => {
    const shortName = `${['azure', 'aws', 'gcp', 'ibmcloud'][i % 4]}-ipi-${['kata', 'peerpods', 'coco'][i % 3]}-variant-${i}`;
    return { name: `${JOB_PREFIX}-${shortName}`, shortName, payloadEnv: 'RELEASE_IMAGE_LATEST' };
  });
  return {
    ...base,
    versions: Array.from({ length: VERSIONS }, (_, i) => ({ version: `4.${i}`, stream: `4.${i}.0-0.nightly`, jobs })),
    retry: { initialIntervalMs: 50, backoffCoefficient: 2, maximumIntervalMs: 200, maximumAttempts: 3 },
    gangway: { ...base.gangway, concurrency: 10 },
    trigger: { heartbeatTimeoutMs: 30_000, inFlightGraceMs: 0, deckLagToleranceMs: 1000 },
    taskQueue: `scale-${process.pid}`,
  };
}

interface HistoryFigures {
  workflowId: string;
  events: number;
  bytes: number;
  maxEventBytes: number;
}

async function historyFigures(workflowId: string): Promise<HistoryFigures> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const maxEventBytes = Math.max(...events.map((e) => proto.api.history.v1.HistoryEvent.encode(e).finish().length));
  return { workflowId, events: events.length, bytes: proto.api.history.v1.History.encode(history).finish().length, maxEventBytes };
}

test(`${VERSIONS} streams x ${JOBS} jobs, twice: both passes complete, the second triggers nothing, histories stay bounded`, { timeout: 10 * 60_000 }, async (t) => {
  const config = scaleConfig();
  const upstreams = new Upstreams(config.labelPrefix);
  const activities = createActivities({
    releaseController: upstreams.releaseController as unknown as ReleaseControllerClient,
    deck: upstreams.deck as unknown as DeckClient,
    gangway: upstreams.gangway as unknown as GangwayClient,
    deckFilter: config.deck,
    trigger: config.trigger,
    triggerRecords: new TriggerRecordClient(temporal.client),
    ledger: new LedgerClient(temporal.client, { taskQueue: config.taskQueue }),
    temporal: temporal.client,
    resolvePlan: (request) => resolvePassPlan(config, request),
  });
  // The triggers' activities run on the Gangway task queue, here without a budget.
  const worker = await createWorkerPair({
    connection: temporal.native,
    namespace: temporal.server.namespace,
    taskQueue: config.taskQueue,
    activities,
    gangwayActivitiesPerMinute: undefined,
    workerOptions: { workflowBundle: temporal.bundle, maxCachedWorkflows: 2000 },
  });

  const passes: Array<{ summary: PassSummary; seconds: number; pass: HistoryFigures; largestVersion: HistoryFigures }> = [];
  await worker.runUntil(async () => {
    for (const pass of [1, 2]) {
      // Pass 2 sees the same payloads: every one triggered for every job, by the ledgers, so Deck is not asked.
      const started = Date.now();
      const workflowId = `scale-${process.pid}-pass-${pass}`;
      const summary = await (await temporal.client.workflow.start(buildWatcher, { workflowId, taskQueue: config.taskQueue, args: [{}] })).result();
      const seconds = (Date.now() - started) / 1000;
      const versionFigures = await Promise.all(summary.versions.map((v) => historyFigures(`${workflowId}/ocp-${v.version}`)));
      const largestVersion = versionFigures.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      passes.push({ summary, seconds, pass: await historyFigures(workflowId), largestVersion });
    }
  });

  const [first, second] = passes as [typeof passes[0], typeof passes[0]];
  const pairs = VERSIONS * JOBS;
  for (const p of passes) {
    t.diagnostic(
      `scale pass: ${p.seconds.toFixed(1)} s, totals ${JSON.stringify(p.summary.totals)}, pass history ${p.pass.events} events / ${Math.round(p.pass.bytes / 1024)} KB (largest event ${Math.round(p.pass.maxEventBytes / 1024)} KB), largest version history ${p.largestVersion.events} events / ${Math.round(p.largestVersion.bytes / 1024)} KB`,
    );
  }
  assert.equal(first.summary.totals.triggered, pairs);
  assert.equal(upstreams.creates, pairs, 'one create per (job, payload)');
  assert.equal(second.summary.totals.triggered, 0, 'the second pass triggers nothing');
  assert.equal(second.summary.totals.skipped, pairs);
  assert.equal(second.summary.deck.state, 'not-needed', 'nothing new: Deck not asked');
  assert.ok(second.summary.versions.every((v) => v.jobs.every((j) => /already triggered by this watcher/.test(j.reason))), 'skipped on the ledger\'s word');
  assert.equal(upstreams.deckFetches, 1, 'Deck once, for the pass that had something new');
  for (const p of passes) {
    for (const h of [p.pass, p.largestVersion]) {
      assert.ok(h.maxEventBytes < MAX_EVENT_BYTES, `${h.workflowId}: an event of ${h.maxEventBytes} bytes`);
      assert.ok(h.bytes < MAX_HISTORY_BYTES, `${h.workflowId}: history of ${h.bytes} bytes`);
      assert.ok(h.events < MAX_HISTORY_EVENTS, `${h.workflowId}: history of ${h.events} events`);
    }
  }
  console.log(`scale figures ${JSON.stringify(passes.map((p) => ({ seconds: p.seconds, totals: p.summary.totals, pass: p.pass, largestVersion: p.largestVersion })))}`);
});
