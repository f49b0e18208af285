import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig, type WatcherConfig } from '../src/config/load';
import type { LedgerMatrix, MatrixJob } from '../src/domain/ledger';
import { ledgerHasWork } from '../src/domain/newWork';
import type { PassSummary } from '../src/domain/types';
import { formatReport } from '../src/cli/report';
import { scheduleOptions } from '../src/cli/schedule';
import { startSimulators, type Simulators } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { JOB_NAMES, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario, pullSpecOf } from './helpers/scenarios';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { startWorker, type RunningWorker } from './helpers/runningWorker';

// Freshness mode: a schedule every few minutes instead of daily, so a pass that finds nothing
// new must cost little: a release-controller request per version and no Deck request.

const P = '4.21.0-0.nightly-2026-11-24-000001';
const OLDER = '4.21.0-0.nightly-2026-11-20-000001';
const [KATA, PEERPODS] = JOB_NAMES as [string, string];

function matrix(jobs: Array<Partial<MatrixJob> & { job: string }>, extra: Partial<LedgerMatrix> = {}): LedgerMatrix {
  return {
    version: '4.21',
    paused: null,
    newestTriggered: P,
    payloads: [{ name: P, pullSpec: pullSpecOf(P), firstSeenAt: '2026-11-24T01:00:00Z', jobs: jobs.map((j) => ({ shortName: 's', verdict: 'triggered', attempts: [], ...j }) as MatrixJob) }],
    ...extra,
  };
}
const posted = { attempt: 1, state: 'triggered' as const, executionId: 'e1' };

describe('what the ledger says is new (no server)', () => {
  test('no ledger yet: new', () => assert.equal(ledgerHasWork(undefined, P, [KATA]), true));
  test('every planned job posted for the payload: nothing new', () => {
    assert.equal(ledgerHasWork(matrix([{ job: KATA, attempts: [posted] }, { job: PEERPODS, attempts: [{ ...posted, state: 'success' }] }]), P, [KATA, PEERPODS]), false);
  });
  test('a planned job the ledger never saw (skipped on Deck\'s word, or newly configured): new', () => {
    assert.equal(ledgerHasWork(matrix([{ job: KATA, attempts: [posted] }]), P, [KATA, PEERPODS]), true);
  });
  test('the last attempt failed to trigger: new (a later pass retries it)', () => {
    assert.equal(ledgerHasWork(matrix([{ job: KATA, attempts: [{ attempt: 1, state: 'failed-to-trigger' }] }]), P, [KATA]), true);
  });
  test('unless its attempts are exhausted', () => {
    assert.equal(ledgerHasWork(matrix([{ job: KATA, maxAttempts: 1, attempts: [{ attempt: 1, state: 'failed-to-trigger' }] }]), P, [KATA]), false);
  });
  test('an attempt in progress elsewhere: not new (the pass waits for it, Deck cannot help)', () => {
    assert.equal(ledgerHasWork(matrix([{ job: KATA, attempts: [{ attempt: 1, state: 'triggering' }] }]), P, [KATA]), false);
  });
  test('a retest requested: new', () => {
    assert.equal(ledgerHasWork(matrix([{ job: KATA, attempts: [posted], retestPending: { requestedAt: '2026-11-24T02:00:00Z' } as never }]), P, [KATA]), true);
  });
  test('paused, or a payload older than the newest triggered: not new (every claim is refused)', () => {
    assert.equal(ledgerHasWork(matrix([], { paused: { at: '2026-11-24T02:00:00Z' } as never }), P, [KATA]), false);
    assert.equal(ledgerHasWork(matrix([]), OLDER, [KATA]), false);
  });
});

describe('schedule.every and schedule apply --every (no server)', () => {
  const load = (yaml: string) => {
    const file = path.join(tempDir('osc-freshness-'), 'c.yaml');
    writeFileSync(file, yaml);
    return loadConfig({ configPath: file, env: {} });
  };

  test('polling every 10m: an interval spec, overlap skip, a catch-up window of one interval', () => {
    const config = load('schedule: { every: 10m }\n');
    assert.equal(config.schedule.everyMs, 600_000);
    assert.equal(config.schedule.catchupWindowMs, 600_000);
    const options = scheduleOptions(config);
    assert.deepEqual(options.spec, { intervals: [{ every: 600_000 }] });
    assert.equal(options.policies?.overlap, 'SKIP');
    assert.equal(options.policies?.catchupWindow, 600_000);
    assert.equal(options.memo?.description, 'osc-build-watcher pass every 10m');
  });

  test('a shorter catch-up window is kept; without every, the daily cron as before', () => {
    assert.equal(load('schedule: { every: 10m, catchupWindow: 2m }\n').schedule.catchupWindowMs, 120_000);
    const daily = load('schedule: { cron: "0 3 * * *" }\n');
    assert.equal(daily.schedule.everyMs, undefined);
    assert.deepEqual(scheduleOptions(daily).spec, { cronExpressions: ['0 3 * * *'], timezone: 'UTC' });
  });

  test('bad schedules: one line naming the key', () => {
    for (const [yaml, message] of [
      ['schedule: { every: 10m, cron: "0 0 * * *" }\n', /schedule: set cron or every, not both$/],
      ['schedule: { every: 30s }\n', /schedule\.every: at least 1m, got 30s$/],
      ['schedule: { every: 10m, catchupWindow: 1h }\n', /schedule\.catchupWindow: at most one interval \(every: 10m\)/],
      ['schedule: { every: often }\n', /schedule\.every: must be a duration/],
    ] as const) {
      assert.throws(() => load(yaml), (err: Error) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'), yaml);
    }
  });
});

describe('a pass that finds nothing new (real dev server, real worker, simulators)', () => {
  let temporal: TestTemporal;
  let sims: Simulators;
  let tags: Record<string, string>;
  let config: WatcherConfig;
  let worker: RunningWorker | undefined;
  let passes = 0;

  before(async () => {
    const seed = Date.now() % 1_000_000;
    // Deck shows kata tested for 4.19's payload: the first pass skips it on Deck's word.
    const setup = basicScenario(seed);
    tags = setup.tags;
    [sims, temporal] = await Promise.all([
      startSimulators(
        basicScenario(seed, {
          deck: {
            prowJobs: [{ id: `kata-${seed}`, job: KATA, state: 'success', releaseImageLatest: pullSpecOf(tags['4.19']!), startTime: '-2h', completionTime: '-1h' }],
          },
        }).scenario,
      ),
      startTestTemporal(),
    ]);
    const base = simConfig(sims, writeTokenFile(tempDir()), { taskQueue: `freshness-${process.pid}` });
    // Two jobs a version (kata and peerpods): what is counted is requests to Deck and the release
    // controller, not how many jobs (fewer triggers, less CPU).
    config = { ...base, versions: base.versions.map((v) => ({ ...v, jobs: v.jobs.slice(0, 2) })) };
    // One worker for every pass of this describe.
    worker = await startWorker(temporal, config);
  });

  after(async () => {
    await worker?.stop();
    await sims?.close();
    await temporal?.stop();
  });

  async function pass(): Promise<{ summary: PassSummary; rc: number; deck: number; creates: number }> {
    const before = { ...sims.counters() };
    const summary = await temporal.client.workflow.execute(buildWatcher, { workflowId: `freshness-${process.pid}-${++passes}`, taskQueue: config.taskQueue, args: [{}] });
    const delta = (key: string) => (sims.counters()[key] ?? 0) - (before[key] ?? 0);
    return { summary, rc: delta('rc.latest'), deck: delta('deck.prowjobs'), creates: delta('gangway.created') };
  }

  test('pass 1 triggers what is new; Deck once', async () => {
    const first = await pass();
    assert.equal(first.rc, 6, 'one release-controller request per version (4.17 to 4.22)');
    assert.equal(first.deck, 1);
    assert.equal(first.creates, 5, '3 versions x 2 jobs, but kata for 4.19 on Deck\'s word');
  });

  test('pass 2: a job Deck skipped is still the ledger\'s unknown, so Deck is asked again (and skips it again)', async () => {
    const second = await pass();
    assert.equal(second.deck, 1);
    assert.equal(second.creates, 0);
    const kata = second.summary.versions.find((v) => v.version === '4.19')!.jobs.find((j) => j.job === KATA)!;
    assert.equal(kata.decision, 'skipped');
    assert.match(kata.reason, /^Deck run/);
  });

  test('pass 3 on 4.19 with kata posted too: nothing new, 6 release-controller requests, no Deck request', async () => {
    // Kata becomes the watcher's own: its Deck run disappears, a pass triggers it.
    sims.addTag('4.19.0-0.nightly', { name: tags['4.19']!.replace('-11-23-', '-11-25-'), phase: 'Accepted' });
    const withNew = await pass();
    assert.equal(withNew.deck, 1, 'a new payload: Deck once');
    assert.equal(withNew.creates, 2);

    const idle = await pass();
    assert.equal(idle.rc, 6);
    assert.equal(idle.deck, 0, 'no Deck request when no version has anything new');
    assert.equal(idle.creates, 0);
    assert.deepEqual(idle.summary.deck, { state: 'not-needed', reason: 'every payload was already triggered by this watcher for every job' });
    assert.ok(idle.summary.versions.flatMap((v) => v.jobs).every((j) => j.decision === 'skipped' && /already triggered by this watcher/.test(j.reason)));
    assert.match(formatReport(idle.summary, { date: new Date(), namespace: 'default' }), /Deck: not asked \(every payload was already triggered by this watcher for every job\)/);
  });
});
