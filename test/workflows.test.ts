import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { WatcherConfig } from '../src/config/load';
import type { PassRequest } from '../src/domain/types';
import type { PassSummary } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import { findTemporalCli } from '../src/temporal/cliBinary';
import { ledgerWorkflowId } from '../src/domain/ledger';
import { pauseUpdate } from '../src/domain/ledgerMessages';
import { buildWatcher, summaryQuery } from '../src/workflows/buildWatcher';
import { CANARY_TOKEN, JOB_NAMES, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario, pullSpecOf, VERSIONS } from './helpers/scenarios';
import { historyToJSON } from './helpers/historyJson';
import { capturedLogs, startTestTemporal, type TestTemporal } from './helpers/temporal';
import { heldRequest, until } from './helpers/waiting';

const run = promisify(execFile);

/**
 * `temporal workflow query`, tried again (up to 5 times, 1 s apart) when the server answers
 * "Workflow is busy.": under a full suite's load the history service may not get the
 * workflow's lock in time, and an operator would simply ask again. Any other failure fails at once.
 */
async function cliQuery(cli: string, args: string[]): Promise<{ stdout: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(cli, args);
    } catch (err) {
      if (attempt >= 5 || !/Workflow is busy/i.test(String((err as Error).message))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

let temporal: TestTemporal;
let tokenFile: string;
const openSims: Simulators[] = [];
let seed = 100;

before(async () => {
  temporal = await startTestTemporal();
  tokenFile = writeTokenFile(tempDir());
});

after(async () => {
  for (const s of openSims) await s.close();
  await temporal?.stop();
});

async function setup(extra: Record<string, unknown> = {}, overrides: Partial<WatcherConfig> = {}) {
  const { scenario, tags } = basicScenario(++seed, extra);
  const sims = await startSimulators(scenario);
  openSims.push(sims);
  return { sims, tags, config: simConfig(sims, tokenFile, overrides) };
}

let passCounter = 0;
async function startPass(config: WatcherConfig, selection: PassRequest = {}) {
  return temporal.client.workflow.start(buildWatcher, {
    workflowId: `test-pass-${process.pid}-${++passCounter}`,
    taskQueue: config.taskQueue,
    args: [{ versions: VERSIONS, ...selection }],
  });
}

/** A pass on the worker the test runs (`withWorker`): started, then its result. */
async function pass(config: WatcherConfig, selection: PassRequest = {}): Promise<PassSummary> {
  return (await startPass(config, selection)).result();
}

function creates(sims: Simulators) {
  return sims.requests('gangway').filter((r) => r.method === 'POST');
}

describe('a pass on a real Temporal dev server with a real worker', () => {
  // Each scenario has its own simulators, task queue (so its own ledgers), payloads (the seed)
  // and in-process worker, started once for all its passes: they run side by side on the one
  // dev server. The token check below reads every history they made, so it runs after them.
  describe('scenarios side by side, one worker each', { concurrency: true }, () => {
    test('fans out one child per version, triggers every job with the payload pinned, findable by search attributes; a second pass is decided by the ledger alone and triggers nothing', async () => {
      const { sims, tags, config } = await setup();
      await temporal.withWorker(config, async () => {
        const summary = await pass(config);

        assert.equal(summary.state, 'done');
        assert.deepEqual(summary.versions.map((v) => v.version), VERSIONS);
        assert.deepEqual(summary.totals, { triggered: 15, skipped: 0, failed: 0, wouldTrigger: 0, versionsWithoutRelease: 0, versionsFailed: 0 });
        for (const v of summary.versions) {
          assert.equal(v.release?.name, tags[v.version as keyof typeof tags]);
          for (const j of v.jobs) {
            assert.equal(j.decision, 'triggered');
            assert.equal(j.httpStatus, 200);
            assert.match(j.executionId ?? '', /\w+/);
          }
        }
        // 4.20's newest tag is Rejected: the Accepted one is what gets pinned.
        const posts = creates(sims);
        assert.equal(posts.length, 15);
        const pinned = posts.map((p) => (p.body as { pod_spec_options: { envs: Record<string, string> } }).pod_spec_options.envs.RELEASE_IMAGE_LATEST);
        assert.deepEqual(new Set(pinned), new Set(Object.values(tags).map(pullSpecOf)));
        const body = posts[0].body as { job_execution_type: string; pod_spec_options: { labels: Record<string, string> } };
        assert.equal(body.job_execution_type, '1');
        assert.match(body.pod_spec_options.labels['osc-build-watcher/trigger-key'], /^tk-[0-9a-f]{16}$/);
        assert.equal(sims.counters()['deck.prowjobs'], 1, 'Deck is fetched once per pass, not per job or version');

        const child = await temporal.client.workflow.getHandle(`${summary.workflowId}/ocp-4.21`).describe();
        assert.equal(child.type, 'versionPass');

        // Triggers are findable by payload, version and job through search attributes (visibility lags: asked until it lists them).
        const query = `WorkflowType = 'triggerJob' AND OscPayload = '${tags['4.21']}'`;
        const list = async (q: string) => {
          const ids: string[] = [];
          for await (const wf of temporal.client.workflow.list({ query: q })) ids.push(wf.workflowId);
          return ids;
        };
        let found: string[] = [];
        await until(async () => (found = await list(query)).length >= 5, 'visibility lists the 4.21 triggers', { timeoutMs: 20_000, detail: () => `found ${found.length}` });
        assert.equal(found.length, 5);
        assert.equal((await list(`${query} AND OscJob = 'aws-ipi-coco' AND OscDecision = 'triggered'`)).length, 1);

        // Deck forgets (a fresh simulator state), the record in Temporal does not.
        sims.reset();
        const second = await pass(config);
        assert.equal(creates(sims).length, 0, 'nothing posted again');
        assert.equal(second.totals.triggered, 0);
        assert.equal(second.totals.skipped, 15);
        assert.match(second.versions[0].jobs[0].reason, /^already triggered by this watcher$/);
        for (const v of second.versions) {
          for (const j of v.jobs) {
            assert.equal(j.reason, 'already triggered by this watcher');
            const firstJob = summary.versions.find((x) => x.version === v.version)!.jobs.find((x) => x.job === j.job)!;
            assert.equal(j.executionId, firstJob.executionId, 'the ledger remembers the execution');
          }
          // Decided from the ledger: no trigger workflow was started (or collided with), so the
          // closed trigger records, which retention deletes, played no part.
          const history = await temporal.client.workflow.getHandle(`${second.workflowId}/ocp-${v.version}`).fetchHistory();
          const childStarts = (history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
          assert.equal(childStarts.length, 0, `${v.version}: no trigger workflow started`);
        }
        const ledger = await temporal.client.workflow.getHandle(`osc-ledger/${config.taskQueue}/ocp-4.21`).describe();
        assert.equal(ledger.status.name, 'RUNNING', 'the ledger never closes');
      });
    });

    test('skips what Deck shows succeeded or running for that exact payload, retriggers a failure', async () => {
      const t = String(seed + 1).padStart(6, '0');
      const payload421 = pullSpecOf(`4.21.0-0.nightly-2026-11-24-${t}`);
      const { sims, config } = await setup({
        deck: {
          prowJobs: [
            { job: JOB_NAMES[0], state: 'success', releaseImageLatest: payload421, startTime: '-3h', completionTime: '-1h' },
            { job: JOB_NAMES[1], state: 'pending', releaseImageLatest: payload421, startTime: '-1h' },
            { job: JOB_NAMES[2], state: 'failure', releaseImageLatest: payload421, startTime: '-5h', completionTime: '-4h' },
            // Another payload's success says nothing about this one.
            { job: JOB_NAMES[3], state: 'success', releaseImageLatest: pullSpecOf('4.21.0-0.nightly-2026-11-01-000000'), startTime: '-2h' },
          ],
        },
      });
      const summary = await temporal.withWorker(config, () => pass(config, { versions: ['4.21'] }));
      const byJob = Object.fromEntries(summary.versions[0].jobs.map((j) => [j.shortName, j]));
      assert.equal(byJob['azure-ipi-kata'].decision, 'skipped');
      assert.match(byJob['azure-ipi-kata'].reason, /already succeeded with this payload/);
      assert.equal(byJob['azure-ipi-peerpods'].decision, 'skipped');
      assert.match(byJob['azure-ipi-peerpods'].reason, /is pending with this payload/);
      assert.equal(byJob['azure-ipi-coco'].decision, 'triggered');
      assert.match(byJob['azure-ipi-coco'].reason, /ended failure/);
      assert.equal(byJob['aws-ipi-peerpods'].decision, 'triggered');
      assert.equal(creates(sims).length, 3);
    });

    test('two passes at the same time trigger each (job, payload) exactly once', async () => {
      const { sims, config } = await setup({ faults: [{ endpoint: 'gangway.create', latencyMs: 150 }] });
      const [a, b] = await temporal.withWorker(config, async () => {
        const [h1, h2] = await Promise.all([startPass(config), startPass(config)]);
        return Promise.all([h1.result(), h2.result()]);
      });
      assert.equal(creates(sims).length, 15);
      // A pass that meets the other's trigger in progress waits for it and reports its execution:
      // both passes name the same 15 executions, and none is "already triggered" before it was.
      for (const s of [a, b]) {
        assert.equal(s.totals.triggered + s.totals.skipped, 15);
        assert.equal(s.totals.failed, 0);
      }
      const executions = (s: PassSummary) => new Set(s.versions.flatMap((v) => v.jobs.map((j) => j.executionId)));
      assert.deepEqual(executions(a), executions(b));
      assert.equal(executions(a).size, 15);
      const keys = creates(sims).map((p) => JSON.stringify([(p.body as { job_name: string }).job_name, (p.body as { pod_spec_options: { envs: object } }).pod_spec_options.envs]));
      assert.equal(new Set(keys).size, 15);
    });

    test('a failing release controller for one version leaves the others done; with Deck unavailable the pass still decides from its own records', async () => {
      const { sims, config } = await setup({
        faults: [
          { endpoint: 'rc.latest', match: '4.20.0-0.nightly', status: 503 },
          { endpoint: 'deck.prowjobs', status: 401, body: 'Unauthorized' },
        ],
      });
      const summary = await temporal.withWorker(config, () => pass(config, { versions: ['4.20', '4.21'] }));
      const v420 = summary.versions.find((v) => v.version === '4.20')!;
      assert.equal(v420.state, 'error');
      assert.match(v420.releaseError ?? '', /HTTP 503/);
      assert.equal(summary.versions.find((v) => v.version === '4.21')!.state, 'done');
      assert.equal(summary.totals.triggered, 5);
      assert.equal(summary.totals.versionsFailed, 1);
      // Transient: retried up to maximumAttempts (3) before giving up.
      assert.equal(sims.requests('release-controller').filter((r) => r.path.includes('4.20')).length, 3);
      // Deck answered 401: unavailable, and 4.21's jobs were decided from the watcher's own records.
      assert.equal(summary.deck.state, 'unavailable');
      assert.equal(creates(sims).length, 5);
    });

    test('upstream data that cannot be a label or is not Accepted is refused with a reason, and nothing is posted; no Accepted tag is a normal state, an unknown stream an error', async () => {
      const tagAnswer = (name: string, phase = 'Accepted', pullSpec = pullSpecOf(name)) =>
        JSON.stringify({ name, phase, pullSpec, downloadURL: 'https://example.invalid' });
      const longName = `4.20.0-0.nightly-2026-11-22-${'1'.repeat(40)}`;
      // 4.18 has only a Rejected tag (no Accepted one: a normal state) and 4.22 no stream at all.
      const { sims, config } = await setup({
        faults: [
          { endpoint: 'rc.latest', match: '4.19.0-0.nightly', status: 200, contentType: 'application/json', body: tagAnswer('4.19.0-0.nightly-2026-11-23-000001;rm -rf', 'Accepted', pullSpecOf('4.19.0-0.nightly-2026-11-23-000001')) },
          { endpoint: 'rc.latest', match: '4.20.0-0.nightly', status: 200, contentType: 'application/json', body: tagAnswer(longName) },
          { endpoint: 'rc.latest', match: '4.21.0-0.nightly', status: 200, contentType: 'application/json', body: tagAnswer('4.21.0-0.nightly-2026-11-24-000001', 'Rejected') },
          { endpoint: 'rc.latest', match: '4.17.0-0.nightly', status: 200, contentType: 'application/json', body: tagAnswer('4.17.0-0.nightly-2026-11-24-000001', 'Accepted', 'registry.example/ocp release:x') },
        ],
      });
      const summary = await temporal.withWorker(config, () => pass(config, { versions: ['4.17', '4.18', ...VERSIONS, '4.22'] }));
      const byVersion = Object.fromEntries(summary.versions.map((v) => [v.version, v]));
      for (const v of ['4.19', '4.20']) {
        assert.equal(byVersion[v]!.jobs.length, 5);
        for (const job of byVersion[v]!.jobs) {
          assert.equal(job.decision, 'skipped');
          assert.match(job.reason, /is not a valid label value \(at most 63 characters of A-Za-z0-9\._-\); not triggering/);
        }
      }
      assert.match(byVersion['4.19']!.jobs[0]!.reason, /;rm -rf/);
      assert.equal(byVersion['4.21']!.state, 'error');
      assert.match(byVersion['4.21']!.releaseError ?? '', /newest tag 4\.21\.0-0\.nightly-2026-11-24-000001 is Rejected, not Accepted/);
      assert.equal(byVersion['4.17']!.state, 'error');
      assert.match(byVersion['4.17']!.releaseError ?? '', /pullSpec of 4\.17\.0-0\.nightly-2026-11-24-000001 has unexpected characters/);
      assert.equal(byVersion['4.18']!.state, 'no-release');
      assert.match(byVersion['4.18']!.releaseError ?? '', /no tags exist within the release that satisfy the request/);
      assert.equal(byVersion['4.22']!.state, 'error');
      assert.match(byVersion['4.22']!.releaseError ?? '', /HTTP 404|no release configuration exists/);
      assert.equal(summary.totals.versionsWithoutRelease, 1);
      assert.equal(summary.totals.versionsFailed, 3);
      assert.equal(creates(sims).length, 0);
      // Permanent answers: each stream asked once, not retried.
      assert.equal(sims.requests('release-controller').length, 6);
    });

    test('429 is retried after Retry-After, then succeeds', async () => {
      const { sims, config } = await setup({
        faults: [{ endpoint: 'gangway.create', status: 429, headers: { 'Retry-After': '1' }, times: 1 }],
      });
      const summary = await temporal.withWorker(config, () => pass(config, { versions: ['4.21'], jobs: ['azure-ipi-kata'] }));
      assert.equal(summary.totals.triggered, 1);
      const posts = creates(sims);
      assert.equal(posts.length, 2);
      const gap = Date.parse(posts[1].time) - Date.parse(posts[0].time);
      // A lower bound only: it cannot flake under load.
      assert.ok(gap >= 900, `second attempt waited for Retry-After (gap ${gap} ms)`);
    });

    test('the summary query answers mid-run, and the temporal CLI reads it too', async () => {
      // One create held by Gangway (after it made the job) until both reads are done: the pass is
      // mid-run for as long as the test needs, on any load. A long HTTP timeout: the held request
      // must not time out meanwhile.
      const { sims, config } = await setup(
        { faults: [{ endpoint: 'gangway.create', matchBody: `${JOB_NAMES[4]}"`, hold: 'after', times: 1 }] },
        { httpTimeoutMs: 120_000 },
      );
      await temporal.withWorker(config, async () => {
        const handle = await startPass(config, { versions: ['4.21'] });
        const held = await heldRequest(sims, 'gangway.create', 'the aws-ipi-coco create held');
        // Progress reaches the pass in batches (at most every 2 s): some jobs triggered, the held one pending.
        let mid: PassSummary | undefined;
        await until(
          async () => {
            const s = await handle.query(summaryQuery);
            const jobs = s.versions.flatMap((v) => v.jobs);
            if (jobs.some((j) => j.decision === 'triggered') && jobs.some((j) => j.decision === 'pending')) mid = s;
            return mid !== undefined;
          },
          'a summary with some jobs triggered and the held one still pending',
        );
        assert.equal(mid!.state, 'running');
        assert.ok(mid!.totals.triggered > 0 && mid!.totals.triggered < 5, JSON.stringify(mid!.totals));

        const cli = findTemporalCli();
        assert.ok(cli, 'temporal CLI available');
        const { stdout } = await cliQuery(cli.path, ['workflow', 'query', '--address', temporal.server.address, '--namespace', temporal.server.namespace, '--workflow-id', handle.workflowId, '--type', 'summary', '--output', 'json']);
        const answer = JSON.parse(stdout) as { queryResult: PassSummary[] };
        assert.equal(answer.queryResult[0].workflowId, handle.workflowId);
        assert.equal(answer.queryResult[0].state, 'running');
        sims.release(held.id);
        const done = await handle.result();
        assert.equal(done.totals.triggered, 5);
      });
    });

    test('a dry run decides but posts nothing; after a real pass it shows the records; on a paused version it says so, as a pass would', async () => {
      const { sims, config } = await setup();
      await temporal.withWorker(config, async () => {
        const dry = await pass(config, { dryRun: true, versions: ['4.21'] });
        assert.equal(dry.totals.wouldTrigger, 5);
        assert.equal(dry.totals.triggered, 0);
        assert.equal(creates(sims).length, 0);
        await pass(config, { versions: ['4.21'] });
        const dryAgain = await pass(config, { dryRun: true, versions: ['4.21'] });
        assert.equal(dryAgain.totals.skipped, 5);
        assert.equal(creates(sims).length, 5);

        // A newer nightly on a paused version: the ledger would refuse every claim, and the dry
        // run asks it (it read only the trigger records before, and said "would trigger").
        await temporal.client.workflow.getHandle(ledgerWorkflowId(config.taskQueue, '4.21')).executeUpdate(pauseUpdate, { args: [{ note: 'Prow outage' }] });
        const newer = dry.versions[0]!.release!.name.replace(/\d{4}-\d{2}-\d{2}-\d{6}$/, '2026-12-31-000000');
        sims.addTag('4.21.0-0.nightly', { name: newer, phase: 'Accepted' });
        const dryPaused = await pass(config, { dryRun: true, versions: ['4.21'] });
        assert.equal(dryPaused.versions[0]!.release?.name, newer);
        assert.deepEqual(
          [...new Set(dryPaused.versions[0]!.jobs.map((j) => `${j.decision}: ${j.reason}`))],
          ['skipped: OCP 4.21 is paused (Prow outage); nothing is triggered until it is resumed'],
        );
        assert.equal(creates(sims).length, 5);
      });
    });
  });

  // A permanent Gangway error (403: not retried, reported with its status, a later pass retries
  // it) is in test/retention.test.ts, on a worker that cannot use visibility; so is a stream that
  // went back to an older nightly than one already triggered.

  test('the canary token appears in no history and no log line', async () => {
    const ids: string[] = [];
    for await (const wf of temporal.client.workflow.list()) ids.push(wf.workflowId);
    assert.ok(ids.length > 30, `checked ${ids.length} workflows`);
    let sawPinnedPayload = false;
    // Each history as `temporal workflow show --output json` prints it (historyToJSON), read
    // through the client a few at a time rather than by one CLI process per workflow.
    const shown = async (id: string) => historyToJSON(await temporal.client.workflow.getHandle(id).fetchHistory());
    for (let i = 0; i < ids.length; i += 8) {
      const batch = ids.slice(i, i + 8);
      const docs = await Promise.all(batch.map(shown));
      for (const [j, json] of docs.entries()) {
        // Payloads are base64 in the JSON: search them decoded, or a leak would hide.
        const text = `${json}\n${decodedPayloads(JSON.parse(json)).join('\n')}`;
        assert.ok(!text.includes(CANARY_TOKEN), `token leaked into history of ${batch[j]}`);
        // The search must look where the token would be: trigger inputs carry the request.
        if (text.includes('osc-build-watcher/pull-spec')) sawPinnedPayload = true;
      }
    }
    assert.ok(sawPinnedPayload, 'the histories searched include trigger requests');
    assert.ok(capturedLogs.length > 0);
    assert.ok(!capturedLogs.some((l) => l.includes(CANARY_TOKEN)), 'token leaked into a log line');
  });
});

/** Every payload's data in a `temporal workflow show --output json` document, decoded. */
function decodedPayloads(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => decodedPayloads(n, out));
  else if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if (typeof obj.data === 'string' && obj.metadata && typeof obj.metadata === 'object') out.push(Buffer.from(obj.data, 'base64').toString('utf8'));
    Object.values(obj).forEach((v) => decodedPayloads(v, out));
  }
  return out;
}
