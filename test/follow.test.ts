// Follow-through: the per-version ledger follows every triggered job to its verdict. First the
// schedule and the ledger's rules without a server, the config keys and Deck's answer; then on a
// real dev server with the simulators: a pass triggers, the ProwJobs move (sims.setProwJobState),
// and the ledger's matrix shows the verdicts; a job that never ends becomes `unknown`; a worker
// restart and continue-as-new lose nothing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { DeckClient } from '../src/clients/deck';
import { UpstreamError } from '../src/clients/errors';
import { LedgerClient } from '../src/clients/ledger';
import { ConfigError, loadConfig, type WatcherConfig } from '../src/config/load';
import { DEFAULT_FOLLOW, lookSchedule, nextWaitMs, type FollowSettings } from '../src/domain/follow';
import { emptyLedgerState, Ledger, ledgerWorkflowId, LedgerInputError, parseLedgerInput, type LedgerInput, type LedgerMatrix, type MatrixJob } from '../src/domain/ledger';
import type { PassRequest, PassSummary } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { JOB_PREFIX, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { serverOnly } from './helpers/layers';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { jobIn, matrixWhen } from './helpers/ledgerMatrix';

const MIN = 60_000;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const P = '4.21.0-0.nightly-2026-03-01-000000';
const KATA = { name: `${JOB_PREFIX}-azure-ipi-kata`, shortName: 'azure-ipi-kata' };
const COCO = { name: `${JOB_PREFIX}-aws-ipi-coco`, shortName: 'aws-ipi-coco' };
const SETTINGS: FollowSettings = { pollEveryMs: 1 * MIN, maxPollEveryMs: 4 * MIN, deadlineMs: 60 * MIN };
const URL_OF = 'https://prow.ci.openshift.org/view/gs/test-platform-results/logs/job/1';

/** A ledger with one attempt of KATA posted at T0 as execution e1. */
function postedLedger(): Ledger {
  const ledger = new Ledger(emptyLedgerState('4.21'));
  ledger.claim({ payload: P, pullSpec: `registry/x:${P}`, job: KATA }, at(-1000));
  ledger.recordTrigger({ payload: P, job: KATA.name, attempt: 1, outcome: { executionId: 'e1' } }, at(0));
  return ledger;
}
const TARGET = { payload: P, job: KATA.name, attempt: 1, executionId: 'e1' };
const kataOf = (ledger: Ledger): MatrixJob => ledger.matrix().payloads[0]!.jobs.find((j) => j.shortName === KATA.shortName)!;

describe('the schedule and the rules (no server)', () => {
  test('the backoff: first look after pollEvery, waits doubling to maxPollEvery, the last look at the deadline', () => {
    const minutes = lookSchedule(DEFAULT_FOLLOW).map((ms) => ms / MIN);
    assert.deepEqual(minutes.slice(0, 6), [2, 6, 14, 29, 44, 59]);
    assert.equal(minutes.at(-1), 24 * 60, 'the last look is at the deadline');
    assert.equal(minutes.length, 99, 'a job that never ends costs 99 Deck GETs over 24 h');
    const gaps = minutes.slice(1).map((m, i) => m - minutes[i]!);
    assert.ok(gaps.every((g) => g > 0 && g <= 15), `no gap over maxPollEvery: ${gaps.join(',')}`);
    // The test's settings: 200 ms, 1 s, 10 s.
    assert.deepEqual(lookSchedule({ pollEveryMs: 200, maxPollEveryMs: 1000, deadlineMs: 10_000 }), [200, 600, 1400, 2400, 3400, 4400, 5400, 6400, 7400, 8400, 9400, 10_000]);
    assert.equal(nextWaitMs(2 * MIN, DEFAULT_FOLLOW), 4 * MIN);
    assert.equal(nextWaitMs(8 * MIN, DEFAULT_FOLLOW), 15 * MIN);
    assert.equal(nextWaitMs(15 * MIN, DEFAULT_FOLLOW), 15 * MIN);
  });

  test('a posted attempt is followed: due pollEvery after its trigger; each look moves the schedule on', () => {
    const ledger = postedLedger();
    assert.deepEqual(ledger.followTargets(SETTINGS), [{ ...TARGET, shortName: KATA.shortName, dueAtMs: T0 + MIN, deadlineAtMs: T0 + 60 * MIN }]);
    assert.equal(ledger.nextLookDueMs(SETTINGS), T0 + MIN);
    // A claimed attempt (no execution yet) is not followed.
    ledger.claim({ payload: P, pullSpec: `registry/x:${P}`, job: COCO }, at(0));
    assert.equal(ledger.followTargets(SETTINGS).length, 1);

    // Deck does not have it yet: no news, look again in twice the wait.
    const first = ledger.recordLook(TARGET, { state: 'missing' }, at(MIN), SETTINGS);
    assert.deepEqual([first.done, first.nextPollAt], [false, at(3 * MIN)]);
    assert.deepEqual(kataOf(ledger).attempts[0]!.following, { nextPollAt: at(3 * MIN), looks: 1, lastSeen: 'not in Deck' });
    assert.equal(kataOf(ledger).verdict, 'pending');
    // Running, with its URL.
    const second = ledger.recordLook(TARGET, { state: 'pending', podName: 'e1', url: URL_OF }, at(3 * MIN), SETTINGS);
    assert.deepEqual([second.changed, second.attempt.state, second.attempt.url, second.nextPollAt], [true, 'running', URL_OF, at(7 * MIN)]);
    assert.equal('follow' in second.attempt, false, 'answers carry no bookkeeping');
    // A late answer from Deck's cache does not move it back; a failed look is a look without news.
    ledger.recordLook(TARGET, { state: 'triggered' }, at(7 * MIN), SETTINGS);
    assert.equal(kataOf(ledger).verdict, 'running');
    const failed = ledger.recordLook(TARGET, { failed: 'Deck /prowjob e1: HTTP 503' }, at(11 * MIN), SETTINGS);
    assert.equal(failed.nextPollAt, at(15 * MIN), 'the wait is capped at maxPollEvery');
    assert.deepEqual(kataOf(ledger).attempts[0]!.following, { nextPollAt: at(15 * MIN), looks: 4, lastSeen: 'no answer from Deck (Deck /prowjob e1: HTTP 503)' });
    assert.equal(ledger.followTargets(SETTINGS)[0]!.dueAtMs, T0 + 15 * MIN);

    // The verdict: recorded as recordVerdict would, with Deck's completion time; following ends.
    const done = ledger.recordLook(TARGET, { state: 'failure', url: URL_OF, completionTime: '2026-03-01T00:14:02Z' }, at(15 * MIN), SETTINGS);
    assert.deepEqual([done.done, done.changed, done.attempt.state, done.attempt.finishedAt], [true, true, 'failure', '2026-03-01T00:14:02Z']);
    const kata = kataOf(ledger);
    assert.equal(kata.verdict, 'failure');
    assert.deepEqual(Object.keys(kata.attempts[0]!).sort(), ['attempt', 'executionId', 'finishedAt', 'state', 'triggeredAt', 'url']);
    assert.deepEqual(ledger.followTargets(SETTINGS), []);
    assert.equal(ledger.nextLookDueMs(SETTINGS), undefined);
    // Idempotent: a look that was under way when the verdict came changes nothing.
    assert.deepEqual(ledger.recordLook(TARGET, { state: 'success' }, at(16 * MIN), SETTINGS).changed, false);
    assert.equal(kataOf(ledger).verdict, 'failure');
  });

  test('a verdict recorded by Update ends following; the same final state by a look is a no-op', () => {
    const ledger = postedLedger();
    ledger.recordLook(TARGET, { state: 'pending', podName: 'e1' }, at(MIN), SETTINGS);
    ledger.recordVerdict({ payload: P, job: KATA.name, attempt: 1, state: 'aborted' }, at(2 * MIN));
    assert.deepEqual(ledger.followTargets(SETTINGS), []);
    assert.equal(kataOf(ledger).attempts[0]!.following, undefined);
    assert.equal(ledger.recordLook(TARGET, { state: 'aborted' }, at(3 * MIN), SETTINGS).changed, false);
  });

  test('the deadline: the next look is never later; a look at it without a final state records unknown', () => {
    const ledger = postedLedger();
    ledger.recordLook(TARGET, { state: 'pending', podName: 'e1' }, at(58 * MIN), SETTINGS);
    assert.equal(ledger.followTargets(SETTINGS)[0]!.dueAtMs, T0 + 60 * MIN, 'capped at the deadline');
    const gaveUp = ledger.recordLook(TARGET, { state: 'pending', podName: 'e1', url: URL_OF }, at(60 * MIN), SETTINGS);
    assert.deepEqual([gaveUp.done, gaveUp.attempt.state, gaveUp.attempt.url], [true, 'unknown', URL_OF]);
    assert.equal(gaveUp.attempt.reason, 'no final state 1h after the trigger; last look: running');
    assert.equal(kataOf(ledger).verdict, 'unknown');
    assert.deepEqual(ledger.followTargets(SETTINGS), [], 'unknown is not followed');
    // It was given up on, not ended: a verdict that comes later (by Update) is still taken.
    assert.equal(ledger.recordVerdict({ payload: P, job: KATA.name, attempt: 1, state: 'success' }, at(61 * MIN)).attempt.state, 'success');
  });

  test('an attempt recorded before follow-through (no bookkeeping) and past its deadline gets one look', () => {
    const ledger = postedLedger();
    const targets = ledger.followTargets(SETTINGS);
    assert.equal(targets[0]!.dueAtMs, T0 + MIN);
    const r = ledger.recordLook(TARGET, { state: 'missing' }, at(3 * 24 * 60 * MIN), SETTINGS);
    assert.deepEqual([r.done, r.attempt.state, r.attempt.reason], [true, 'unknown', 'no final state 1h after the trigger; last look: not in Deck']);
  });

  test('the ledger input takes follow settings, checked; without them the defaults apply', () => {
    const follow = { pollEveryMs: 200, maxPollEveryMs: 1000, deadlineMs: 10_000 };
    assert.deepEqual(parseLedgerInput({ version: '4.21', follow }), { version: '4.21', keepPayloads: 10, follow });
    assert.equal(parseLedgerInput({ version: '4.21' }).follow, undefined);
    const bad: Array<[unknown, RegExp]> = [
      [{ ...follow, pollEveryMs: 50 }, /^input: follow\.pollEveryMs must be at least 100, got 50$/],
      [{ ...follow, maxPollEveryMs: 100 }, /^input: follow\.maxPollEveryMs \(100\) must not be shorter than follow\.pollEveryMs \(200\)$/],
      [{ ...follow, deadlineMs: '1h' }, /^input: follow\.deadlineMs must be a whole number of milliseconds, got the string "1h"$/],
      [{ ...follow, every: 1 }, /^input: follow: unknown key "every"/],
      ['2m', /^input: follow must be an object/],
    ];
    for (const [value, pattern] of bad) {
      assert.throws(() => parseLedgerInput({ version: '4.21', follow: value }), (e: unknown) => e instanceof LedgerInputError && pattern.test(e.message), String(pattern));
    }
  });

  test('config: follow.pollEvery, maxPollEvery, deadline (durations; defaults 2m, 15m, 24h), one line on a bad value', () => {
    const dir = tempDir('osc-watcher-follow-config-');
    const file = (text: string) => {
      const p = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(p, text);
      return p;
    };
    assert.deepEqual(loadConfig({ env: {} }).follow, { pollEveryMs: 2 * MIN, maxPollEveryMs: 15 * MIN, deadlineMs: 24 * 60 * MIN });
    assert.deepEqual(loadConfig({ configPath: file('follow: { pollEvery: 200ms, maxPollEvery: 1s, deadline: 10s }\n'), env: {} }).follow, {
      pollEveryMs: 200,
      maxPollEveryMs: 1000,
      deadlineMs: 10_000,
    });
    assert.deepEqual(loadConfig({ configPath: file('follow: { deadline: 6h }\n'), env: {} }).follow, { pollEveryMs: 2 * MIN, maxPollEveryMs: 15 * MIN, deadlineMs: 6 * 60 * MIN });
    const bad: Array<[string, RegExp]> = [
      ['follow: { pollEvery: 20m }\n', /follow\.maxPollEvery \(15m\) must not be shorter than follow\.pollEvery \(20m\)$/],
      ['follow: { pollEvery: 50ms }\n', /follow\.pollEvery must be at least 100ms, got 50ms$/],
      ['follow: { deadline: 1m }\n', /follow\.deadline \(1m\) must not be shorter than follow\.pollEvery \(2m\)$/],
      ['follow: { pollEvry: 1m }\n', /unknown key "follow\.pollEvry"/],
      ['follow: { deadline: soon }\n', /follow\.deadline: must be a duration/],
    ];
    for (const [text, pattern] of bad) {
      assert.throws(() => loadConfig({ configPath: file(text), env: {} }), (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'), text);
    }
  });
});

describe("DeckClient.executionState: one ProwJob's state, URL and completion time", () => {
  let sims: Simulators;
  const job = `${JOB_PREFIX}-azure-ipi-kata`;
  before(async () => {
    const { scenario } = basicScenario(900, {
      deck: {
        prowJobs: [
          { id: 'pj-new', job, state: 'triggered', startTime: '-1m' },
          { id: 'pj-running', job, state: 'pending', startTime: '-30m' },
          { id: 'pj-done', job, state: 'success', startTime: '-3h', completionTime: '-1h' },
        ],
      },
    });
    sims = await startSimulators(scenario);
  });
  after(async () => sims?.close());

  test('triggered, running (a pod), success with URL and completion time; missing on 404', async () => {
    const deck = new DeckClient(sims.deckUrl, 3000);
    assert.deepEqual(await deck.executionState('pj-new'), { state: 'triggered' });
    const running = await deck.executionState('pj-running');
    assert.deepEqual([running.state, running.podName, running.completionTime], ['pending', 'pj-running', undefined]);
    const done = await deck.executionState('pj-done');
    const pj = sims.prowJobs().find((p) => p.metadata.name === 'pj-done')!;
    assert.deepEqual(done, { state: 'success', url: pj.status.url, completionTime: pj.status.completionTime, podName: 'pj-done' });
    assert.match(done.url ?? '', /^https:\/\/prow\.ci\.openshift\.org\/view\/gs\/test-platform-results\/logs\/.+\/\d+$/);
    assert.deepEqual(await deck.executionState('no-such-job'), { state: 'missing' });
  });

  test('failures are classified in the client: 5xx and a non-ProwJob answer retryable, 403 not', async () => {
    const deck = new DeckClient(sims.deckUrl, 3000);
    const cases: Array<[Record<string, unknown>, boolean, RegExp]> = [
      [{ status: 503 }, true, /^Deck \/prowjob pj-done: HTTP 503/],
      [{ kind: 'html-200' }, true, /^Deck \/prowjob pj-done: HTTP 200 (with a body that is not YAML|but the answer is not that ProwJob)/],
      [{ status: 403 }, false, /^Deck \/prowjob pj-done: HTTP 403/],
    ];
    for (const [fault, retryable, pattern] of cases) {
      sims.clearFaults();
      sims.addFault({ endpoint: 'deck.prowjob', times: 1, ...fault } as never);
      await assert.rejects(deck.executionState('pj-done'), (err: unknown) => {
        assert.ok(err instanceof UpstreamError, String(err));
        assert.equal(err.retryable, retryable, err.message);
        assert.match(err.message, pattern);
        return true;
      });
    }
    sims.clearFaults();
  });
});

// ---- On a real dev server ------------------------------------------------------------------------

const FOLLOW_YAML = 'follow: { pollEvery: 200ms, maxPollEvery: 1s, deadline: 10s }\n';

// Each test has its own simulators, task queue and so ledger: they run side by side on one dev server.
describe('follow-through on a dev server, with the simulators', { ...serverOnly, concurrency: true }, () => {
  let temporal: TestTemporal;
  let tokenFile: string;
  let follow: FollowSettings;
  const openSims: Simulators[] = [];
  let seed = 910;
  let passes = 0;

  before(async () => {
    temporal = await startTestTemporal();
    const dir = tempDir('osc-watcher-follow-');
    tokenFile = writeTokenFile(dir);
    const file = path.join(dir, 'follow.yaml');
    writeFileSync(file, FOLLOW_YAML);
    // Through the loader, as a worker reads it.
    follow = loadConfig({ configPath: file, env: {} }).follow;
  });

  after(async () => {
    for (const s of openSims) await s.close();
    await temporal?.stop();
  });

  async function setup(settings: FollowSettings = follow) {
    const { scenario, tags } = basicScenario(++seed);
    const sims = await startSimulators(scenario);
    openSims.push(sims);
    // A short sticky timeout: after a worker stops, the next one gets the ledger within a second.
    const config = simConfig(sims, tokenFile, { follow: settings, stickyQueueTimeoutMs: 1000 });
    return { sims, payload: tags['4.21'], config, ledgers: new LedgerClient(temporal.client, { taskQueue: config.taskQueue, follow: settings }) };
  }

  /** A pass over 4.21 only, with the given jobs; it returns once triggered, not once the jobs end. */
  async function pass(config: WatcherConfig, jobs: string[]): Promise<Map<string, string>> {
    const request: PassRequest = { versions: ['4.21'], jobs };
    const summary: PassSummary = await temporal.client.workflow.execute(buildWatcher, {
      workflowId: `follow-pass-${process.pid}-${++passes}`,
      taskQueue: config.taskQueue,
      args: [request],
    });
    const executions = new Map<string, string>();
    for (const j of summary.versions[0]!.jobs) {
      assert.equal(j.decision, 'triggered', `${j.shortName}: ${j.reason}`);
      executions.set(j.shortName, j.executionId!);
    }
    assert.deepEqual([...executions.keys()].sort(), [...jobs].sort());
    return executions;
  }

  const verdicts = (payload: string, want: Record<string, string>) => (m: LedgerMatrix) =>
    Object.entries(want).every(([shortName, verdict]) => jobIn(m, payload, shortName)?.verdict === verdict);
  const looksAt = (sims: Simulators, id: string) => sims.requests('deck').filter((r) => r.path === '/prowjob' && r.query.prowjob === id).length;
  const urlOf = (sims: Simulators, id: string) => sims.prowJobs().find((p) => p.metadata.name === id)!.status.url;

  test('two jobs triggered; one ends success, the other failure: the matrix shows both, with the Prow URL', async () => {
    const { sims, payload, config, ledgers } = await setup();
    await temporal.withWorker(config, async () => {
      const started = Date.now();
      const ids = await pass(config, ['azure-ipi-kata', 'aws-ipi-coco']);
      const kata = ids.get('azure-ipi-kata')!;
      const coco = ids.get('aws-ipi-coco')!;
      // The pass did not wait for the jobs: both are still `triggered` in Prow.
      assert.deepEqual(sims.prowJobs().filter((p) => p.metadata.name === kata || p.metadata.name === coco).map((p) => p.status.state), ['triggered', 'triggered']);

      // Deck is down for a few looks: no verdict from that, the schedule goes on.
      sims.addFault({ endpoint: 'deck.prowjob', status: 503, times: 4 });
      sims.setProwJobState(kata, 'pending');
      let m = await matrixWhen(ledgers, '4.21', verdicts(payload, { 'azure-ipi-kata': 'running', 'aws-ipi-coco': 'pending' }), 'kata running');
      assert.equal(jobIn(m, payload, 'azure-ipi-kata')!.attempts[0]!.url, urlOf(sims, kata), 'the URL as soon as Prow has one');

      sims.setProwJobState(kata, 'success');
      sims.setProwJobState(coco, 'failure');
      m = await matrixWhen(ledgers, '4.21', verdicts(payload, { 'azure-ipi-kata': 'success', 'aws-ipi-coco': 'failure' }), 'both verdicts');
      const seconds = (Date.now() - started) / 1000;
      for (const [shortName, id] of [['azure-ipi-kata', kata], ['aws-ipi-coco', coco]] as const) {
        const a = jobIn(m, payload, shortName)!.attempts[0]!;
        assert.equal(a.executionId, id);
        assert.equal(a.url, urlOf(sims, id));
        assert.match(a.url ?? '', new RegExp(`/logs/${JOB_PREFIX}-${shortName}/\\d+$`));
        assert.equal(a.finishedAt, sims.prowJobs().find((p) => p.metadata.name === id)!.status.completionTime, "Deck's completion time");
        assert.equal(a.following, undefined);
      }
      const looks = { kata: looksAt(sims, kata), coco: looksAt(sims, coco) };
      process.stdout.write(`# verdicts in ${seconds.toFixed(1)} s after the pass started; Deck looks: ${JSON.stringify(looks)}\n`);
    });
  });

  test('a job that never ends is `unknown` after the deadline; the looks back off', async () => {
    // The configured settings, with a deadline of 5 s rather than 10 s: the test waits it out.
    const { sims, payload, config, ledgers } = await setup({ ...follow, deadlineMs: 5000 });
    await temporal.withWorker(config, async () => {
      const ids = await pass(config, ['azure-ipi-peerpods']);
      const id = ids.get('azure-ipi-peerpods')!;
      sims.setProwJobState(id, 'pending');
      const m = await matrixWhen(ledgers, '4.21', verdicts(payload, { 'azure-ipi-peerpods': 'unknown' }), 'unknown', 20_000);
      const a = jobIn(m, payload, 'azure-ipi-peerpods')!.attempts[0]!;
      assert.equal(a.reason, 'no final state 5s after the trigger; last look: running');
      assert.equal(a.url, urlOf(sims, id));
      assert.ok(Date.parse(a.triggeredAt!) + 5000 <= Date.now());
      const looks = looksAt(sims, id);
      // 7 looks on the schedule (200 ms doubling to 1 s, for 5 s); a failed try is retried by the
      // activity. Backing off: at most 10 (every 200 ms would be 25). Under load a look runs late
      // and the next is counted from it, so fewer fit: at least a first one and the last.
      assert.ok(looks >= 2 && looks <= 10, `looks: ${looks}`);
      process.stdout.write(`# unknown after ${looks} Deck looks\n`);
    });
  });

  test('follow-through survives a worker restart: the verdict arrives through the next worker', async () => {
    const { sims, payload, config, ledgers } = await setup();
    const ids = await temporal.withWorker(config, async () => {
      const ids = await pass(config, ['azure-ipi-coco', 'aws-ipi-peerpods']);
      // Looked at at least once before the worker goes: the schedule is in the ledger.
      await matrixWhen(ledgers, '4.21', (m) => ['azure-ipi-coco', 'aws-ipi-peerpods'].every((j) => (jobIn(m, payload, j)?.attempts[0]?.following?.looks ?? 0) >= 1), 'first looks');
      return ids;
    });
    // No worker: the ProwJobs end meanwhile.
    sims.setProwJobState(ids.get('azure-ipi-coco')!, 'success');
    sims.setProwJobState(ids.get('aws-ipi-peerpods')!, 'aborted');
    const runBefore = (await ledgers.handle('4.21').describe()).runId;
    await temporal.withWorker(config, async () => {
      const m = await matrixWhen(ledgers, '4.21', verdicts(payload, { 'azure-ipi-coco': 'success', 'aws-ipi-peerpods': 'aborted' }), 'verdicts after the restart');
      assert.equal(jobIn(m, payload, 'azure-ipi-coco')!.attempts[0]!.url, urlOf(sims, ids.get('azure-ipi-coco')!));
    });
    assert.equal((await ledgers.handle('4.21').describe()).runId, runBefore, 'the same run, replayed by the new worker');
  });

  test('follow-through survives continue-as-new: the schedule and the settings are handed on', async () => {
    const { sims, payload, config, ledgers } = await setup();
    // The ledger started before the pass, with the test knob: continue as new every 30 events.
    const knob = new LedgerClient(temporal.client, { taskQueue: config.taskQueue, follow, maxHistoryEvents: 30 });
    const id = ledgerWorkflowId(config.taskQueue, '4.21');
    const runs = async () => {
      const list: string[] = [];
      for await (const w of temporal.client.workflow.list({ query: `WorkflowId = '${id}'` })) list.push(w.runId);
      return list;
    };
    await temporal.withWorker(config, async () => {
      // Updates need a worker: pause starts the ledger (with the knob), resume lets the pass claim.
      await knob.pause('4.21', 'started by the test');
      await knob.resume('4.21');
      const ids = await pass(config, ['azure-ipi-kata', 'aws-ipi-peerpods']);
      // Several runs go by while the jobs run (the looks themselves fill the history).
      const until = Date.now() + 20_000;
      while ((await runs()).length < 4) {
        assert.ok(Date.now() < until, 'at least three continue-as-new within 20 s');
        await new Promise((r) => setTimeout(r, 200));
      }
      sims.setProwJobState(ids.get('azure-ipi-kata')!, 'success');
      sims.setProwJobState(ids.get('aws-ipi-peerpods')!, 'error');
      await matrixWhen(ledgers, '4.21', verdicts(payload, { 'azure-ipi-kata': 'success', 'aws-ipi-peerpods': 'error' }), 'verdicts across continue-as-new');
    });
    // A run that continued another was handed the settings, the knob and each attempt's schedule.
    const all = await runs();
    const handedOn: LedgerInput[] = [];
    for (const runId of all) {
      const history = await temporal.client.workflow.getHandle(id, runId).fetchHistory();
      const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
      if (!started.continuedExecutionRunId) continue;
      handedOn.push(defaultPayloadConverter.fromPayload(started.input!.payloads![0]!) as LedgerInput);
    }
    assert.ok(handedOn.length >= 3, `continued runs: ${handedOn.length}`);
    for (const input of handedOn) {
      assert.deepEqual(input.follow, follow);
      assert.equal(input.maxHistoryEvents, 30);
    }
    const looksHandedOn = handedOn.map((input) => {
      const attempts = input.state!.payloads.find((p) => p.name === payload)?.jobs.map((j) => j.attempts[0]!) ?? [];
      return Math.max(0, ...attempts.map((a) => a.follow?.looks ?? 0));
    });
    assert.ok(looksHandedOn.some((n) => n >= 2), `a run was handed attempts already looked at: ${looksHandedOn.join(',')}`);
    process.stdout.write(`# ${all.length} runs of the ledger; looks handed on: ${looksHandedOn.join(',')}\n`);
  });
});
