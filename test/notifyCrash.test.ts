// Exactly one message per event across SIGKILLs of the real `worker` process. The worker is
// killed (1) while its version ledger follows two jobs, which end while no worker runs, and
// (2) in each phase, right after the receiver answered a first POST with a 503 (every event's
// first POST gets one), so the retries run on a new worker. The receiver must see exactly one
// delivery per event: the distinct idempotency keys are the expected events, and the deliveries
// (2xx answers) are as many. Not killed here: a worker whose POST the receiver took but whose
// 2xx it never recorded (README, "Notifications": that retry posts again, with the same key).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { LedgerClient } from '../src/clients/ledger';
import { ledgerWorkflowId } from '../src/domain/ledger';
import { payloadFinalKey } from '../src/domain/notifications';
import { healthWorkflowId } from '../src/domain/upstreamHealth';
import type { PassRequest, PassSummary } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import type { DevServer } from '../src/temporal/devServer';
import { ensureSearchAttributes } from '../src/temporal/setup';
import { buildWatcher } from '../src/workflows';
import { tempDir, workerEnv, writeWatcherYaml } from './helpers/config';
import { killTestServer } from './helpers/server';
import { basicScenario } from './helpers/scenarios';
import { containsSecret, historyToJSON } from './helpers/historyJson';
import { WebhookReceiver } from './helpers/webhookReceiver';
import { KillTimeline, timeoutsWaited } from './helpers/killTrace';
import { eventually } from './helpers/waiting';
import { WorkerProcess } from './helpers/workerProcess';

let dev: DevServer;
let sims: Simulators;
let receiver: WebhookReceiver;
let connection: Connection;
let client: Client;
let worker: WorkerProcess;
let payload: string;
const taskQueue = `notify-crash-${process.pid}`;
const timeline = new KillTimeline();

before(async () => {
  const work = tempDir('osc-notify-crash-');
  const basic = basicScenario(4242);
  payload = basic.tags['4.21'];
  sims = await startSimulators(basic.scenario);
  receiver = await new WebhookReceiver().start();
  dev = await killTestServer();
  connection = await Connection.connect({ address: dev.address });
  await ensureSearchAttributes(connection, dev.namespace);
  client = new Client({ connection, namespace: dev.namespace });
  const webhookFile = path.join(work, 'notify-webhook-url');
  writeFileSync(webhookFile, `${receiver.url}\n`);
  const configFile = writeWatcherYaml(work, 'notify-crash.yaml', sims, ['4.20', '4.21'], [
    'http: { timeout: 2s }',
    'retry: { initialInterval: 100ms, maximumInterval: 500ms, maximumAttempts: 3 }',
    'trigger: { heartbeatTimeout: 2s, inFlightGrace: 2s, deckLagTolerance: 5s }',
    'follow: { pollEvery: 200ms, maxPollEvery: 1s, deadline: 5m }',
    // The ERROR below is final here (bounded retrigger would try it again: test/retrigger.test.ts).
    'retrigger: { on: [aborted] }',
    `notify: { webhookFile: ${webhookFile}, downPasses: 1 }`,
    `temporal: { taskQueue: ${taskQueue}, stickyQueueTimeout: 1s, shutdownGrace: 1s }`,
  ]);
  worker = new WorkerProcess(configFile, workerEnv(dev.address, dev.namespace));
  await worker.start();
});

after(async () => {
  await worker?.stop('SIGKILL');
  await connection?.close();
  await dev?.stop();
  await receiver?.close();
  await sims?.close();
});

let restarting: Promise<void> | undefined;
let kills = 0;
/** SIGKILL, then a new worker; one at a time (two events may fail at once). */
function killAndRestart(): Promise<void> {
  restarting ??= (async () => {
    kills++;
    await worker.stop('SIGKILL');
    timeline.mark('killed after a 503');
    await timeline.time('worker start', () => worker.start());
  })().finally(() => (restarting = undefined));
  return restarting;
}

async function until(ok: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${timeoutMs} ms; webhook requests: ${JSON.stringify(receiver.requests.map((r) => [r.key, r.status]))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function pendingActivities(workflowId: string): Promise<number> {
  return ((await client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? []).length;
}

test('SIGKILLs around notifications: exactly one delivery per event (distinct keys = deliveries)', async () => {
  const started = Date.now();
  // The first POST of every event is answered 503; the first of a phase also gets the worker
  // killed. (Once per phase: a kill while another event's retry is being answered 200 would be the
  // one window the sender cannot close.) Phase 1 kills once Temporal has recorded that 503 (the
  // ledger's retry, due 1 s later, runs on the next worker); phase 2 kills right then, so the
  // attempt dies with its worker unreported and is retried after its 20 s start-to-close timeout.
  let armed = true;
  let afterRecorded = true;
  receiver.responder = (_req, nth) => (nth === 1 ? { status: 503, body: 'busy' } : undefined);
  receiver.onAnswered = (req) => {
    if (req.status !== 503 || !armed) return;
    armed = false;
    if (!afterRecorded) {
      void killAndRestart();
      return;
    }
    const ledger = client.workflow.getHandle(ledgerWorkflowId(taskQueue, '4.21'));
    const retryScheduled = async () => ((await ledger.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'notify' && (a.attempt ?? 1) >= 2);
    void eventually(retryScheduled, 10_000, 20).then((recorded) => {
      timeline.mark(recorded ? 'the 503 recorded by Temporal' : 'the 503 not seen recorded within 10 s');
      return killAndRestart();
    });
  };

  // (1) A pass triggers two 4.21 jobs; the ledger follows them; the worker dies while they run.
  const pass = (id: string, request: PassRequest) => client.workflow.execute(buildWatcher, { workflowId: id, taskQueue, args: [request] });
  const a: PassSummary = await pass(`notify-crash-a-${process.pid}`, { versions: ['4.21'], jobs: ['azure-ipi-kata', 'aws-ipi-coco'] });
  const ids = new Map(a.versions[0]!.jobs.map((j) => [j.shortName, j.executionId!]));
  assert.equal(ids.size, 2);
  assert.ok([...ids.values()].every(Boolean), JSON.stringify(a.versions[0]!.jobs));
  const ledgers = new LedgerClient(client, { taskQueue });
  await until(async () => {
    const jobs = (await ledgers.matrix('4.21'))?.payloads.find((p) => p.name === payload)?.jobs ?? [];
    return jobs.length === 2 && jobs.every((j) => (j.attempts[0]?.following?.looks ?? 0) >= 1);
  }, 'both jobs looked at');
  timeline.mark('both jobs looked at');
  kills++;
  await worker.stop('SIGKILL');
  // No worker: both jobs end meanwhile.
  sims.setProwJobState(ids.get('azure-ipi-kata')!, 'success');
  sims.setProwJobState(ids.get('aws-ipi-coco')!, 'error');
  await timeline.time('worker start', () => worker.start());

  await until(() => receiver.deliveries().some((r) => r.key === payloadFinalKey('4.21', payload)), 'payload-final delivered');
  timeline.mark('payload-final delivered');
  await until(async () => (await pendingActivities(ledgerWorkflowId(taskQueue, '4.21'))) === 0, 'the ledger idle');
  await restarting;

  // (2) A pass whose one version cannot be checked: pass-failed, and (downPasses 1) the release controller down.
  armed = true;
  afterRecorded = false;
  sims.addFault({ endpoint: 'rc.latest', match: '4.20.0-0.nightly', status: 503 });
  const bId = `notify-crash-b-${process.pid}`;
  timeline.mark('phase 2');
  const b: PassSummary = await pass(bId, { versions: ['4.20'], dryRun: true });
  timeline.mark('pass b done');
  sims.clearFaults();

  const expected = [payloadFinalKey('4.21', payload), `pass-failed/${bId}`, `upstream-down/release-controller/${bId}`].sort();
  await until(() => expected.every((k) => receiver.deliveries().some((r) => r.key === k)), 'every event delivered');
  timeline.mark('every event delivered');
  // Nothing more under way: the ledger's sender and the pass are idle (so no late duplicate can come).
  await until(async () => (await pendingActivities(ledgerWorkflowId(taskQueue, '4.21'))) === 0, 'the ledger idle');
  assert.deepEqual(b.notifications?.map((n) => `${n.key} ${n.state}`).sort(), expected.filter((k) => !k.startsWith('payload')).map((k) => `${k} sent`).sort());

  assert.deepEqual(receiver.distinctKeys(), expected, 'distinct idempotency keys: the expected events');
  assert.equal(receiver.deliveries().length, expected.length, 'total deliveries: one per event');
  assert.equal(receiver.requests.length, expected.length * 2, 'each event: one 503 (then a kill), one delivery by the next worker');
  for (const r of receiver.deliveries()) assert.ok(r.body?.text?.endsWith(`[${r.key}]`), 'the key is in the message too');
  const final = receiver.deliveries().find((r) => r.key === payloadFinalKey('4.21', payload))!;
  assert.match(final.body!.text!, /is not green on OSC \(1 success, 1 error\)/);
  assert.match(JSON.stringify(final.body!.blocks), /`azure-ipi-kata` success, attempts 1 <http[^|]+\|Prow>/);
  assert.match(JSON.stringify(final.body!.blocks), /`aws-ipi-coco` error, attempts 1 <http[^|]+\|Prow>/);
  assert.equal(kills, 3, 'one while following, one per phase');

  // The webhook URL is nowhere: histories, the worker's output.
  for (const id of [ledgerWorkflowId(taskQueue, '4.21'), healthWorkflowId(taskQueue), a.workflowId, bId]) {
    const history = JSON.parse(historyToJSON(await client.workflow.getHandle(id).fetchHistory())) as unknown;
    assert.ok(!containsSecret(history, receiver.secretPath), `webhook URL in ${id}'s history`);
  }
  assert.ok(!worker.output.join('').includes(receiver.secretPath), "webhook URL in the worker's output");
  if (process.env.KILL_TRACE) process.stdout.write(`# notify crash timeouts waited ${JSON.stringify(await timeoutsWaited(client))}\n`);
  process.stdout.write(`# ${kills} SIGKILLs, ${worker.starts} worker starts, ${receiver.requests.length} webhook POSTs, ${receiver.deliveries().length} deliveries, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});
