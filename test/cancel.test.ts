import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GangwayClient, type CreateExecutionRequest } from '../src/clients/gangway';
import { RateLimiter } from '../src/clients/rateLimiter';
import { UpstreamError } from '../src/clients/errors';
import type { WatcherConfig } from '../src/config/load';
import type { PassSummary } from '../src/domain/types';
import { parseScenario, startSimulators, type Simulators } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { CANARY_TOKEN, JOB_NAMES, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { serverOnly } from './helpers/layers';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const posts = (sims: Simulators) => sims.requests('gangway').filter((r) => r.method === 'POST');

describe('a Gangway create honours its cancellation (no server)', () => {
  let sims: Simulators;
  before(async () => {
    sims = await startSimulators(parseScenario({ gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES } }));
  });
  after(async () => sims?.close());

  const request = (): CreateExecutionRequest => ({ jobName: JOB_NAMES[0]!, envs: {}, labels: { 'osc-build-watcher/trigger-key': 'tk-0123456789abcdef' }, annotations: {} });
  const client = (rateLimiter?: RateLimiter) =>
    new GangwayClient({ baseUrl: sims.gangwayUrl, timeoutMs: 30_000, createForm: 'body', token: async () => CANARY_TOKEN, ...(rateLimiter ? { rateLimiter } : {}) });

  test('an abort while the create waits for a rate-limit slot: nothing is sent, the abort reason is the error', async () => {
    sims.reset();
    const limiter = new RateLimiter(6, 1); // one at once, then one every 10 s
    const c = client(limiter);
    await c.createExecution(request());
    const controller = new AbortController();
    const reason = new UpstreamError('gangway', 'attempt out of time', true);
    const started = Date.now();
    setTimeout(() => controller.abort(reason), 200);
    await assert.rejects(c.createExecution(request(), { signal: controller.signal }), (e) => e === reason);
    assert.ok(Date.now() - started < 5000, 'the wait ended with the abort, not with the slot');
    assert.equal(posts(sims).length, 1, 'the aborted create was never sent');
    // An aborted signal sends nothing at all.
    await assert.rejects(client().createExecution(request(), { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(posts(sims).length, 1);
  });

  test('an abort while the create is under way cuts the request: Gangway drops it, nothing is created', async () => {
    sims.reset();
    sims.addFault({ endpoint: 'gangway.create', hold: 'before', times: 1 });
    const controller = new AbortController();
    const pending = client().createExecution(request(), { signal: controller.signal });
    await until('the create held', () => sims.held().length === 1);
    controller.abort(new UpstreamError('gangway', 'cancelled', true));
    await assert.rejects(pending, /cancelled/);
    await until('the client gone', () => sims.held()[0]?.clientGone === true);
    sims.releaseAll();
    await until('the held create answered', () => posts(sims).length === 1);
    assert.equal(posts(sims)[0]!.status, 0, 'dropped: its client had hung up');
    assert.equal(sims.counters()['gangway.created'] ?? 0, 0);
  });
});

describe('a held create past its attempt timeout, on a real Temporal dev server', serverOnly, () => {
  let temporal: TestTemporal;
  before(async () => {
    temporal = await startTestTemporal();
  });
  after(async () => temporal?.stop());

  test('the abandoned attempt is cut off before the next one starts: exactly one POST acted on, one ProwJob', { timeout: 120_000 }, async () => {
    const { scenario } = basicScenario(900);
    const sims = await startSimulators(scenario);
    try {
      const base = simConfig(sims, writeTokenFile(tempDir()));
      // The attempt times out after 4 s; the client would wait 30 s for Gangway's answer.
      const config: WatcherConfig = {
        ...base,
        httpTimeoutMs: 30_000,
        trigger: { ...base.trigger, inFlightGraceMs: 1000, attemptTimeoutMs: 4000, heartbeatTimeoutMs: 2000 },
        retry: { ...base.retry, maximumAttempts: 4 },
      };
      sims.addFault({ endpoint: 'gangway.create', hold: 'before', times: 1 });
      let cutOffBeforeNextPosted: boolean | undefined;
      const summary = await temporal.withWorker(config, async () => {
        const handle = await temporal.client.workflow.start(buildWatcher, {
          workflowId: `held-create-${process.pid}`,
          taskQueue: config.taskQueue,
          args: [{ versions: ['4.21'], jobs: ['azure-ipi-kata'] }],
        });
        await until('the first create held', () => sims.held().length === 1);
        // Attempt 2 looks for what attempt 1 created (nothing), then posts.
        await until('attempt 2 posted', () => posts(sims).some((p) => p.status === 200));
        // Attempt 1 gave up before its timeout: its request was cut, Gangway saw its client go.
        cutOffBeforeNextPosted = sims.held()[0]?.clientGone;
        // Only now is attempt 1's create let through, as a slow proxy might: it must do nothing.
        sims.releaseAll();
        await until('the held create answered', () => posts(sims).length === 2);
        return (await handle.result()) as PassSummary;
      });
      assert.equal(cutOffBeforeNextPosted, true, 'the abandoned attempt had hung up before the next one posted');
      assert.equal(summary.totals.triggered, 1, JSON.stringify(summary.versions[0]?.jobs));
      const all = posts(sims);
      assert.deepEqual(all.map((p) => p.status).sort(), [0, 200], 'two POSTs arrived: the abandoned one dropped, the next acted on');
      assert.equal(all.filter((p) => p.status !== 0).length, 1, 'exactly one POST acted on');
      assert.equal(sims.counters()['gangway.created'], 1, 'exactly one ProwJob');
      const list = sims.requests('gangway').find((r) => r.method === 'GET' && r.path === '/v1/executions');
      assert.ok(list, 'attempt 2 looked for an earlier execution before it posted');
    } finally {
      await sims.close();
    }
  });
});
