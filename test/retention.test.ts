import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { WatcherConfig } from '../src/config/load';
import { emptyLedgerState, Ledger, ledgerWorkflowId } from '../src/domain/ledger';
import type { PassRequest, PassSummary } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import { createWatcherWorker } from '../src/worker';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario, VERSIONS } from './helpers/scenarios';
import { startTestTemporalWith, type TestTemporal } from './helpers/temporal';

// The ledger (queries and Updates, strongly consistent) is the record; visibility (list, count:
// eventually consistent) is on no path a decision takes. The worker here has a Temporal client
// whose visibility calls throw and are counted, and the passes must decide exactly as before.

let temporal: TestTemporal;
let blind: Client;
const visibilityCalls: string[] = [];
const openSims: Simulators[] = [];
const tokenFile = writeTokenFile(tempDir());

// The server checkpoints its transfer queue every second rather than every 30 s: a workflow
// deleted right after it closed (as here, not days later as retention does) is removed once its
// close tasks are checkpointed, about 4 s instead of 20 s.
const QUICK_DELETE = ['history.transferProcessorUpdateAckInterval="1s"', 'history.visibilityProcessorUpdateAckInterval="1s"'];

before(async () => {
  temporal = await startTestTemporalWith({ dynamicConfigValues: QUICK_DELETE });
  blind = new Client({ connection: temporal.client.connection, namespace: temporal.server.namespace });
  const refuse = (name: string) => () => {
    visibilityCalls.push(name);
    throw new Error(`visibility ${name} used on a decision path`);
  };
  Object.assign(blind.workflow, { list: refuse('list'), count: refuse('count') });
});

after(async () => {
  for (const s of openSims) await s.close();
  await temporal?.stop();
});

let seed = 700;
async function setup(extra: Record<string, unknown> = {}) {
  const { scenario, tags } = basicScenario(++seed, extra);
  const sims = await startSimulators(scenario);
  openSims.push(sims);
  return { sims, tags, config: simConfig(sims, tokenFile) };
}

let passCounter = 0;
/** A worker whose client cannot search visibility, run until `fn` settles. */
async function withBlindWorker<T>(config: WatcherConfig, fn: () => Promise<T>): Promise<T> {
  const worker = await createWatcherWorker({ config, connection: temporal.native, namespace: temporal.server.namespace, client: blind, workflowBundle: temporal.bundle });
  return worker.runUntil(fn);
}

/** A pass on the blind worker the test runs. */
async function pass(config: WatcherConfig, request: PassRequest = { versions: VERSIONS }): Promise<PassSummary> {
  return (await temporal.client.workflow.start(buildWatcher, { workflowId: `retention-${process.pid}-${++passCounter}`, taskQueue: config.taskQueue, args: [request] })).result();
}

const creates = (sims: Simulators) => sims.requests('gangway').filter((r) => r.method === 'POST' && r.status !== 0);

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the ledger says whether a trigger has earlier tries to look for (no server)', () => {
  const JOB = { name: 'periodic-x-azure-ipi-kata', shortName: 'azure-ipi-kata' };
  const P = '4.21.0-0.nightly-2026-11-24-000000';
  const claim = (ledger: Ledger, at: string, claimant = 'osc-trigger/x') => ledger.claim({ payload: P, pullSpec: `r:${P}`, job: JOB, claimant }, at);

  test('a first claim has none; after a failed try, since that try was claimed', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    assert.deepEqual(claim(ledger, '2026-11-24T01:00:00.000Z'), { granted: true, attempt: 1 });
    assert.equal(ledger.earlierTriesSince(P, JOB.name), null, 'a first attempt posts at once');
    ledger.recordTrigger({ payload: P, job: JOB.name, attempt: 1, outcome: { failed: 'timed out' } }, '2026-11-24T01:30:00.000Z');
    assert.deepEqual(claim(ledger, '2026-11-25T01:00:00.000Z'), { granted: true, attempt: 2 });
    assert.equal(ledger.earlierTriesSince(P, JOB.name), '2026-11-24T01:00:00.000Z');
    ledger.recordTrigger({ payload: P, job: JOB.name, attempt: 2, outcome: { executionId: 'e2' } }, '2026-11-25T01:00:05.000Z');
    assert.equal(ledger.earlierTriesSince('4.21.0-0.nightly-2026-11-23-000000', JOB.name), null, 'a payload it does not have');
  });

  test('an attempt granted again to its claimant (its outcome never recorded): since its first claim', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    claim(ledger, '2026-11-24T01:00:00.000Z');
    assert.equal(ledger.earlierTriesSince(P, JOB.name), null);
    assert.deepEqual(claim(ledger, '2026-11-25T01:00:00.000Z'), { granted: true, attempt: 1, regranted: true });
    assert.equal(ledger.earlierTriesSince(P, JOB.name), '2026-11-24T01:00:00.000Z');
  });
});

describe('the ledger is the record; visibility is on no decision path', { concurrency: true }, () => {
  // Side by side: each test has its own simulators, task queue (so its own ledgers), payloads
  // and worker; the retention test deletes only what its own watcher (task queue) made.
  test('a permanent Gangway error is not retried and is reported with its status; the next pass retries it and looks first (the ledger says a try may have posted); a third pass triggers nothing; no visibility call', async () => {
    const { sims, config } = await setup({ faults: [{ endpoint: 'gangway.create', status: 403, body: 'Forbidden' }] });
    await withBlindWorker(config, async () => {
      const first = await pass(config, { versions: ['4.21'] });
      assert.equal(first.totals.failed, 5);
      const job = first.versions[0]!.jobs[0]!;
      assert.equal(job.decision, 'failed');
      assert.equal(job.httpStatus, 403);
      assert.match(job.reason, /HTTP 403/);
      assert.equal(sims.requests('gangway').filter((r) => r.method === 'POST').length, 5, '403 is not retried');
      sims.clearFaults();
      const listsBefore = sims.requests('gangway').filter((r) => r.method === 'GET').length;
      assert.equal(listsBefore, 0, 'first attempts post without looking');

      const second = await pass(config, { versions: ['4.21'] });
      assert.equal(second.totals.triggered, 5, `a failed trigger does not block the next pass: ${JSON.stringify(second.versions[0]?.jobs)}`);
      // Each retried trigger (a new run of the failed trigger workflow) listed Gangway's executions first.
      const lists = sims.requests('gangway').filter((r) => r.method === 'GET' && r.path === '/v1/executions');
      assert.equal(lists.length, 5, 'one lookup per retried trigger, from the ledger\'s record of the failed try');
      assert.equal(sims.counters()['gangway.created'], 5);

      const third = await pass(config, { versions: ['4.21'] });
      assert.equal(third.totals.skipped, 5);
      assert.equal(sims.counters()['gangway.created'], 5);
    });
    assert.deepEqual(visibilityCalls, []);
  });

  test('the stream going back is seen from the ledger alone', async () => {
    const { sims, config } = await setup();
    await withBlindWorker(config, async () => {
      const first = await pass(config, { versions: ['4.21'] });
      const newest = first.versions[0]!.release!.name;
      // The newest tag is rejected after the fact: the stream's newest Accepted is now older.
      sims.addTag('4.21.0-0.nightly', { name: newest, phase: 'Rejected' });
      const older = newest.replace('2026-11-24', '2026-11-20');
      sims.addTag('4.21.0-0.nightly', { name: older, phase: 'Accepted' });
      const summary = await pass(config, { versions: ['4.21'] });
      assert.equal(summary.versions[0]!.release?.name, older);
      assert.ok(summary.versions[0]!.jobs.every((j) => j.decision === 'skipped' && j.reason.includes(`older than ${newest}`)), JSON.stringify(summary.versions[0]!.jobs[0]));
      assert.equal(sims.counters()['gangway.created'], 5);
    });
    assert.deepEqual(visibilityCalls, []);
  });

  test('deleting every closed workflow the watcher made, and Deck forgetting, then a pass: nothing new is triggered', { timeout: 300_000 }, async () => {
    const { sims, tags, config } = await setup();
    const first = await withBlindWorker(config, () => pass(config));
    assert.equal(first.totals.triggered, 15);

    // What retention does: every closed workflow goes (passes, version passes, trigger records,
    // permits): here all those of this watcher's task queue, where all of them run, so that
    // the tests beside this one keep theirs.
    const t0 = Date.now();
    const closed = new Map<string, string>();
    const query = `TaskQueue = '${config.taskQueue}' AND ExecutionStatus != "Running"`;
    await until(
      'visibility to list the 15 closed trigger records',
      async () => {
        for await (const w of temporal.client.workflow.list({ query })) closed.set(`${w.workflowId}\u0000${w.runId}`, w.type);
        const ours = [...closed].filter(([key, type]) => type === 'triggerJob' && Object.values(tags).some((t) => key.includes(`/${t}\u0000`)));
        return ours.length >= 15 && [...closed.keys()].some((k) => k.startsWith(`${first.workflowId}\u0000`));
      },
      60_000,
    );
    process.stdout.write(`# listed ${closed.size} after ${Date.now() - t0} ms\n`);
    // The dev server deletes in the background: wait until each is really gone.
    await Promise.all(
      [...closed.keys()].map(async (key) => {
        const [workflowId, runId] = key.split('\u0000') as [string, string];
        await temporal.client.workflowService.deleteWorkflowExecution({ namespace: temporal.server.namespace, workflowExecution: { workflowId, runId } });
        await until(
          `${workflowId} deleted`,
          async () => {
            try {
              await temporal.client.workflow.getHandle(workflowId, runId).describe();
              return false;
            } catch (err) {
              if (err instanceof WorkflowNotFoundError) return true;
              throw err;
            }
          },
          120_000,
        );
      }),
    );
    process.stdout.write(`# deleted after ${Date.now() - t0} ms\n`);
    const ledger = await temporal.client.workflow.getHandle(ledgerWorkflowId(config.taskQueue, '4.21')).describe();
    assert.equal(ledger.status.name, 'RUNNING', 'the ledgers never close, so retention never takes them');

    // What Prow's sinker does: Deck's old ProwJobs gone.
    sims.reset();
    assert.equal(sims.prowJobs().length, 0);
    // A dry run first: it asks the ledger too, so it says what the pass below does (it read only
    // the trigger records before, and said "would trigger" for all 15 once they were gone).
    const dry = await withBlindWorker(config, () => pass(config, { versions: VERSIONS, dryRun: true }));
    assert.equal(dry.totals.wouldTrigger, 0);
    assert.equal(dry.totals.skipped, 15);
    assert.ok(dry.versions.every((v) => v.jobs.every((j) => j.reason === 'already triggered by this watcher' && j.executionId)), JSON.stringify(dry.versions[0]?.jobs[0]));
    const second = await withBlindWorker(config, () => pass(config));
    assert.equal(creates(sims).length, 0, '0 new creates: the ledger remembers');
    assert.equal(second.totals.triggered, 0);
    assert.equal(second.totals.skipped, 15);
    assert.ok(second.versions.every((v) => v.jobs.every((j) => j.reason === 'already triggered by this watcher' && j.executionId)), JSON.stringify(second.versions[0]?.jobs[0]));
    assert.deepEqual(visibilityCalls, []);
  });
});
