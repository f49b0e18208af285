// Bounded retrigger, retests the ledger starts itself, and `run --wait`. First the rules without
// a server (src/domain/retrigger.ts, the Ledger's launch targets, the config keys); then the
// `versionLedger` workflow on a real dev server with mocked activities (a scripted Gangway and
// Deck): an ERROR retried after its backoff then green, a FAILURE not retried, an ABORTED job
// stopping at 3 attempts, a payload superseded mid-follow, retest, continue-as-new with a retry
// pending, and the history replayed; beside them, `run --wait` end to end with the simulators
// (the real CLI against the same dev server). The server's tests run side by side.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { GangwayClient } from '../src/clients/gangway';
import { LedgerClient, LedgerRejectedError } from '../src/clients/ledger';
import { ConfigError, loadConfig } from '../src/config/load';
import type { ExecutionState, FollowSettings } from '../src/domain/follow';
import { attemptWorkflowId, triggerKey, triggerWorkflowId } from '../src/domain/labels';
import { emptyLedgerState, Ledger, ledgerWorkflowId, LedgerInputError, parseLedgerInput, type LedgerMatrix, type MatrixJob } from '../src/domain/ledger';
import { DEFAULT_RETRIGGER, planRetry, retryBackoffMs, type RetriggerSettings } from '../src/domain/retrigger';
import { gangwayTaskQueue } from '../src/domain/taskQueues';
import { buildTriggerRequest } from '../src/domain/trigger';
import { buildWatcher } from '../src/workflows/buildWatcher';
import type { TriggerRecordOutcome, TriggerRequest, TriggerResult } from '../src/domain/types';
import { awaitedMatrices, waitState } from '../src/domain/waitVerdicts';
import { startSimulators } from '../src/simulators';
import { JOB_PREFIX, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { serverOnly } from './helpers/layers';
import { runCli as cli } from './helpers/cli';
import { jobIn, matrixWhen } from './helpers/ledgerMatrix';

const MIN = 60_000;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const P1 = '4.21.0-0.nightly-2026-03-01-000000';
const P2 = '4.21.0-0.nightly-2026-03-02-000000';
const KATA = { name: `${JOB_PREFIX}-azure-ipi-kata`, shortName: 'azure-ipi-kata' };
const COCO = { name: `${JOB_PREFIX}-aws-ipi-coco`, shortName: 'aws-ipi-coco' };

/** KATA of `payload` claimed by the pass and posted at `postedAt` as execution `id`. */
function posted(ledger: Ledger, payload: string, id: string, postedAt = 0, job = KATA): void {
  ledger.claim({ payload, pullSpec: `registry/x:${payload}`, job }, at(postedAt - 1000));
  ledger.recordTrigger({ payload, job: job.name, attempt: 1, outcome: { executionId: id } }, at(postedAt));
}
const ended = (ledger: Ledger, payload: string, attempt: number, state: 'success' | 'failure' | 'aborted' | 'error', atMs: number, job = KATA) =>
  ledger.recordVerdict({ payload, job: job.name, attempt, state, finishedAt: at(atMs) }, at(atMs));
const rowOf = (m: LedgerMatrix, payload: string, job = KATA): MatrixJob => m.payloads.find((p) => p.name === payload)!.jobs.find((j) => j.job === job.name)!;

function file(text: string): string {
  const f = path.join(tempDir('osc-watcher-retrigger-'), 'w.yaml');
  writeFileSync(f, text);
  return f;
}

describe('retrigger rules (no server)', () => {
  test('backoff: 1m doubling to 15m by default', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryBackoffMs(n, DEFAULT_RETRIGGER) / MIN), [1, 2, 4, 8, 15, 15]);
    assert.equal(retryBackoffMs(1, { initialMs: 200, maxMs: 300 }), 200);
    assert.equal(retryBackoffMs(2, { initialMs: 200, maxMs: 300 }), 300);
  });

  test('an ERROR is due a retry after the backoff; the second after twice that; then exhausted', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    posted(ledger, P1, 'e1');
    assert.deepEqual(ledger.launchTargets(), [], 'nothing while it runs');
    ended(ledger, P1, 1, 'error', 10 * MIN);
    const [first] = ledger.launchTargets();
    assert.deepEqual(first, {
      kind: 'retry',
      payload: P1,
      pullSpec: `registry/x:${P1}`,
      job: KATA,
      attempt: 2,
      workflowId: `osc-trigger/${KATA.name}/${P1}/attempt-2`,
      atMs: T0 + 11 * MIN,
    });
    assert.deepEqual(rowOf(ledger.matrix(), P1).retryPending, { attempt: 2, at: at(11 * MIN) });
    assert.equal(rowOf(ledger.matrix(), P1).maxAttempts, 3, 'shown as 1/3');
    const claimed = ledger.claimLaunch(first!, at(11 * MIN));
    assert.deepEqual([claimed.attempt, claimed.state, claimed.retry, claimed.claimant], [2, 'triggering', true, first!.workflowId]);
    assert.deepEqual(ledger.launchTargets(new Set([`${P1}\n${KATA.name}`])), [], 'being started: nothing to do');
    // Claimed but not being started (a run that continued as new): resumed, under the same ID.
    assert.deepEqual(ledger.launchTargets().map((t) => [t.kind, t.attempt, t.workflowId]), [['resume', 2, first!.workflowId]]);
    ledger.recordTrigger({ payload: P1, job: KATA.name, attempt: 2, outcome: { executionId: 'e2' } }, at(11 * MIN));
    ended(ledger, P1, 2, 'aborted', 20 * MIN);
    assert.equal(ledger.launchTargets()[0]!.atMs, T0 + 22 * MIN, 'the second retry waits 2m');
    ledger.claimLaunch(ledger.launchTargets()[0]!, at(22 * MIN));
    ledger.recordTrigger({ payload: P1, job: KATA.name, attempt: 3, outcome: { executionId: 'e3' } }, at(22 * MIN));
    ended(ledger, P1, 3, 'error', 30 * MIN);
    assert.deepEqual(ledger.launchTargets(), [], 'exhausted at 3 attempts');
    const row = rowOf(ledger.matrix(), P1);
    assert.deepEqual([row.verdict, row.attempts.length, row.maxAttempts, row.retryPending], ['error', 3, 3, undefined]);
    assert.deepEqual(planRetry(ledger.state.payloads[0]!.jobs[0]!.attempts, false, DEFAULT_RETRIGGER), { due: false, why: 'exhausted' });
  });

  test('FAILURE is not retried unless listed; success and unknown never', () => {
    const attempts = (state: string) => [{ attempt: 1, state, claimedAt: at(0), finishedAt: at(MIN) }];
    assert.deepEqual(planRetry(attempts('failure'), false, DEFAULT_RETRIGGER), { due: false, why: 'not-retried' });
    const withFailure: RetriggerSettings = { ...DEFAULT_RETRIGGER, on: ['failure'] };
    assert.equal(planRetry(attempts('failure'), false, withFailure).due, true);
    assert.deepEqual(planRetry(attempts('success'), false, withFailure), { due: false, why: 'green' });
    assert.deepEqual(planRetry(attempts('unknown'), false, DEFAULT_RETRIGGER), { due: false, why: 'not-retried' });
    assert.deepEqual(planRetry(attempts('running'), false, DEFAULT_RETRIGGER), { due: false, why: 'in-progress' });
    assert.deepEqual(planRetry([{ attempt: 1, state: 'failed-to-trigger', claimedAt: at(0) }], false, DEFAULT_RETRIGGER), { due: false, why: 'pass-owns-it' });
    assert.deepEqual(planRetry(attempts('error'), false, { ...DEFAULT_RETRIGGER, maxRetries: 0 }), { due: false, why: 'exhausted' });
  });

  test('a payload superseded by a newer one is not retried, unless retrigger.superseded', () => {
    for (const superseded of [false, true]) {
      const ledger = new Ledger(emptyLedgerState('4.21'), 10, { ...DEFAULT_RETRIGGER, superseded });
      posted(ledger, P1, 'e1');
      posted(ledger, P2, 'f1', MIN);
      ended(ledger, P1, 1, 'error', 10 * MIN);
      assert.equal(ledger.isSuperseded(P1), true);
      assert.deepEqual(
        ledger.launchTargets().map((t) => t.payload),
        superseded ? [P1] : [],
        `superseded: ${superseded}`,
      );
    }
  });

  test('a retry that failed to trigger is retried like the attempt before it; a paused version starts nothing', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    posted(ledger, P1, 'e1');
    ended(ledger, P1, 1, 'error', 0);
    ledger.claimLaunch(ledger.launchTargets()[0]!, at(MIN));
    ledger.recordTrigger({ payload: P1, job: KATA.name, attempt: 2, outcome: { failed: 'HTTP 503' } }, at(MIN));
    assert.deepEqual(ledger.launchTargets().map((t) => [t.attempt, t.atMs]), [[3, T0 + 3 * MIN]]);
    // The pass does not take it over (its trigger ID is attempt 1's): the ledger retries it.
    const claim = ledger.claim({ payload: P1, pullSpec: `registry/x:${P1}`, job: KATA, claimant: triggerWorkflowId(KATA.name, P1) }, at(MIN));
    assert.deepEqual(!claim.granted && [claim.reason, claim.attempt?.attempt], ['already-triggered', 1]);
    ledger.pause({ note: 'Prow down' }, at(MIN));
    assert.deepEqual(ledger.launchTargets(), []);
    assert.equal(rowOf(ledger.matrix(), P1).retryPending, undefined);
    ledger.resume();
    assert.equal(ledger.launchTargets().length, 1);
  });

  test('retest: one attempt now, beyond maxRetries, its own ID; asked again while it starts, the same one', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'), 10, { ...DEFAULT_RETRIGGER, maxRetries: 0 });
    posted(ledger, P1, 'e1');
    ended(ledger, P1, 1, 'failure', 0);
    assert.deepEqual(ledger.launchTargets(), []);
    const r = ledger.retest({ job: KATA.shortName }, at(MIN));
    assert.deepEqual([r.changed, r.nextAttempt], [true, 2]);
    const [target] = ledger.launchTargets();
    assert.deepEqual([target!.kind, target!.attempt, target!.atMs, target!.workflowId], ['retest', 2, 0, attemptWorkflowId(KATA.name, P1, 2)]);
    ledger.claimLaunch(target!, at(MIN));
    const again = ledger.retest({ job: KATA.shortName }, at(MIN));
    assert.deepEqual([again.changed, again.nextAttempt, again.waitingFor?.attempt], [false, 2, 2]);
    assert.equal(rowOf(ledger.matrix(), P1).retestPending, undefined);
    assert.equal(rowOf(ledger.matrix(), P1).maxAttempts, 2, '2/2 after a retest');
    // The claim is out of order now: a second claim of the same target is refused.
    assert.throws(() => ledger.claimLaunch(target!, at(MIN)), /out of order/);
    // A run that continued as new finds the attempt claimed, not recorded: it resumes it.
    const next = new Ledger(structuredClone(ledger.state));
    assert.deepEqual(next.launchTargets().map((t) => [t.kind, t.attempt]), [['resume', 2]]);
  });

  test('attempt 1 keeps its trigger ID and key; a later attempt has its own, and an attempt label', () => {
    const pull = `registry/x:${P1}`;
    assert.equal(triggerKey(KATA.name, pull), triggerKey(KATA.name, pull, 1));
    assert.notEqual(triggerKey(KATA.name, pull, 2), triggerKey(KATA.name, pull));
    assert.notEqual(triggerKey(KATA.name, pull, 2), triggerKey(KATA.name, pull, 3));
    assert.equal(attemptWorkflowId(KATA.name, P1, 2), `${triggerWorkflowId(KATA.name, P1)}/attempt-2`);
    const job = { ...KATA, payloadEnv: 'RELEASE_IMAGE_LATEST' };
    const first = buildTriggerRequest(job, '4.21', { name: P1, pullSpec: pull, phase: 'Accepted' }, 'osc-build-watcher', 'w');
    assert.equal(first.labels['osc-build-watcher/attempt'], undefined);
    const second = buildTriggerRequest(job, '4.21', { name: P1, pullSpec: pull, phase: 'Accepted' }, 'osc-build-watcher', 'w', 2);
    assert.equal(second.labels['osc-build-watcher/attempt'], '2');
    assert.equal(second.labels['osc-build-watcher/trigger-key'], triggerKey(KATA.name, pull, 2));
  });

  test('config: retrigger keys with defaults; bad values are one line naming the key', () => {
    assert.deepEqual(loadConfig({ configPath: file('jobs: [x]\n'), env: {} }).retrigger, DEFAULT_RETRIGGER);
    assert.deepEqual(
      loadConfig({ configPath: file('retrigger: { on: [error, failure], maxRetries: 4, backoff: { initial: 200ms, max: 1s }, superseded: true }\n'), env: {} }).retrigger,
      { on: ['error', 'failure'], maxRetries: 4, initialMs: 200, maxMs: 1000, superseded: true },
    );
    const bad: Array<[string, RegExp]> = [
      ['retrigger: { on: [success] }\n', /retrigger\.on\.0: /],
      ['retrigger: { maxRetries: 11 }\n', /retrigger\.maxRetries: /],
      ['retrigger: { backoff: { initial: 2m, max: 1m } }\n', /retrigger\.backoff\.max \(1m\) must not be shorter than retrigger\.backoff\.initial \(2m\)$/],
      ['retrigger: { backoff: { initial: 10ms } }\n', /retrigger\.backoff\.initial must be at least 100ms, got 10ms$/],
      ['retrigger: { retries: 1 }\n', /unknown key "retrigger\.retries"/],
    ];
    for (const [text, pattern] of bad) {
      assert.throws(() => loadConfig({ configPath: file(text), env: {} }), (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'), text);
    }
    assert.throws(() => parseLedgerInput({ version: '4.21', retrigger: { ...DEFAULT_RETRIGGER, maxRetries: -1 } }), LedgerInputError);
    assert.deepEqual(parseLedgerInput({ version: '4.21', retrigger: DEFAULT_RETRIGGER }).retrigger, DEFAULT_RETRIGGER);
  });

  test('run --wait: waiting until every triggered job is settled; green only when all succeeded', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    posted(ledger, P1, 'e1');
    posted(ledger, P1, 'c1', 0, COCO);
    const awaited = [KATA, COCO].map((j) => ({ version: '4.21', payload: P1, job: j.name }));
    assert.equal(waitState([ledger.matrix()], awaited), 'waiting');
    ended(ledger, P1, 1, 'success', MIN);
    ended(ledger, P1, 1, 'error', MIN, COCO);
    assert.equal(waitState([ledger.matrix()], awaited), 'waiting', 'a retry is pending');
    ledger.claimLaunch(ledger.launchTargets()[0]!, at(2 * MIN));
    ledger.recordTrigger({ payload: P1, job: COCO.name, attempt: 2, outcome: { executionId: 'c2' } }, at(2 * MIN));
    ended(ledger, P1, 2, 'success', 3 * MIN, COCO);
    assert.equal(waitState([ledger.matrix()], awaited), 'green');
    posted(ledger, P2, 'f1', 4 * MIN);
    ledger.recordVerdict({ payload: P2, job: KATA.name, attempt: 1, state: 'failure' }, at(5 * MIN));
    const both = [...awaited, { version: '4.21', payload: P2, job: KATA.name }];
    assert.equal(waitState([ledger.matrix()], both), 'not-green');
    assert.deepEqual(awaitedMatrices([ledger.matrix()], awaited)[0]!.payloads.map((p) => p.name), [P1]);
    assert.equal(waitState([], []), 'green', 'nothing triggered: nothing to wait for');
  });
});

// ---- The simulators: executions that progress by scenario ------------------------------------------

describe('simulators: deck.outcomes move created executions on by themselves', () => {
  test('per job and payload: error then success; aborted forever; a job not listed stays triggered', async () => {
    const { scenario } = basicScenario(7302, {
      deck: {
        outcomes: [
          { job: 'azure-ipi-kata', payload: 'release:A', states: ['error', 'success'], after: '200ms' },
          { job: `${JOB_PREFIX}-aws-ipi-peerpods`, states: ['aborted'], after: '200ms' },
        ],
      },
    });
    const sims = await startSimulators(scenario);
    try {
      const gangway = new GangwayClient({ baseUrl: sims.gangwayUrl, timeoutMs: 3000, createForm: 'body', token: async () => scenario.gangway.token });
      const create = async (job: string, payload: string) =>
        (await gangway.createExecution({ jobName: `${JOB_PREFIX}-${job}`, envs: { RELEASE_IMAGE_LATEST: `registry/x/release:${payload}` }, labels: {}, annotations: {} })).execution.id;
      const ids = [await create('azure-ipi-kata', 'A'), await create('azure-ipi-kata', 'A'), await create('azure-ipi-kata', 'B'), await create('aws-ipi-peerpods', 'A'), await create('aws-ipi-peerpods', 'A'), await create('aws-ipi-coco', 'A')];
      const stateOf = (id: string) => sims.prowJobs().find((p) => p.metadata.name === id)!.status.state;
      const until = Date.now() + 5000;
      while (ids.slice(0, 2).concat(ids.slice(3, 5)).some((id) => !['error', 'success', 'aborted'].includes(stateOf(id)))) {
        assert.ok(Date.now() < until, 'ended within 5 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(ids.map(stateOf), ['error', 'success', 'triggered', 'aborted', 'aborted', 'triggered']);
      const done = sims.prowJobs().find((p) => p.metadata.name === ids[1])!.status;
      assert.ok(done.url && done.completionTime && done.pendingTime, 'a finished job has its URL, pending and completion times');
    } finally {
      await sims.close();
    }
  });
});

// ---- On a real dev server, with mocked activities -----------------------------------------------

const TASK_QUEUE = `retrigger-${process.pid}`;
const FOLLOW: FollowSettings = { pollEveryMs: 100, maxPollEveryMs: 200, deadlineMs: 60_000 };
const RETRIGGER: RetriggerSettings = { on: ['error', 'aborted'], maxRetries: 2, initialMs: 300, maxMs: 600, superseded: false };

/**
 * A scripted Gangway and Deck: the Nth execution of a job ends in `script[job][N-1]` (the last
 * repeats); `hold` keeps a job's executions running until released.
 */
class ScriptedUpstreams {
  readonly creates: TriggerRequest[] = [];
  private readonly states = new Map<string, ExecutionState['state']>();
  readonly held = new Set<string>();
  constructor(private readonly script: Record<string, Array<'success' | 'failure' | 'aborted' | 'error'>>) {}

  activities() {
    return {
      triggerGangwayJob: async (request: TriggerRequest): Promise<TriggerResult> => {
        this.creates.push(request);
        const n = this.creates.filter((r) => r.job.name === request.job.name && r.release.name === request.release.name).length;
        // The whole payload name (its version included): tests side by side never share an execution.
        const id = `${request.job.shortName}-${request.release.name}-${n}`;
        const plan = this.script[request.job.shortName] ?? ['success'];
        this.states.set(id, plan[Math.min(n, plan.length) - 1]!);
        return { executionId: id, httpStatus: 200 };
      },
      executionState: async (id: string): Promise<ExecutionState> => {
        const state = this.states.get(id);
        if (!state) return { state: 'missing' };
        if ([...this.held].some((h) => id.startsWith(h))) return { state: 'pending', podName: id };
        return { state, url: `https://prow.example/view/${id}`, podName: id };
      },
      awaitTriggerRecord: async (): Promise<TriggerRecordOutcome> => ({ state: 'none' }),
    };
  }

  createsOf(shortName: string): TriggerRequest[] {
    return this.creates.filter((r) => r.job.shortName === shortName);
  }
}

// The tests of this describe have their own versions (so their own ledgers), execution IDs and,
// for `run --wait`, their own task queue and simulators: they run side by side on one dev server.
describe('on a dev server: versionLedger retries (mocked activities), run --wait end to end', { ...serverOnly, concurrency: true }, () => {
  let temporal: TestTemporal;
  let upstreams: ScriptedUpstreams;
  const workers: Worker[] = [];
  let running: Promise<unknown>;
  let versionSeed = 50;
  const freshVersion = () => `9.${++versionSeed}`;
  const payloadOf = (version: string, day: number) => `${version}.0-0.nightly-2026-03-${String(day).padStart(2, '0')}-000000`;

  before(async () => {
    temporal = await startTestTemporal();
    upstreams = new ScriptedUpstreams({ 'azure-ipi-kata': ['error', 'success'], 'aws-ipi-coco': ['failure'], 'aws-ipi-peerpods': ['aborted'], 'azure-ipi-coco': ['error'] });
    const activities = upstreams.activities();
    for (const taskQueue of [TASK_QUEUE, gangwayTaskQueue(TASK_QUEUE)]) {
      workers.push(await Worker.create({ connection: temporal.native, namespace: temporal.server.namespace, taskQueue, workflowBundle: temporal.bundle, activities }));
    }
    running = Promise.all(workers.map((w) => w.run()));
  });

  after(async () => {
    for (const w of workers) w.shutdown();
    await running;
    await temporal?.stop();
  });

  const ledgers = (extra: Partial<ConstructorParameters<typeof LedgerClient>[1]> = {}) =>
    new LedgerClient(temporal.client, { taskQueue: TASK_QUEUE, follow: FOLLOW, retrigger: RETRIGGER, ...extra });

  /** What the pass does: claim attempt 1 and record it posted (the executions come from the script). */
  async function passTriggers(client: LedgerClient, version: string, payload: string, shortName: string): Promise<void> {
    const job = { name: `${JOB_PREFIX}-${shortName}`, shortName, payloadEnv: 'RELEASE_IMAGE_LATEST' };
    const claim = await client.claim(version, { payload, pullSpec: `registry/x:${payload}`, job, claimant: triggerWorkflowId(job.name, payload) });
    assert.ok(claim.granted);
    const { executionId } = await upstreams.activities().triggerGangwayJob({ job, version, release: { name: payload, pullSpec: `registry/x:${payload}` }, labels: {}, annotations: {} });
    await client.recordTrigger(version, { payload, job: job.name, attempt: 1, outcome: { executionId } });
  }

  const settledAs = (payload: string, shortName: string, verdict: string, attempts: number) => (m: LedgerMatrix) => {
    const j = jobIn(m, payload, shortName);
    return j?.verdict === verdict && j.attempts.length === attempts && !j.retryPending;
  };

  test('an ERROR is retried after the backoff, then green: attempts 2/3, its own trigger ID, key and label', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = payloadOf(version, 1);
    await passTriggers(client, version, p, 'azure-ipi-kata');
    const m = await matrixWhen(client, version, settledAs(p, 'azure-ipi-kata', 'success', 2), 'kata green on attempt 2');
    const kata = jobIn(m, p, 'azure-ipi-kata')!;
    assert.equal(kata.maxAttempts, 3, 'shown as 2/3');
    const [a1, a2] = kata.attempts;
    assert.deepEqual([a1!.state, a2!.state, a2!.retry], ['error', 'success', true]);
    const waited = Date.parse(a2!.triggeredAt!) - Date.parse(a1!.finishedAt!);
    assert.ok(waited >= RETRIGGER.initialMs, `the retry waited the backoff: ${waited} ms`);
    const retryId = attemptWorkflowId(KATA.name, p, 2);
    const child = await temporal.client.workflow.getHandle(retryId).describe();
    assert.deepEqual([child.type, child.status.name], ['triggerJob', 'COMPLETED']);
    const request = upstreams.createsOf('azure-ipi-kata').filter((r) => r.release.name === p)[1]!;
    assert.equal(request.labels['osc-build-watcher/attempt'], '2');
    assert.equal(request.labels['osc-build-watcher/trigger-key'], triggerKey(KATA.name, `registry/x:${p}`, 2));
    assert.equal(request.annotations['osc-build-watcher/workflow-id'], retryId);
    assert.equal(request.job.payloadEnv, 'RELEASE_IMAGE_LATEST', "the pass's payload variable");
    assert.equal(upstreams.createsOf('azure-ipi-kata').filter((r) => r.release.name === p).length, 2, 'exactly one create per attempt');

    // The ledger's history, with the retry's marker, timer and child, replays.
    const history = await client.handle(version).fetchHistory();
    const markers = (history.events ?? []).flatMap((e) => Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((d) => d.payloads ?? []));
    assert.ok(markers.some((payload) => JSON.stringify(defaultPayloadConverter.fromPayload(payload)).includes('ledger-retrigger')), 'the retrigger patch marker is recorded');
    await Worker.runReplayHistory({ workflowBundle: temporal.bundle }, history, ledgerWorkflowId(TASK_QUEUE, version));
  });

  test('a FAILURE is not retried by default; an ABORTED job stops at 3 attempts', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = payloadOf(version, 1);
    await passTriggers(client, version, p, 'aws-ipi-coco');
    await passTriggers(client, version, p, 'aws-ipi-peerpods');
    const m = await matrixWhen(client, version, (x) => settledAs(p, 'aws-ipi-coco', 'failure', 1)(x) && settledAs(p, 'aws-ipi-peerpods', 'aborted', 3)(x), 'failure once, aborted thrice');
    assert.deepEqual(jobIn(m, p, 'aws-ipi-peerpods')!.attempts.map((a) => [a.attempt, a.state, a.retry ?? false]), [
      [1, 'aborted', false],
      [2, 'aborted', true],
      [3, 'aborted', true],
    ]);
    assert.equal(upstreams.createsOf('aws-ipi-coco').filter((r) => r.release.name === p).length, 1, 'FAILURE: no retry');
    assert.equal(upstreams.createsOf('aws-ipi-peerpods').filter((r) => r.release.name === p).length, 3, 'ABORTED: 3 creates, no more');
    // Between the 2nd and 3rd attempt, the backoff doubled.
    const [, a2, a3] = jobIn(m, p, 'aws-ipi-peerpods')!.attempts;
    assert.ok(Date.parse(a3!.triggeredAt!) - Date.parse(a2!.finishedAt!) >= 600, 'second retry after 2 x initial');

    // Retest: one attempt beyond maxRetries, now, exactly once.
    const r = await client.retest(version, { job: 'aws-ipi-peerpods', payload: p, note: 'infra fixed' });
    assert.deepEqual([r.changed, r.nextAttempt], [true, 4]);
    const after = await matrixWhen(client, version, settledAs(p, 'aws-ipi-peerpods', 'aborted', 4), 'retest attempt 4 ended');
    const a4 = jobIn(after, p, 'aws-ipi-peerpods')!.attempts[3]!;
    assert.deepEqual([a4.retest, a4.retry], [true, undefined]);
    assert.equal(upstreams.createsOf('aws-ipi-peerpods').filter((x) => x.release.name === p).length, 4);
    const retestRun = await temporal.client.workflow.getHandle(attemptWorkflowId(`${JOB_PREFIX}-aws-ipi-peerpods`, p, 4)).describe();
    assert.equal(retestRun.status.name, 'COMPLETED');

    // Bad input: unknown payload or job, one line naming it.
    for (const [request, pattern] of [
      [{ job: 'aws-ipi-peerpods', payload: payloadOf(version, 9) }, /retest: payload .*-09-000000 is not in the ledger of OCP 9\.\d+ \(kept: /],
      [{ job: 'no-such-job', payload: p }, /retest: job no-such-job is not in the ledger of OCP 9\.\d+/],
    ] as const) {
      await assert.rejects(client.retest(version, request), (err: unknown) => err instanceof LedgerRejectedError && pattern.test(err.message) && !err.message.includes('\n'));
    }
  });

  test('a payload superseded mid-follow is not retried', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p1 = payloadOf(version, 1);
    const p2 = payloadOf(version, 2);
    upstreams.held.add('azure-ipi-coco-');
    try {
      await passTriggers(client, version, p1, 'azure-ipi-coco');
      await matrixWhen(client, version, (m) => jobIn(m, p1, 'azure-ipi-coco')?.verdict === 'running', 'p1 running');
      // A newer payload arrives while p1's job runs.
      await passTriggers(client, version, p2, 'azure-ipi-coco');
    } finally {
      upstreams.held.delete('azure-ipi-coco-');
    }
    const m = await matrixWhen(client, version, (x) => settledAs(p1, 'azure-ipi-coco', 'error', 1)(x) && (jobIn(x, p2, 'azure-ipi-coco')?.attempts.length ?? 0) === 3, 'p1 error, p2 retried');
    assert.equal(jobIn(m, p1, 'azure-ipi-coco')!.retryPending, undefined, 'superseded: no retry');
    assert.equal(upstreams.createsOf('azure-ipi-coco').filter((r) => r.release.name === p1).length, 1);
  });

  test('continue-as-new keeps the records, a pending retry included', async () => {
    const version = freshVersion();
    // A long backoff, so the retry is still pending while the ledger continues as new.
    const client = ledgers({ maxHistoryEvents: 20, retrigger: { ...RETRIGGER, initialMs: 4000, maxMs: 4000 } });
    const p = payloadOf(version, 1);
    await passTriggers(client, version, p, 'azure-ipi-kata');
    const pending = await matrixWhen(client, version, (m) => jobIn(m, p, 'azure-ipi-kata')?.retryPending !== undefined, 'retry pending');
    const planned = jobIn(pending, p, 'azure-ipi-kata')!.retryPending!;
    const firstRun = (await client.handle(version).describe()).runId;
    let runId = firstRun;
    for (let n = 1; runId === firstRun && n < 30; n++) {
      await client.pause(version, `note ${n}`);
      await client.resume(version);
      runId = (await client.handle(version).describe()).runId;
    }
    assert.notEqual(runId, firstRun, 'the ledger continued as new');
    const carried = await client.matrix(version);
    assert.deepEqual(jobIn(carried!, p, 'azure-ipi-kata')!.retryPending, planned, 'the same retry, at the same time');
    const m = await matrixWhen(client, version, settledAs(p, 'azure-ipi-kata', 'success', 2), 'the retry ran in a later run');
    assert.ok(Date.parse(jobIn(m, p, 'azure-ipi-kata')!.attempts[1]!.triggeredAt!) >= Date.parse(planned.at), 'not before its backoff');
    assert.equal(upstreams.createsOf('azure-ipi-kata').filter((r) => r.release.name === p).length, 2);
  });

  // End to end: the real CLI's `run --wait` with the simulators, against this file's dev server
  // (TEMPORAL_ADDRESS, a task queue of its own) rather than an embedded one: `--wait` keeps the
  // run's own worker going either way, and cli.test.ts proves the embedded server and its SQLite
  // file (a second run on it triggers nothing).
  test('run --wait (real CLI, simulators): pass 1 triggers, an ERROR is retried, --wait prints the matrix and exits 0; pass 2 triggers nothing', async () => {
    const { scenario } = basicScenario(7301, {
      deck: {
        outcomes: [
          { job: 'azure-ipi-kata', states: ['error', 'success'], after: '600ms' },
          { job: 'aws-ipi-coco', states: ['success'], after: '600ms' },
        ],
      },
    });
    const sims = await startSimulators(scenario);
    try {
      const dir = tempDir('osc-watcher-wait-');
      const tokenFile = writeTokenFile(dir);
      const config = path.join(dir, 'w.yaml');
      writeFileSync(
        config,
        [
          'retry: { initialInterval: 200ms, maximumInterval: 1s, maximumAttempts: 3 }',
          'gangway: { rateLimit: { perMinute: 600, burst: 10 } }',
          'trigger: { inFlightGrace: 2s, deckLagTolerance: 1s }',
          'http: { timeout: 2s }',
          'follow: { pollEvery: 200ms, maxPollEvery: 400ms, deadline: 60s }',
          'retrigger: { backoff: { initial: 300ms, max: 1s } }',
          '',
        ].join('\n'),
      );
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RELEASE_CONTROLLER_URL: sims.releaseControllerUrl,
        DECK_URL: sims.deckUrl,
        GANGWAY_URL: sims.gangwayUrl,
        GANGWAY_TOKEN_FILE: tokenFile,
        WATCHER_CONFIG: config,
        TEMPORAL_ADDRESS: temporal.server.address,
        TEMPORAL_NAMESPACE: temporal.server.namespace,
        TEMPORAL_TASK_QUEUE: `wait-${process.pid}`,
      };
      const args = ['run', '--wait', '--versions', '4.21', '--jobs', 'azure-ipi-kata,aws-ipi-coco'];
      const started = Date.now();
      const first = await cli(args, env);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
      assert.match(first.stdout, /azure-ipi-kata +success +attempts 2\/3 /);
      assert.match(first.stdout, /attempt 1: error/);
      assert.match(first.stdout, /\[4\.21\] azure-ipi-kata: attempt 2 started \(retry after error\)/);
      assert.match(first.stdout, /aws-ipi-coco +success +attempts 1\/3 /);
      assert.match(first.stdout, /Every triggered job is green/);
      assert.equal(sims.counters()['gangway.created'], 3, 'two jobs, one retry');
      // Pass 2, with the same configuration and task queue (the CLI is not what it shows, so it runs
      // on a worker in this process): the ledger's records, the retry's included, trigger nothing.
      const watcher = loadConfig({ configPath: config, env });
      const second = await temporal.withWorker(watcher, () =>
        temporal.client.workflow.execute(buildWatcher, { workflowId: `wait-pass-2-${process.pid}`, taskQueue: watcher.taskQueue, args: [{ versions: ['4.21'], jobs: ['azure-ipi-kata', 'aws-ipi-coco'] }] }),
      );
      assert.equal(second.totals.triggered, 0, JSON.stringify(second.versions[0]?.jobs));
      assert.ok(second.versions[0]!.jobs.every((j) => j.decision === 'skipped' && /already triggered by this watcher/.test(j.reason)), JSON.stringify(second.versions[0]?.jobs));
      assert.equal(sims.counters()['gangway.created'], 3, 'pass 2 triggers nothing');
      process.stdout.write(`# run --wait with a retry: ${seconds} s\n`);
    } finally {
      await sims.close();
    }
  });
});
