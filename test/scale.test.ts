// The workflows at scale on a real dev server, with the upstream clients replaced by in-memory
// ones (the activities and workflows are the real ones). Two passes: the second finds the
// first's runs on Deck, among 2,000 unrelated ProwJobs. Nothing a workflow carries may grow with
// Deck or with the other versions: every event stays far below the SDK's 512 KB payload warning,
// and no history passes 2 MB or 2,000 events (read back from the server).
//
// `npm test` runs 10 streams x 4 jobs (SCALE_STREAMS, SCALE_JOBS), and proves the shape that keeps 50 x 20 bounded: a version
// child's history names no other version (so it cannot grow with the number of versions) and
// stays within 1/20 of the limits per job; every job's outcome reaches the pass at most once as
// progress (deltas, not a version's whole state per step: the pass grows with jobs, not jobs
// squared); and the pass's other events grow with versions alone. `npm run test:long` runs the
// supported 50 x 20 itself (SCALE_STREAMS=50 SCALE_JOBS=20).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
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
import { ledgerWorkflowId } from '../src/domain/ledger';
import type { DeckRun, DeckSnapshot, JobSpec, PassSummary, Release } from '../src/domain/types';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { createWorkerPair } from '../src/worker';
import { JOB_PREFIX, tempDir } from './helpers/config';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';

const VERSIONS = Number(process.env.SCALE_STREAMS ?? process.env.SCALE_VERSIONS ?? 10);
const JOBS = Number(process.env.SCALE_JOBS ?? 4);
/** What is supported (README, "Scale and the benchmark"): the limits below must hold there. */
const SUPPORTED_JOBS = 20;
/**
 * The pass's commands and their results, besides progress signals and workflow tasks (how many
 * of those depends on timing, not on the work): its own (plan, Deck, markers, search
 * attributes; 22 measured) and per version its release lookup (3 events) and its child (3).
 * Anything per job would add at least one event per job and version: more than 8 per version.
 */
const PASS_EVENTS_BASE = 30;
const PASS_EVENTS_PER_VERSION = 8;
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

type History = proto.api.history.v1.IHistory;

async function historyOf(workflowId: string): Promise<History> {
  return temporal.client.workflow.getHandle(workflowId).fetchHistory();
}

function figuresOf(workflowId: string, history: History): HistoryFigures {
  const events = history.events ?? [];
  const maxEventBytes = Math.max(...events.map((e) => proto.api.history.v1.HistoryEvent.encode(e).finish().length));
  return { workflowId, events: events.length, bytes: proto.api.history.v1.History.encode(history).finish().length, maxEventBytes };
}

const streamOf = (i: number) => `4.${i}.0-0.nightly`;

/** The other versions a version child's history names (their stream names, in any payload): none, so it cannot grow with them. */
function otherVersionsNamed(version: string, history: History): string[] {
  const text = Buffer.from(proto.api.history.v1.History.encode(history).finish()).toString('latin1');
  const named: string[] = [];
  for (let i = 0; i < VERSIONS; i++) if (`4.${i}` !== version && text.includes(streamOf(i))) named.push(`4.${i}`);
  return named;
}

interface PassShape {
  /** Events other than progress signals and workflow tasks: per version a few (its release, its child), not per job. */
  otherEvents: number;
  progressSignals: number;
  /** The most progress signals one (version, job) outcome appeared in. */
  maxReportsPerJob: number;
  /** Events by type, for the figures. */
  types: Record<string, number>;
}

/** How the pass's history is made up: progress signals, the (version, job) outcomes each carried, the rest. */
function passShape(history: History): PassShape {
  const reports = new Map<string, number>();
  let progressSignals = 0;
  let otherEvents = 0;
  const types: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const type = proto.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
    types[type] = (types[type] ?? 0) + 1;
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName !== 'versionProgress') {
      if (!type.startsWith('EVENT_TYPE_WORKFLOW_TASK_')) otherEvents += 1;
      continue;
    }
    progressSignals += 1;
    for (const p of signal.input?.payloads ?? []) {
      const progress = JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString()) as { version: string; jobs: Array<{ job: string }> };
      for (const j of progress.jobs) reports.set(`${progress.version} ${j.job}`, (reports.get(`${progress.version} ${j.job}`) ?? 0) + 1);
    }
  }
  return { otherEvents, progressSignals, maxReportsPerJob: Math.max(0, ...reports.values()), types };
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

  const passes: Array<{ summary: PassSummary; seconds: number; pass: HistoryFigures; shape: PassShape; largestVersion: HistoryFigures; otherVersionsNamed: string[] }> = [];
  await worker.runUntil(async () => {
    for (const pass of [1, 2]) {
      // Pass 2 sees the same payloads: every one triggered for every job, by the ledgers, so Deck is not asked.
      const started = Date.now();
      const workflowId = `scale-${process.pid}-pass-${pass}`;
      const summary = await (await temporal.client.workflow.start(buildWatcher, { workflowId, taskQueue: config.taskQueue, args: [{}] })).result();
      const seconds = (Date.now() - started) / 1000;
      const versionFigures: HistoryFigures[] = [];
      const named: string[] = [];
      await Promise.all(
        summary.versions.map(async (v) => {
          const id = `${workflowId}/ocp-${v.version}`;
          const history = await historyOf(id);
          versionFigures.push(figuresOf(id, history));
          for (const other of otherVersionsNamed(v.version, history)) named.push(`${v.version} names ${other}`);
        }),
      );
      const largestVersion = versionFigures.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      const passHistory = await historyOf(workflowId);
      // The search works: the pass's own history names every version.
      assert.equal(otherVersionsNamed('none', passHistory).length, VERSIONS, 'the pass history names every version');
      passes.push({ summary, seconds, pass: figuresOf(workflowId, passHistory), shape: passShape(passHistory), largestVersion, otherVersionsNamed: named });
    }
  });

  const [first, second] = passes as [typeof passes[0], typeof passes[0]];
  const pairs = VERSIONS * JOBS;
  for (const p of passes) {
    t.diagnostic(
      `scale pass: ${p.seconds.toFixed(1)} s, totals ${JSON.stringify(p.summary.totals)}, pass history ${p.pass.events} events / ${Math.round(p.pass.bytes / 1024)} KB (largest event ${Math.round(p.pass.maxEventBytes / 1024)} KB; ${p.shape.progressSignals} progress signals, ${p.shape.otherEvents} other events besides workflow tasks, an outcome reported at most ${p.shape.maxReportsPerJob} time(s)), largest version history ${p.largestVersion.events} events / ${Math.round(p.largestVersion.bytes / 1024)} KB`,
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
    // The shape that keeps the supported 50 x 20 bounded, whatever size ran here.
    assert.deepEqual(p.otherVersionsNamed, [], 'a version child carries only its own version');
    assert.ok(p.shape.maxReportsPerJob <= 1, `an outcome reached the pass in ${p.shape.maxReportsPerJob} progress signals`);
    assert.ok(p.shape.otherEvents <= PASS_EVENTS_BASE + PASS_EVENTS_PER_VERSION * VERSIONS, `pass: ${p.shape.otherEvents} events besides progress and workflow tasks, for ${VERSIONS} versions`);
    const v = p.largestVersion;
    assert.ok(v.events <= (MAX_HISTORY_EVENTS * JOBS) / SUPPORTED_JOBS, `${v.workflowId}: ${v.events} events for ${JOBS} jobs`);
    assert.ok(v.bytes <= (MAX_HISTORY_BYTES * JOBS) / SUPPORTED_JOBS, `${v.workflowId}: ${v.bytes} bytes for ${JOBS} jobs`);
    for (const h of [p.pass, p.largestVersion]) {
      assert.ok(h.maxEventBytes < MAX_EVENT_BYTES, `${h.workflowId}: an event of ${h.maxEventBytes} bytes`);
      assert.ok(h.bytes < MAX_HISTORY_BYTES, `${h.workflowId}: history of ${h.bytes} bytes`);
      assert.ok(h.events < MAX_HISTORY_EVENTS, `${h.workflowId}: history of ${h.events} events`);
    }
  }
  console.log(`scale figures ${JSON.stringify(passes.map((p) => ({ seconds: p.seconds, totals: p.summary.totals, pass: p.pass, shape: p.shape, largestVersion: p.largestVersion })))}`);
});

// `npm run bench` as a user runs it against a server of their own: --use-temporal-address with
// TEMPORAL_ADDRESS (this file's server), no dev server of the bench's; the smallest scenario, its
// table and its JSON.
test('npm run bench --use-temporal-address: runs on the TEMPORAL_ADDRESS server, prints the table, writes the figures with the CLI CPU, ends its ledgers', { timeout: 3 * 60_000 }, async () => {
  const out = path.join(tempDir('osc-bench-test-'), 'results.json');
  const bench = path.resolve(__dirname, '..', 'scripts', 'bench.js');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: temporal.server.address, TEMPORAL_NAMESPACE: temporal.server.namespace };
  // The flag without the variable: one line, exit 1, nothing started.
  const missing = await promisify(execFile)(process.execPath, [bench, '--scenarios', '2x2', '--use-temporal-address'], { env: { PATH: process.env.PATH, HOME: process.env.HOME } }).then(
    () => assert.fail('the bench ran without TEMPORAL_ADDRESS'),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'bench failed: --use-temporal-address: TEMPORAL_ADDRESS is not set\n');

  const { stdout, stderr } = await promisify(execFile)(process.execPath, [bench, '--scenarios', '2x2', '--deck-synthetic', '20', '--out', out, '--use-temporal-address'], { env });
  assert.match(stderr, new RegExp(`bench: the server at ${temporal.server.address.replace(/\./g, '\\.')} \\(namespace ${temporal.server.namespace}\\), from TEMPORAL_ADDRESS`));
  assert.doesNotMatch(stderr, /a dev server on/);
  // The version ledgers never close: on a server that outlives the bench, it ends those it started.
  const ended = /bench: ended the (\d+) version ledgers of task queue (\S+)/.exec(stderr);
  assert.ok(ended, stderr);
  assert.equal(ended[1], '2');
  for (const version of ['4.0', '4.1']) {
    const ledger = await temporal.client.workflow.getHandle(ledgerWorkflowId(ended[2]!, version)).describe();
    assert.equal(ledger.status.name, 'TERMINATED', `the ledger of ${version}`);
  }
  assert.match(stdout, /^\| scenario \| run \| pass s \| CLI s \|.*\| CLI CPU s \| server CPU s \|$/m);
  const results = JSON.parse(readFileSync(out, 'utf8')) as { scenarios: Array<Record<string, unknown> & { runs: Array<Record<string, unknown>> }> };
  const [sc] = results.scenarios;
  assert.equal(sc?.name, '2x2');
  assert.deepEqual(sc.runs.map((r) => [r.exitCode, r.creates, r.triggered, r.skipped]), [[0, 4, 4, 0], [0, 0, 0, 4]], 'the first run triggers the 4 pairs, the second nothing');
  for (const r of sc.runs) {
    // The CLI's CPU from /proc (Linux); a server the bench did not start has no figure.
    assert.ok(typeof r.cliCpuSeconds === 'number' && r.cliCpuSeconds > 0, `cliCpuSeconds ${r.cliCpuSeconds}`);
    assert.equal(r.serverCpuSeconds, null);
    assert.ok(typeof r.passSeconds === 'number' && r.passSeconds > 0);
  }
});
