import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findEarlierTrigger } from '../src/activities/earlierTrigger';
import { DeckClient } from '../src/clients/deck';
import { UpstreamError } from '../src/clients/errors';
import { GangwayClient } from '../src/clients/gangway';
import { RateLimiter } from '../src/clients/rateLimiter';
import type { WatcherConfig } from '../src/config/load';
import { startSimulators, type Simulators } from '../src/simulators';
import { gangwayTaskQueue } from '../src/domain/taskQueues';
import { createWatcherWorker } from '../src/worker';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { CANARY_TOKEN, JOB_NAMES, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario, VERSIONS } from './helpers/scenarios';
import { serverOnly } from './helpers/layers';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';

const KEY = 'osc-build-watcher/trigger-key';

describe('RateLimiter', () => {
  test('lets a burst through, then spaces requests at the rate, in arrival order', () => {
    let now = 0;
    const limiter = new RateLimiter(9, 5, () => now);
    const waits = Array.from({ length: 8 }, () => limiter.reserve());
    assert.deepEqual(waits.slice(0, 5), [0, 0, 0, 0, 0]);
    assert.deepEqual(waits.slice(5), [1, 2, 3].map((k) => Math.ceil((k * 60_000) / 9)));
    // 20 s later the three waiters have had their slots; a ninth request waits one interval.
    now += 20_000;
    assert.equal(limiter.reserve(), Math.ceil(60_000 / 9));
    // After a quiet minute the burst is back, but never more than `burst`.
    now += 10 * 60_000;
    assert.deepEqual(Array.from({ length: 6 }, () => limiter.reserve() === 0), [true, true, true, true, true, false]);
  });

  test('rejects a nonsensical limit', () => {
    assert.throws(() => new RateLimiter(0, 5), /perMinute > 0/);
  });
});

describe('finding what an earlier attempt created', () => {
  let sims: Simulators;
  let gangway: GangwayClient;
  let deck: DeckClient;
  const job = JOB_NAMES[0]!;

  before(async () => {
    sims = await startSimulators(basicScenario(900).scenario);
    gangway = new GangwayClient({ baseUrl: sims.gangwayUrl, timeoutMs: 5000, createForm: 'body', token: async () => CANARY_TOKEN });
    deck = new DeckClient(sims.deckUrl, 5000);
  });
  after(() => sims.close());

  const create = (key: string) => gangway.createExecution({ jobName: job, envs: {}, labels: { [KEY]: key }, annotations: {} });
  const deps = (toleranceMs: number) => ({ gangway, deck, deckLagToleranceMs: toleranceMs, pollIntervalMs: 100, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) });

  test('finds its own execution among others of the same job, waiting for Deck to catch up', async () => {
    sims.setDeckLag(600);
    const other = await create('tk-other');
    const mine = await create('tk-mine');
    const started = Date.now();
    const found = await findEarlierTrigger({ jobName: job, label: { key: KEY, value: 'tk-mine' }, sinceMs: started - 60_000 }, deps(10_000));
    assert.equal(found?.id, mine.execution.id);
    assert.notEqual(found?.id, other.execution.id);
    assert.ok(Date.now() - started >= 300, 'answered before Deck could have shown the execution');
  });

  test('concludes "none" only once Deck has shown every candidate', async () => {
    sims.setDeckLag(400);
    await create('tk-someone-else');
    const found = await findEarlierTrigger({ jobName: job, label: { key: KEY, value: 'tk-absent' }, sinceMs: Date.now() - 60_000 }, deps(10_000));
    assert.equal(found, undefined);
  });

  test('executions older than the first attempt are not candidates', async () => {
    sims.setDeckLag(60_000);
    const before = sims.counters()['deck.prowjob'] ?? 0;
    const found = await findEarlierTrigger({ jobName: job, label: { key: KEY, value: 'tk-x' }, sinceMs: Date.now() + 60_000 }, deps(1000));
    assert.equal(found, undefined);
    assert.equal(sims.counters()['deck.prowjob'] ?? 0, before, 'no Deck lookups were needed');
  });

  test('a ProwJob answer cut short is a retryable error, never a ProwJob without our label', async () => {
    sims.setDeckLag(0);
    const mine = await create('tk-cut');
    // The sorted YAML of a ProwJob puts metadata.labels near the end of what is left at the cut.
    sims.addFault({ endpoint: 'deck.prowjob', kind: 'truncated-gzip', times: 1 });
    await assert.rejects(deck.prowJobLabels(mine.execution.id), (err: unknown) => err instanceof UpstreamError && err.retryable && /cut short/.test(err.message));
    const whole = await deck.prowJobLabels(mine.execution.id);
    assert.equal(whole.state === 'found' && whole.labels[KEY], 'tk-cut');
  });

  test('a Deck that never catches up is a retryable error naming the executions, not a guess', async () => {
    sims.setDeckLag(60_000);
    const pending = await create('tk-late');
    await assert.rejects(
      findEarlierTrigger({ jobName: job, label: { key: KEY, value: 'tk-nope' }, sinceMs: Date.now() - 60_000 }, deps(300)),
      (err: unknown) => err instanceof UpstreamError && err.retryable && err.message.includes(pending.execution.id),
    );
    sims.setDeckLag(0);
  });
});

describe('the Gangway rate limit in a real worker', serverOnly, () => {
  const PER_MINUTE = 240;
  const BURST = 5;
  const SLACK_MS = 500;
  let temporal: TestTemporal;
  let tokenFile: string;
  before(async () => {
    temporal = await startTestTemporal();
    tokenFile = writeTokenFile(tempDir());
  });
  after(() => temporal?.stop());

  async function pass(config: WatcherConfig, id: string, versions: string[]) {
    const handle = await temporal.client.workflow.start(buildWatcher, {
      workflowId: id,
      taskQueue: config.taskQueue,
      args: [{ versions }],
    });
    return handle.result();
  }

  test('two concurrent passes share one budget: a burst, then evenly spaced creates, 429 retried as benign', async () => {
    const sims = await startSimulators(basicScenario(901).scenario);
    try {
      // 240 a minute keeps the test short; the spacing rule is the same as for the default 9.
      const config = simConfig(sims, tokenFile, {});
      config.gangway = { ...config.gangway, rateLimit: { perMinute: PER_MINUTE, burst: BURST } };
      sims.addFault({ endpoint: 'gangway.create', status: 429, headers: { 'Retry-After': '1' }, body: 'Too Many Requests', times: 2 });
      const [a, b] = await temporal.withWorker(config, () =>
        Promise.all([pass(config, `rate-a-${process.pid}`, VERSIONS.slice(0, 2)), pass(config, `rate-b-${process.pid}`, VERSIONS.slice(2))]),
      );
      assert.equal(a.totals.triggered + b.totals.triggered, 15);
      assert.equal(a.totals.failed + b.totals.failed, 0, '429 is retried, not a failure');

      const times = sims
        .requests('gangway')
        .filter((r) => r.method === 'POST')
        .map((r) => Date.parse(r.time))
        .sort((x, y) => x - y);
      assert.equal(times.length, 17, '15 creates and the 2 answered 429');
      // Token bucket: any window of w ms holds at most burst + w/interval requests. SLACK_MS
      // covers a request held up after its slot (a loaded machine: the event loop stalls) while
      // a later one is not; one bucket per pass (10 at once) or none would still exceed it.
      const interval = 60_000 / PER_MINUTE;
      for (let i = 0; i < times.length; i++) {
        for (let j = i + BURST; j < times.length; j++) {
          const allowed = BURST + Math.floor((times[j]! - times[i]! + SLACK_MS) / interval);
          assert.ok(j - i + 1 <= allowed, `${j - i + 1} requests in ${times[j]! - times[i]!} ms`);
        }
      }
      // Load only delays requests: no slack needed for the lower bound.
      assert.ok(times.at(-1)! - times[0]! >= (17 - BURST) * interval * 0.9, 'the creates were spread out');
    } finally {
      await sims.close();
    }
  });

  test("the configuration's worker settings reach the SDK's workers (cache, sticky queue, shutdown grace, the Gangway queue's rate)", async () => {
    const sims = await startSimulators(basicScenario(902).scenario);
    try {
      const base = simConfig(sims, tokenFile, {});
      const config: WatcherConfig = { ...base, maxCachedWorkflows: 7, stickyQueueTimeoutMs: 3000, shutdownGraceMs: 1500, gangway: { ...base.gangway, rateLimit: { perMinute: 90, burst: 5 } } };
      const workers = await createWatcherWorker({ config, connection: temporal.native, namespace: temporal.server.namespace, client: temporal.client, workflowBundle: temporal.bundle });
      // Created workers must run before they can be shut down: started, then stopped at once.
      await workers.runUntil(async () => undefined);
      assert.equal(workers.main.options.maxCachedWorkflows, 7);
      assert.equal(workers.main.options.stickyQueueScheduleToStartTimeoutMs, 3000);
      assert.equal(workers.main.options.shutdownGraceTimeMs, 1500);
      assert.equal(workers.main.options.taskQueue, config.taskQueue);
      assert.equal(workers.gangway.options.taskQueue, gangwayTaskQueue(config.taskQueue));
      assert.equal(workers.gangway.options.shutdownGraceTimeMs, 1500);
      assert.equal(workers.gangway.options.maxTaskQueueActivitiesPerSecond, 1.5);
    } finally {
      await sims.close();
    }
  });
});
