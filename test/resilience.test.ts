import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { loadConfig } from '../src/config/load';
import { triggerKey, triggerWorkflowId } from '../src/domain/labels';
import type { PassSummary } from '../src/domain/types';
import { parseScenario, startSimulators, type HeldRequest, type Simulators } from '../src/simulators';
import { startDevServer, type DevServer } from '../src/temporal/devServer';
import { buildWatcher } from '../src/workflows';
import { CANARY_TOKEN, JOB_NAMES, tempDir, workerEnv, writeWatcherYaml } from './helpers/config';
import { pullSpecOf } from './helpers/scenarios';
import { WorkerProcess } from './helpers/workerProcess';

// Resilience of a pass to its surroundings: the Temporal server restarting under a running pass
// (same SQLite file, same address), and the worker being asked to stop (SIGTERM once: drain;
// twice: exit now). Real dev server, real `worker` CLI processes, real HTTP to the simulators.

const STREAMS = { '4.19': '4.19.0-0.nightly', '4.20': '4.20.0-0.nightly', '4.21': '4.21.0-0.nightly' };
const VERSIONS = Object.keys(STREAMS) as Array<keyof typeof STREAMS>;
const TRIGGER_KEY_LABEL = 'osc-build-watcher/trigger-key';
// Room for the released creates' answers to be recorded with 3 test files on 2 cores (5 s was
// too short once: one was cancelled at the grace and adopted by the next worker). The worker exits
// as soon as they are recorded, so a longer grace costs no time.
const SHUTDOWN_GRACE_MS = 10_000;
const SIGTERM_LINE = new RegExp(`Received SIGTERM: finishing in-flight activities \\(up to ${SHUTDOWN_GRACE_MS / 1000} s\\), then stopping; send it again to stop at once`);
/** How long the server stays stopped, after its stop; raise it to watch a longer outage. */
const OUTAGE_MS = Number(process.env.RESILIENCE_OUTAGE_MS ?? 2000);
const RUN = String(Date.now() % 1_000_000).padStart(6, '0');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tagFor(version: string, day: number): string {
  return `${version}.0-0.nightly-2026-11-${String(day).padStart(2, '0')}-${RUN}`;
}

function startScenario() {
  return startSimulators(
    parseScenario({
      releaseController: { streams: Object.fromEntries(Object.values(STREAMS).map((s) => [s, { tags: [] }])) },
      gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES },
    }),
  );
}

function writeConfig(dir: string, sims: Simulators, taskQueue: string, http = { timeout: '3s', inFlightGrace: '3s' }): string {
  return writeWatcherYaml(dir, 'watcher.yaml', sims, VERSIONS, [
    `http: { timeout: ${http.timeout} }`,
    'retry: { initialInterval: 200ms, maximumInterval: 1s, maximumAttempts: 100 }',
    // 5 s, not 2 s: the SDK sends a heartbeat at most every 0.8 x the timeout, so 2 s left 0.4 s
    // of slack on a loaded machine (the SIGTERM case asserts the held creates finish on attempt 1).
    `trigger: { heartbeatTimeout: 5s, inFlightGrace: ${http.inFlightGrace}, deckLagTolerance: 30s }`,
    `temporal: { taskQueue: ${taskQueue}, stickyQueueTimeout: 1s, shutdownGrace: ${SHUTDOWN_GRACE_MS / 1000}s }`,
  ]);
}

/** A new Accepted nightly on every stream; returns the trigger keys the pass must create, one ProwJob each. */
function publishNightlies(sims: Simulators, day: number): string[] {
  const keys: string[] = [];
  for (const [version, stream] of Object.entries(STREAMS)) {
    sims.addTag(stream, { name: tagFor(version, day), phase: 'Accepted' });
    for (const job of JOB_NAMES) keys.push(triggerKey(job, pullSpecOf(tagFor(version, day))));
  }
  return keys;
}

async function startPass(client: Client, configFile: string, workflowId: string): Promise<WorkflowHandle<typeof buildWatcher>> {
  const config = loadConfig({ configPath: configFile, env: {} });
  return client.workflow.start(buildWatcher, {
    taskQueue: config.taskQueue,
    workflowId,
    args: [{}],
    // A workflow task handed to a worker that is gone moves on after this.
    workflowTaskTimeout: '2s',
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Waits for `count` held creates, or whatever is held after `settleMs` once at least one is. */
async function heldCreates(sims: Simulators, count: number, settleMs = 3000): Promise<HeldRequest[]> {
  await waitFor('a held Gangway create', () => sims.held().some((h) => h.endpoint === 'gangway.create'));
  const deadline = Date.now() + settleMs;
  while (Date.now() < deadline && sims.held().filter((h) => h.endpoint === 'gangway.create').length < count) await sleep(25);
  return sims.held().filter((h) => h.endpoint === 'gangway.create');
}

/** Exactly one ProwJob per key; the summary's execution ids are those ProwJobs. */
function checkOnePerKey(sims: Simulators, keys: string[], summary: PassSummary): { duplicates: number; lost: number; problems: string[] } {
  const prowJobs = sims.prowJobs();
  let duplicates = 0;
  let lost = 0;
  const problems: string[] = [];
  const executionIds = new Set(summary.versions.flatMap((v) => v.jobs.map((j) => j.executionId)));
  for (const key of keys) {
    const mine = prowJobs.filter((pj) => pj.metadata.labels?.[TRIGGER_KEY_LABEL] === key);
    if (mine.length > 1) duplicates += mine.length - 1;
    if (mine.length === 0) lost += 1;
    if (mine.length !== 1) problems.push(`${key}: ${mine.length} ProwJobs`);
    else if (!executionIds.has(mine[0]!.metadata.name)) problems.push(`${key}: ProwJob ${mine[0]!.metadata.name} is not in the summary`);
  }
  return { duplicates, lost, problems };
}

/** The trigger key each POST to Gangway's create endpoint carried (answered or not). */
function postedKeys(sims: Simulators): string[] {
  return sims
    .requests('gangway')
    .filter((r) => r.method === 'POST' && r.path === '/v1/executions')
    .map((r) => {
      const body = r.body as { pod_spec_options?: { labels?: Record<string, string> } } | undefined;
      return String(body?.pod_spec_options?.labels?.[TRIGGER_KEY_LABEL]);
    });
}

/** POSTs that reached Gangway's create endpoint carrying one of `keys` (answered or not). */
function createPosts(sims: Simulators, keys: string[]): number {
  const wanted = new Set(keys);
  return postedKeys(sims).filter((k) => wanted.has(k)).length;
}

/** The helper keeps its process private; these tests need its stderr alone and whether it still runs. */
function childOf(worker: WorkerProcess): ChildProcess | undefined {
  return (worker as unknown as { child?: ChildProcess }).child;
}

function alive(worker: WorkerProcess): boolean {
  const child = childOf(worker);
  return !!child && child.exitCode === null && child.signalCode === null;
}

/** What the current worker process writes to stderr from now on. */
function captureStderr(worker: WorkerProcess): { text: () => string } {
  let text = '';
  childOf(worker)!.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  return { text: () => text };
}

interface Completion {
  workflowId: string;
  job: string;
  /** The trigger key, to count the POSTs that carried it. */
  key: string;
  attempt: number;
  identity: string;
  /** The activity returned an execution an earlier attempt had created, instead of posting. */
  adopted: boolean;
}

/** How each trigger's Gangway activity ended: attempt and worker identity of the completion, and whether it adopted an earlier attempt's job. */
async function activityCompletions(client: Client, summary: PassSummary): Promise<Completion[]> {
  const out: Completion[] = [];
  for (const v of summary.versions) {
    for (const j of v.jobs) {
      const workflowId = triggerWorkflowId(j.job, v.release!.name);
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const started = history.events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes;
      const completed = history.events?.find((e) => e.activityTaskCompletedEventAttributes)?.activityTaskCompletedEventAttributes;
      const data = completed?.result?.payloads?.[0]?.data;
      const result = data ? (JSON.parse(Buffer.from(data).toString()) as { foundFromEarlierAttempt?: boolean }) : {};
      out.push({
        workflowId,
        job: j.shortName,
        key: triggerKey(j.job, v.release!.pullSpec),
        attempt: started?.attempt ?? 0,
        identity: completed?.identity ?? '',
        adopted: result.foundFromEarlierAttempt === true,
      });
    }
  }
  return out;
}


// The two suites share nothing (each its own dev server, simulators, task queue, worker process)
// and are mostly waiting: they run side by side. The two SIGTERM cases share one worker's dev
// server and go one after the other.
describe('resilience, side by side', { concurrency: true }, () => {
  describe('Temporal server restart mid-pass (dev server on its SQLite file)', { concurrency: false }, () => {
    let dev: DevServer | undefined;
    let sims: Simulators;
    let worker: WorkerProcess;
    let configFile: string;
    let dbFile: string;
    let port: number;
    let work: string;

    before(async () => {
      work = tempDir('osc-restart-');
      dbFile = path.join(work, 'temporal.sqlite');
      sims = await startScenario();
      // The server picks its port (and picks again if another process takes it first); the
      // restart then reuses that one, so the worker's address stays the same.
      dev = await startDevServer({ dbFile });
      port = Number(dev.address.split(':').pop());
      // Long enough that the held creates are answered (during the outage), not abandoned. A retry
      // waits out the in-flight grace: a POST of the attempt before may still be on its way (the
      // server can hand out attempt 2 while attempt 1's create is held), as in production (60 s, 60 s).
      configFile = writeConfig(work, sims, `restart-${process.pid}`, { timeout: '10s', inFlightGrace: '10s' });
      worker = new WorkerProcess(configFile, workerEnv(dev.address, dev.namespace));
      await worker.start();
    });

    after(async () => {
      await worker?.stop('SIGKILL');
      await dev?.stop();
      await sims?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('server restart mid-pass: the pass completes, no duplicate, no lost trigger', { timeout: 120_000 + OUTAGE_MS }, async (t) => {
      const keys = publishNightlies(sims, 10);
      // First create: held after Gangway made the job (the worker gets the answer while the server
      // is away). Second: held before Gangway acts (the job is made while the server is away).
      // Every other create takes 700 ms, so creates are in flight throughout.
      sims.addFault({ endpoint: 'gangway.create', hold: 'after', times: 1 });
      sims.addFault({ endpoint: 'gangway.create', hold: 'before', times: 1 });
      sims.addFault({ endpoint: 'gangway.create', latencyMs: 700 });

      const address = dev!.address;
      const connection = await Connection.connect({ address });
      const client = new Client({ connection, namespace: dev!.namespace });
      const workflowId = `restart-${RUN}`;
      await startPass(client, configFile, workflowId);

      const held = await waitFor('two held creates', () => {
        const h = sims.held().filter((x) => x.endpoint === 'gangway.create');
        return h.length === 2 && h;
      });
      await waitFor('4 ProwJobs', () => sims.prowJobs().length >= 4);
      const createdBeforeStop = sims.prowJobs().length;
      const workerPid = worker.pid;

      const stopStarted = Date.now();
      await dev!.stop();
      dev = undefined;
      const stopMs = Date.now() - stopStarted;
      await connection.close().catch(() => undefined);
      // Gangway makes one job and answers two creates while the server is away.
      for (const h of held) sims.release(h.id);
      await sleep(OUTAGE_MS);
      const createdWhileDown = sims.prowJobs().length - createdBeforeStop;
      const workerAliveWhileDown = alive(worker);

      const restartStarted = Date.now();
      dev = await startDevServer({ dbFile, port });
      const restartMs = Date.now() - restartStarted;
      assert.equal(dev.address, address, 'the restarted server listens where the worker looks');
      const downMs = Date.now() - stopStarted;

      const connection2 = await Connection.connect({ address });
      let summary: PassSummary;
      try {
        const client2 = new Client({ connection: connection2, namespace: dev.namespace });
        summary = await client2.workflow.getHandle(workflowId).result();
      } finally {
        await connection2.close();
      }
      const passMs = Date.now() - stopStarted;
      sims.clearFaults();

      const output = worker.output.join('');
      const { duplicates, lost, problems } = checkOnePerKey(sims, keys, summary);
      const figures = {
        triggersExpected: keys.length,
        createdBeforeStop,
        createdWhileDown,
        serverStopMs: stopMs,
        serverStartMs: restartMs,
        serverDownMs: downMs,
        passDoneAfterStopMs: passMs,
        workerAliveWhileDown,
        workerAliveAfter: alive(worker),
        sameWorkerPid: worker.pid === workerPid,
        workerStarts: worker.starts,
        foundFromEarlierAttempt: (output.match(/Found the execution an earlier attempt created/g) ?? []).length,
        createPosts: createPosts(sims, keys),
        prowJobs: sims.prowJobs().length,
        duplicates,
        lost,
        totals: summary.totals,
      };
      t.diagnostic(`restart figures ${JSON.stringify(figures)}`);
      if (process.env.RESILIENCE_DEBUG) console.log(output);
      console.log(`restart figures ${JSON.stringify(figures)}`);

      assert.deepEqual(problems, []);
      assert.equal(duplicates, 0);
      assert.equal(lost, 0);
      assert.equal(summary.totals.triggered, 15);
      assert.equal(summary.totals.failed, 0);
      assert.equal(sims.counters()['gangway.created'], 15, 'every create at the simulator is one expected trigger');
      assert.ok(createdWhileDown >= 1, 'a create finished while the server was down');
      assert.equal(worker.starts, 1, 'the worker was never restarted');
      assert.ok(alive(worker) && worker.pid === workerPid, 'the same worker process survived the restart');
      assert.equal(output.includes(CANARY_TOKEN), false, 'the token appeared in worker output');
    });
  });

  // One after the other (a suite inherits its parent's concurrency): the two cases share one worker.
  describe('graceful shutdown of the worker CLI', { concurrency: false }, () => {
    let dev: DevServer;
    let sims: Simulators;
    let worker: WorkerProcess;
    let configFile: string;
    let connection: Connection;
    let client: Client;
    let work: string;

    before(async () => {
      work = tempDir('osc-shutdown-');
      sims = await startScenario();
      dev = await startDevServer();
      connection = await Connection.connect({ address: dev.address });
      client = new Client({ connection, namespace: dev.namespace });
      // Held creates must not time out on the client before the test releases them (up to ~8 s
      // after the first was held: settling, the SIGTERM message, a second). At 3 s, with 3 files
      // on 2 cores, the first one held timed out, its attempt 1 failed and attempt 2 on the next
      // worker adopted its job (12 !== 13 completed by the stopping worker on attempt 1).
      configFile = writeConfig(work, sims, `shutdown-${process.pid}`, { timeout: '12s', inFlightGrace: '12s' });
      worker = new WorkerProcess(configFile, workerEnv(dev.address, dev.namespace));
    });

    after(async () => {
      await worker?.stop('SIGKILL');
      await connection?.close();
      await dev?.stop();
      await sims?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('SIGTERM: in-flight activities finish within the grace, exit 0; a new worker finishes the pass', { timeout: 90_000 }, async (t) => {
      await worker.start();
      const keys = publishNightlies(sims, 11);
      // Every create is held after Gangway made the job, until the test lets the answers go.
      sims.addFault({ endpoint: 'gangway.create', hold: 'after' });
      const handle = await startPass(client, configFile, `sigterm-${RUN}`);
      const held = await heldCreates(sims, VERSIONS.length);
      const stderr = captureStderr(worker);
      const firstPid = worker.pid!;

      const sent = Date.now();
      const exit = worker.exited(SHUTDOWN_GRACE_MS + 10_000);
      process.kill(firstPid, 'SIGTERM');
      await waitFor('the SIGTERM message', () => stderr.text().includes('Received SIGTERM'), 5000);
      await sleep(1000);
      const aliveWhileHeld = alive(worker);
      sims.clearFaults();
      const released = Date.now();
      // Triggers run several at a time: as many creates as were in flight are held by now.
      const heldAtRelease = sims.releaseAll();
      const ended = await exit;
      const exitMs = Date.now() - sent;
      const afterReleaseMs = Date.now() - released;

      await worker.start();
      const summary = await handle.result();
      const completions = await activityCompletions(client, summary);
      const byFirstWorker = completions.filter((c) => c.identity === `${firstPid}@${os.hostname()}`);
      const output = worker.output.join('');
      const { duplicates, lost, problems } = checkOnePerKey(sims, keys, summary);
      const figures = {
        held: heldAtRelease,
        exit: ended,
        sigtermToExitMs: exitMs,
        releaseToExitMs: afterReleaseMs,
        aliveWhileHeld,
        completedByFirstWorker: byFirstWorker.length,
        attempts: completions.map((c) => c.attempt),
        createPosts: createPosts(sims, keys),
        duplicates,
        lost,
        totals: summary.totals,
      };
      t.diagnostic(`sigterm figures ${JSON.stringify(figures)}`);
      console.log(`sigterm figures ${JSON.stringify(figures)}`);

      assert.ok(held.length >= 1);
      assert.equal(aliveWhileHeld, true, 'the worker waits for its in-flight activities');
      assert.deepEqual(ended, { code: 0, signal: null });
      // The grace bounds the wait for in-flight activities; the process then still reports the
      // cancelled ones and exits, which on a loaded machine takes a moment more.
      assert.ok(exitMs < SHUTDOWN_GRACE_MS + 2000, `the worker exited ${exitMs} ms after SIGTERM, well beyond the ${SHUTDOWN_GRACE_MS} ms grace`);
      assert.match(
        stderr.text(),
        SIGTERM_LINE,
      );
      assert.match(stderr.text(), /Worker stopped/);
      assert.doesNotMatch(stderr.text(), /again: exiting without waiting/);
      // The held activities' results were recorded by the stopping worker, on their first attempt.
      assert.equal(byFirstWorker.length, heldAtRelease, JSON.stringify(completions));
      assert.ok(byFirstWorker.every((c) => c.attempt === 1), JSON.stringify(byFirstWorker));
      // An activity task the server handed to the stopping worker's poll just as it was cancelled is
      // lost until its heartbeat timeout, then retried by the new worker. That is allowed: what must
      // hold is that such an earlier attempt never posted (one POST per trigger, below) and that no
      // attempt had to adopt an execution an earlier one created.
      const retried = completions.filter((c) => c.attempt > 1);
      assert.ok(
        retried.every((c) => c.identity !== `${firstPid}@${os.hostname()}`),
        `the stopping worker completed a retried attempt: ${JSON.stringify(retried)}`,
      );
      assert.equal(createPosts(sims, keys), keys.length, 'one POST per trigger, none sent twice');
      assert.doesNotMatch(output, /earlier attempt/);
      assert.deepEqual(problems, []);
      assert.equal(summary.totals.triggered, keys.length);
      assert.equal(summary.totals.failed, 0);
    });

    test('SIGTERM twice: the worker exits at once (130); a new worker finishes the pass without a duplicate', { timeout: 90_000 }, async (t) => {
      if (!alive(worker)) await worker.start();
      const outputBefore = worker.output.length;
      const keys = publishNightlies(sims, 12);
      sims.addFault({ endpoint: 'gangway.create', hold: 'after' });
      const handle = await startPass(client, configFile, `sigterm-twice-${RUN}`);
      const held = await heldCreates(sims, VERSIONS.length);
      const stderr = captureStderr(worker);
      const pid = worker.pid!;

      const exit = worker.exited(10_000);
      process.kill(pid, 'SIGTERM');
      await waitFor('the first SIGTERM message', () => stderr.text().includes('Received SIGTERM'), 5000);
      const second = Date.now();
      process.kill(pid, 'SIGTERM');
      const ended = await exit;
      const exitMs = Date.now() - second;
      // The answers go nowhere now: the worker that asked is gone; the jobs exist at Gangway.
      sims.clearFaults();
      // Triggers run several at a time: every create in flight is held by now.
      const heldAtKill = sims.releaseAll();

      const restarted = Date.now();
      await worker.start();
      const summary = await handle.result();
      const passMs = Date.now() - restarted;
      const output = worker.output.slice(outputBefore).join('');
      const completions = await activityCompletions(client, summary);
      const found = (output.match(/Found the execution an earlier attempt created/g) ?? []).length;
      const { duplicates, lost, problems } = checkOnePerKey(sims, keys, summary);
      const figures = {
        held: heldAtKill,
        exit: ended,
        secondSignalToExitMs: exitMs,
        newWorkerToPassDoneMs: passMs,
        foundFromEarlierAttempt: found,
        retried: completions.filter((c) => c.attempt > 1).length,
        createPosts: createPosts(sims, keys),
        duplicates,
        lost,
        totals: summary.totals,
      };
      t.diagnostic(`sigterm-twice figures ${JSON.stringify(figures)}`);
      console.log(`sigterm-twice figures ${JSON.stringify(figures)}`);

      assert.ok(held.length >= 1);
      assert.deepEqual(ended, { code: 130, signal: null });
      assert.ok(exitMs < 2000, `the worker took ${exitMs} ms to exit after the second signal`);
      assert.match(stderr.text(), SIGTERM_LINE);
      assert.match(stderr.text(), /Received SIGTERM again: exiting without waiting for in-flight activities/);
      assert.doesNotMatch(stderr.text(), /Worker stopped/);
      // Each held create was retried by the new worker, which found the job instead of posting again.
      // (Triggers run several at a time, so others in flight that had not posted yet were retried too.)
      // A create the worker sent just before it exited can reach Gangway after the holds were
      // cleared (seen on a loaded machine): Gangway acts on it, nobody gets the answer, and the
      // retry finds that job too. So at least the held ones were found; none was posted twice (below).
      const adopted = completions.filter((c) => c.adopted).length;
      assert.ok(adopted >= heldAtKill && found >= heldAtKill, `${adopted} activities returned (${found} log lines found) an earlier attempt's execution; ${heldAtKill} creates were held`);
      assert.ok(completions.filter((c) => c.attempt > 1).length >= heldAtKill);
      assert.equal(createPosts(sims, keys), keys.length, 'one POST per trigger, none sent twice');
      assert.deepEqual(problems, []);
      assert.equal(duplicates, 0);
      assert.equal(lost, 0);
      assert.equal(summary.totals.triggered, keys.length);
      assert.equal(summary.totals.failed, 0);
    });
  });
});
