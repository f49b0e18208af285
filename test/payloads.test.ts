import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { parseAcceptedTags, ReleaseControllerClient } from '../src/clients/releaseController';
import { formatReport } from '../src/cli/report';
import { ConfigError, loadConfig, type WatcherConfig } from '../src/config/load';
import { resolvePassPlan } from '../src/config/plan';
import { Ledger, emptyLedgerState } from '../src/domain/ledger';
import { choosePayloads } from '../src/domain/payloads';
import { previousPayloads } from '../src/domain/previous';
import { countTotals } from '../src/domain/summary';
import type { PassSummary, Release } from '../src/domain/types';
import { parseScenario, startSimulators, type Simulators } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { CANARY_TOKEN, JOB_NAMES, JOB_SUFFIXES, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { pullSpecOf } from './helpers/scenarios';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { startWorker, type RunningWorker } from './helpers/runningWorker';
import { serverOnly } from './helpers/layers';

const STREAM = '4.21.0-0.nightly';
/** Jobs per payload in the dev-server test. */
const JOBS = 2;
const tag = (day: number, t = '000000') => `4.21.0-0.nightly-2026-11-${String(day).padStart(2, '0')}-${t}`;
const rel = (name: string): Release => ({ name, pullSpec: pullSpecOf(name), phase: 'Accepted' });

describe('which payloads a pass triggers (no server)', () => {
  const accepted = [rel(tag(24)), rel(tag(20)), rel(tag(22)), rel(tag(21)), rel(tag(23))];

  test('every: newer than the newest triggered, oldest first, at most maxPerPass', () => {
    assert.deepEqual(choosePayloads(accepted, tag(20), 3).map((r) => r.name), [tag(21), tag(22), tag(23)]);
    assert.deepEqual(choosePayloads(accepted, tag(22), 3).map((r) => r.name), [tag(23), tag(24)]);
    assert.deepEqual(choosePayloads(accepted, tag(20), 1).map((r) => r.name), [tag(21)]);
  });

  test('every: nothing newer, or nothing triggered yet: the newest alone, as in latest mode', () => {
    assert.deepEqual(choosePayloads(accepted, tag(24), 3).map((r) => r.name), [tag(24)]);
    assert.deepEqual(choosePayloads(accepted, tag(25), 3).map((r) => r.name), [tag(24)], 'the stream went back: the pass reports it');
    assert.deepEqual(choosePayloads(accepted, null, 3).map((r) => r.name), [tag(24)]);
    assert.deepEqual(choosePayloads([], tag(20), 3), []);
  });

  test("the release controller's tag list: Accepted tags, pullSpecs checked, null tags is none", () => {
    const body = JSON.stringify({
      name: STREAM,
      tags: [
        { name: tag(24), phase: 'Accepted', pullSpec: pullSpecOf(tag(24)), downloadURL: 'https://x' },
        { name: tag(23), phase: 'Rejected', pullSpec: pullSpecOf(tag(23)) },
      ],
    });
    assert.deepEqual(parseAcceptedTags(body), [rel(tag(24))]);
    assert.deepEqual(parseAcceptedTags(JSON.stringify({ name: STREAM, tags: null })), []);
    assert.throws(() => parseAcceptedTags(JSON.stringify({ name: STREAM, tags: [{ name: tag(1), phase: 'Accepted', pullSpec: 'a b' }] })), /unexpected characters/);
    assert.throws(() => parseAcceptedTags('<html>'), /not JSON/);
  });

  test('config: payloads latest (default), every, or {mode, maxPerPass} (default 3); a bad value is one line', () => {
    const dir = tempDir();
    const load = (text: string) => {
      const file = path.join(dir, `c-${Math.random()}.yaml`);
      writeFileSync(file, text);
      return loadConfig({ configPath: file, env: {} });
    };
    assert.deepEqual(loadConfig({ env: {} }).payloads, { mode: 'latest', maxPerPass: 3 });
    assert.deepEqual(load('payloads: every\n').payloads, { mode: 'every', maxPerPass: 3 });
    assert.deepEqual(load('payloads: { mode: every, maxPerPass: 5 }\n').payloads, { mode: 'every', maxPerPass: 5 });
    for (const bad of ['payloads: all\n', 'payloads: { mode: every, maxPerPass: 0 }\n', 'payloads: { every: true }\n']) {
      assert.throws(() => load(bad), (e: unknown) => e instanceof ConfigError && /payloads/.test(e.message) && !e.message.includes('\n'), bad);
    }
    // Only `every` reaches the pass's settings: a `latest` pass's input and history stay as they were.
    assert.equal(resolvePassPlan(loadConfig({ env: {} })).settings.payloads, undefined);
    assert.deepEqual(resolvePassPlan(load('payloads: every\n')).settings.payloads, { mode: 'every', maxPerPass: 3 });
  });

  test("the look back: the newest previous payloads of the ledger's matrix, one small line per job", () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const job = (i: number) => ({ name: JOB_NAMES[i]!, shortName: JOB_SUFFIXES[i]! });
    for (const day of [20, 21, 22, 23]) {
      for (const i of [0, 1]) {
        const claim = ledger.claim({ payload: tag(day), pullSpec: pullSpecOf(tag(day)), job: job(i) }, '2026-11-25T00:00:00Z');
        assert.ok(claim.granted);
        ledger.recordTrigger({ payload: tag(day), job: job(i).name, attempt: 1, outcome: i === 0 ? { executionId: `e-${day}` } : { failed: 'HTTP 503' } }, '2026-11-25T00:00:01Z');
      }
    }
    ledger.recordVerdict({ payload: tag(22), job: job(0).name, attempt: 1, state: 'success' }, '2026-11-25T03:00:00Z');
    const previous = previousPayloads(ledger.matrix(), [tag(23)], 2);
    assert.deepEqual(previous, [
      { name: tag(22), jobs: [{ shortName: 'azure-ipi-kata', verdict: 'success', attempts: 1 }, { shortName: 'azure-ipi-peerpods', verdict: 'failed-to-trigger', attempts: 1 }] },
      { name: tag(21), jobs: [{ shortName: 'azure-ipi-kata', verdict: 'pending', attempts: 1 }, { shortName: 'azure-ipi-peerpods', verdict: 'failed-to-trigger', attempts: 1 }] },
    ]);
    assert.deepEqual(previousPayloads(undefined, [], 3), []);
    // In the configured order of the jobs, whatever order they were claimed in.
    assert.deepEqual(previousPayloads(ledger.matrix(), [], 1, ['azure-ipi-peerpods', 'azure-ipi-kata'])[0]!.jobs.map((j) => j.shortName), ['azure-ipi-peerpods', 'azure-ipi-kata']);
  });
});

describe('payloads: every, on a real Temporal dev server with a real worker', serverOnly, () => {
  let temporal: TestTemporal;
  let sims: Simulators;
  let config: WatcherConfig;
  let worker: RunningWorker | undefined;

  before(async () => {
    temporal = await startTestTemporal();
    sims = await startSimulators(
      parseScenario({
        releaseController: { streams: { [STREAM]: { tags: [{ name: tag(20), phase: 'Accepted' }] } } },
        gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES },
      }),
    );
    const base = simConfig(sims, writeTokenFile(tempDir()));
    // Two jobs a payload: what is shown is which payloads, not how many jobs (fewer triggers, less CPU).
    config = { ...base, versions: base.versions.map((v) => ({ ...v, jobs: v.jobs.slice(0, JOBS) })), payloads: { mode: 'every', maxPerPass: 2 } };
    // One worker for the four passes.
    worker = await startWorker(temporal, config);
  });

  after(async () => {
    await worker?.stop();
    await sims?.close();
    await temporal?.stop();
  });

  let passes = 0;
  async function runPass(): Promise<PassSummary> {
    return temporal.client.workflow.execute(buildWatcher, { workflowId: `every-${process.pid}-${++passes}`, taskQueue: config.taskQueue, args: [{ versions: ['4.21'] }] });
  }
  const pinned = () =>
    sims
      .requests('gangway')
      .filter((r) => r.method === 'POST' && r.status === 200)
      .map((r) => (r.body as { pod_spec_options: { envs: Record<string, string> } }).pod_spec_options.envs.RELEASE_IMAGE_LATEST);

  test('catches up oldest first, at most maxPerPass a pass; then nothing new; the report looks back', async () => {
    // Nothing triggered yet: the newest alone, no backlog.
    const first = await runPass();
    assert.equal(first.totals.triggered, JOBS);
    assert.equal(first.versions[0]!.earlier, undefined);
    assert.deepEqual(new Set(pinned()), new Set([pullSpecOf(tag(20))]));

    // Four newer nightlies, one of them Rejected.
    sims.addTag(STREAM, { name: tag(21), phase: 'Accepted' });
    sims.addTag(STREAM, { name: tag(22), phase: 'Rejected' });
    sims.addTag(STREAM, { name: tag(23), phase: 'Accepted' });
    sims.addTag(STREAM, { name: tag(24), phase: 'Accepted' });
    const second = await runPass();
    const v2 = second.versions[0]!;
    assert.equal(v2.release?.name, tag(23), 'the newest chosen is the pass\'s release');
    assert.deepEqual(v2.earlier?.map((e) => e.release.name), [tag(21)]);
    assert.ok(v2.earlier![0]!.jobs.every((j) => j.decision === 'triggered'), JSON.stringify(v2.earlier));
    assert.equal(second.totals.triggered, 2 * JOBS, 'both payloads count');
    assert.deepEqual(countTotals(second.versions).triggered, 2 * JOBS);
    const posts = pinned().slice(JOBS);
    assert.deepEqual(posts, [...Array(JOBS).fill(pullSpecOf(tag(21))), ...Array(JOBS).fill(pullSpecOf(tag(23)))], 'oldest first, one payload after the other');
    // Only the chosen payloads enter history: not the tag list (tag 24, left for the next pass).
    const history = JSON.stringify(await temporal.client.workflow.getHandle(second.workflowId).fetchHistory());
    assert.ok(!history.includes(tag(24)) && !history.includes(tag(22)), 'an unchosen tag is not in the pass history');
    // The new shapes replay: the pass and its version pass, with the every-payload markers.
    for (const id of [second.workflowId, `${second.workflowId}/ocp-4.21`]) {
      const events = await temporal.client.workflow.getHandle(id).fetchHistory();
      assert.ok((events.events ?? []).some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'), `${id} carries a patch marker`);
      await Worker.runReplayHistory({ workflowBundle: temporal.bundle }, events, id);
    }
    // The look back: the payload of pass 1, from the ledger.
    assert.deepEqual(v2.previous?.map((p) => p.name), [tag(20)]);
    assert.ok(v2.previous![0]!.jobs.every((j) => j.verdict === 'pending' && j.attempts === 1));

    const third = await runPass();
    const v3 = third.versions[0]!;
    assert.equal(v3.release?.name, tag(24));
    assert.equal(v3.earlier, undefined);
    assert.equal(third.totals.triggered, JOBS);
    assert.deepEqual(v3.previous?.map((p) => p.name), [tag(23), tag(21), tag(20)], 'newest first, at most 3');
    const report = formatReport(third, { date: new Date(), namespace: 'default' });
    assert.match(report, new RegExp(`Previous payloads \\(verdicts so far\\):\\n  ${tag(23)}: azure-ipi-kata pending, azure-ipi-peerpods pending\n`));

    // Nothing newer: the newest is decided again, and skipped.
    const fourth = await runPass();
    assert.equal(fourth.totals.triggered, 0);
    assert.equal(fourth.totals.skipped, JOBS);
    assert.equal(pinned().length, 4 * JOBS, 'no POST in the last pass');
    assert.ok(fourth.versions[0]!.jobs.every((j) => j.decision === 'skipped'), 'Deck shows them running with that payload');
  });
});

test('ReleaseControllerClient.acceptedTags against the simulator: Accepted only, 404 for an unknown stream', async () => {
  const sims = await startSimulators(
    parseScenario({
      releaseController: { streams: { [STREAM]: { tags: [{ name: tag(20), phase: 'Accepted' }, { name: tag(21), phase: 'Rejected' }, { name: tag(22), phase: 'Accepted' }] }, '4.22.0-0.nightly': { tags: [] } } },
      gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES },
    }),
  );
  try {
    const client = new ReleaseControllerClient(sims.releaseControllerUrl, 5000);
    assert.deepEqual((await client.acceptedTags(STREAM)).map((r) => r.name), [tag(22), tag(20)]);
    assert.deepEqual(await client.acceptedTags('4.22.0-0.nightly'), []);
    await assert.rejects(client.acceptedTags('9.99.0-0.nightly'), (e: Error & { retryable?: boolean }) => /404/.test(e.message) || e.retryable === false);
  } finally {
    await sims.close();
  }
});
