import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config/load';
import { triggerKey } from '../src/domain/labels';
import type { PassSummary } from '../src/domain/types';
import { parseScenario, startSimulators, type Fault, type Simulators } from '../src/simulators';
import type { DevServer } from '../src/temporal/devServer';
import { ensureSearchAttributes } from '../src/temporal/setup';
import { buildWatcher } from '../src/workflows';
import { CANARY_TOKEN, JOB_NAMES, tempDir, workerEnv, writeWatcherYaml } from './helpers/config';
import { pullSpecOf } from './helpers/scenarios';
import { killTestServer } from './helpers/server';
import { FreezableProxy } from './helpers/tcpProxy';
import { KillTimeline, stuckReport, timeoutsWaited, within } from './helpers/killTrace';
import { eventually } from './helpers/waiting';
import { WorkerProcess } from './helpers/workerProcess';

// The crash test: real worker processes are SIGKILLed at chosen and random points of Gangway
// triggers (and once while a pass fetches Deck) while passes run; every (job, payload) must end
// with exactly one ProwJob.

// `npm test` runs the short version (1 pass or more, until every point has happened once: a
// point that could not happen, say no create came before the pass ended, is tried again first;
// only then are points picked at random). `npm run test:crash` runs the long one
// (CRASH_PASSES=5, CRASH_MIN_KILLS=20). The seed is printed in the test's name; CRASH_SEED
// replays a run.
const PASSES = Number(process.env.CRASH_PASSES ?? 1);
// A pass can end before its kills are done (the injected faults that kill nothing take time too):
// more passes run, up to MAX_PASSES, until the run has MIN_KILLS kills and every point happened.
// The short version's minimum is one kill per kill point.
const MIN_KILLS = Number(process.env.CRASH_MIN_KILLS ?? 5);
// (The short version needs room: a pass on a busy machine may end after one or two kills.)
const MAX_PASSES = Math.max(PASSES * 2, PASSES + 5);
const KILLS_PER_PASS = Number(process.env.CRASH_KILLS_PER_PASS ?? 6);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
const STREAMS = { '4.19': '4.19.0-0.nightly', '4.20': '4.20.0-0.nightly', '4.21': '4.21.0-0.nightly' };
const TRIGGER_KEY_LABEL = 'osc-build-watcher/trigger-key';
const HTTP_TIMEOUT_MS = 1500;
// A pass takes 15-60 s; one that has not ended after this (a worker's death waited out for
// minutes) fails with what it waits on, instead of the test runner's timeout without a word.
const PASS_DEADLINE_MS = Number(process.env.CRASH_PASS_DEADLINE_MS ?? 240_000);

/** Where a worker dies (kill-*) or what else goes wrong around the POST without a kill. */
const POINTS = [
  'kill-before-post', // the POST is held before Gangway handles it: nothing created
  'kill-after-post', // Gangway created the job; the answer is held
  'kill-after-answer', // the worker got the answer; its report to Temporal is held back
  'kill-at-random', // whenever the clock says
  'kill-during-lookup', // a retry is asking Gangway what an earlier attempt created
  'post-timeout', // Gangway created the job and answers after the client gave up
  'post-5xx-after-create', // Gangway created the job and answered 502
] as const;
/**
 * Tried first in every pass until it happened once: the worker dies while the pass fetches Deck
 * (its GET held). The pass must go on after the heartbeat timeout, not Deck's 10-minute one.
 */
const DECK_POINT = 'kill-during-deck-fetch';
type RoundPoint = (typeof POINTS)[number];
type Point = RoundPoint | typeof DECK_POINT;

let dev: DevServer;
let proxy: FreezableProxy;
let sims: Simulators;
let client: Client;
let connection: Connection;
let worker: WorkerProcess;
let configFile: string;
const timeline = new KillTimeline();

/** Small deterministic PRNG, so a failing run can be replayed with CRASH_SEED. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}
const random = rng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
/**
 * Every point once, in an order the seed decides; one that could not happen goes to the back of
 * that round (a lookup happens only after some other point made a trigger retry); then points
 * picked at random.
 */
const firstRound = [...POINTS].map((p) => ({ p, k: random() })).sort((a, b) => a.k - b.k).map(({ p }) => p);
let lastMissed: RoundPoint | undefined;
/** After a miss, another point picked at random (a kill makes the retries a lookup needs), then the round goes on. */
const nextPoint = (): RoundPoint => {
  const after = lastMissed;
  lastMissed = undefined;
  return after ? pick(POINTS.filter((p) => p !== after)) : (firstRound[0] ?? pick(POINTS));
};
const missed = (point: RoundPoint) => {
  lastMissed = point;
  const i = firstRound.indexOf(point);
  if (i >= 0) firstRound.push(...firstRound.splice(i, 1));
};
const happened = (point: RoundPoint) => {
  const i = firstRound.indexOf(point);
  if (i >= 0) firstRound.splice(i, 1);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tagFor(version: string, pass: number): string {
  const day = String(10 + pass).padStart(2, '0');
  return `${version}.0-0.nightly-2026-11-${day}-${String(SEED).padStart(6, '0')}`;
}

before(async () => {
  const work = tempDir('osc-crash-');
  sims = await startSimulators(
    parseScenario({
      releaseController: { streams: Object.fromEntries(Object.values(STREAMS).map((s) => [s, { tags: [] }])) },
      deck: { lagMs: 1000 },
      gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES },
    }),
  );
  dev = await killTestServer();
  const [host, port] = dev.address.split(':');
  proxy = new FreezableProxy({ host: host!, port: Number(port) });
  await proxy.listen();
  connection = await Connection.connect({ address: dev.address });
  await ensureSearchAttributes(connection, dev.namespace);
  client = new Client({ connection, namespace: dev.namespace });

  configFile = writeWatcherYaml(work, 'crash.yaml', sims, Object.keys(STREAMS), [
    `http: { timeout: ${HTTP_TIMEOUT_MS}ms }`,
    'retry: { initialInterval: 200ms, maximumInterval: 1s, maximumAttempts: 100 }',
    `trigger: { heartbeatTimeout: 2s, inFlightGrace: ${HTTP_TIMEOUT_MS}ms, deckLagTolerance: 30s }`,
    `temporal: { taskQueue: crash-${process.pid}, stickyQueueTimeout: 1s, shutdownGrace: 2s }`,
  ]);
  worker = new WorkerProcess(configFile, workerEnv(proxy.address, dev.namespace));
  await worker.start();
});

after(async () => {
  await worker?.stop('SIGKILL');
  await connection?.close();
  await proxy?.close();
  await dev?.stop();
  await sims?.close();
});

/** Arms `fault` and waits until a request is held by it; undefined if the pass ends first or none comes. */
async function holdNext(fault: Fault, passDone: () => boolean, timeoutMs = 20_000) {
  sims.addFault(fault);
  const deadline = Date.now() + timeoutMs;
  while (!passDone() && Date.now() < deadline) {
    const held = sims.held().find((h) => h.endpoint === fault.endpoint && !h.clientGone);
    if (held) return held;
    await sleep(20);
  }
  sims.clearFaults();
  return undefined;
}

async function killAndRestart(): Promise<void> {
  await worker.stop('SIGKILL');
  await timeline.time('worker start', () => worker.start());
}

/** Kills the worker while `fault` holds one of its requests, then lets that request go on without it. */
async function killWhileHeld(fault: Fault, passDone: () => boolean, timeoutMs?: number): Promise<boolean> {
  const held = await holdNext(fault, passDone, timeoutMs);
  if (!held) return false;
  timeline.mark(`held ${fault.endpoint} ${fault.hold}`);
  await worker.stop('SIGKILL');
  sims.release(held.id);
  await timeline.time('worker start', () => worker.start());
  return true;
}

const createdLines = () => worker.output.join('').split('Gangway execution created').length - 1;
const answered502 = () => sims.requests('gangway').filter((r) => r.method === 'POST' && r.status === 502).length;

/** Makes `point` happen once during the running pass; whether it happened (a kill point: a worker was killed). */
async function inject(point: Point, passDone: () => boolean): Promise<boolean> {
  switch (point) {
    case 'kill-before-post':
    case 'kill-after-post':
      return killWhileHeld({ endpoint: 'gangway.create', hold: point === 'kill-before-post' ? 'before' : 'after', times: 1 }, passDone);
    case 'kill-after-answer': {
      const held = await holdNext({ endpoint: 'gangway.create', hold: 'after', times: 1 }, passDone);
      if (!held) return false;
      timeline.mark('held gangway.create after (to answer)');
      proxy.freeze();
      const before = createdLines();
      sims.release(held.id);
      // The worker logs the answer; its report to Temporal stays in the frozen proxy.
      await eventually(() => createdLines() > before, 3000, 10);
      await worker.stop('SIGKILL');
      proxy.thaw();
      await timeline.time('worker start', () => worker.start());
      return true;
    }
    case 'kill-at-random':
      await sleep(random() * 1500);
      if (passDone()) return false;
      await killAndRestart();
      return true;
    case DECK_POINT:
      return killWhileHeld({ endpoint: 'deck.prowjobs', hold: 'before', times: 1 }, passDone, 8000);
    case 'kill-during-lookup':
      return killWhileHeld({ endpoint: 'gangway.list', hold: 'before', times: 1 }, passDone, 8000);
    case 'post-timeout': {
      const held = await holdNext({ endpoint: 'gangway.create', hold: 'after', times: 1 }, passDone);
      if (!held) return false;
      // Answered only once the client has given up on it (its timeout closed the connection).
      const gaveUp = await eventually(() => sims.held().find((h) => h.id === held.id)?.clientGone === true, HTTP_TIMEOUT_MS + 10_000, 20);
      sims.release(held.id);
      return gaveUp;
    }
    case 'post-5xx-after-create': {
      const before = answered502();
      sims.addFault({ endpoint: 'gangway.create', status: 502, afterEffect: true, times: 1, body: 'upstream connect error' });
      // Until a create got its 502 (or the pass ended without another create: then it did not happen).
      const hit = await eventually(() => answered502() > before || passDone(), 20_000, 20) && answered502() > before;
      sims.clearFaults();
      return hit;
    }
  }
}

test(`crash test: ${PASSES}+ passes, up to ${KILLS_PER_PASS} SIGKILLs each, at least ${MIN_KILLS} in all, seed ${SEED}`, { timeout: 15 * 60_000 }, async (t) => {
  const config = loadConfig({ configPath: configFile, env: {} });
  const input = {};
  const kills: Record<string, number> = {};
  const faults: Record<string, number> = {};
  const expected: Array<{ pass: number; job: string; version: string; key: string }> = [];
  const summaries: PassSummary[] = [];
  const started = Date.now();

  let passes = 0;
  const killCount = () => Object.values(kills).reduce((a, b) => a + b, 0);
  for (let pass = 0; pass < MAX_PASSES && (pass < PASSES || killCount() < MIN_KILLS || firstRound.length > 0 || !kills[DECK_POINT]); pass++) {
    passes += 1;
    for (const [version, stream] of Object.entries(STREAMS)) {
      sims.addTag(stream, { name: tagFor(version, pass), phase: 'Accepted' });
      for (const job of JOB_NAMES) expected.push({ pass, job, version, key: triggerKey(job, pullSpecOf(tagFor(version, pass))) });
    }
    const handle = await client.workflow.start(buildWatcher, {
      taskQueue: config.taskQueue,
      workflowId: `crash-${SEED}-pass-${pass}`,
      args: [input],
      // A workflow task handed to a worker that dies is retried after this.
      workflowTaskTimeout: '2s',
    });
    let done = false;
    const result = handle.result().finally(() => (done = true));
    let killed = 0;
    timeline.mark(`pass ${pass} started`);
    // The last pass needed stops injecting once the run has its kills and every point happened.
    const enough = () => pass >= PASSES - 1 && killCount() >= MIN_KILLS && firstRound.length === 0 && !!kills[DECK_POINT];
    let deckFirst = !kills[DECK_POINT];
    const deadline = Date.now() + PASS_DEADLINE_MS;
    while (!done && killed < KILLS_PER_PASS && !enough() && Date.now() < deadline) {
      const point: Point = deckFirst ? DECK_POINT : nextPoint();
      deckFirst = false;
      timeline.mark(`pass ${pass}: ${point}`);
      const hit = await inject(point, () => done);
      // The Deck point is not in the round: it is tried again at the next pass's start.
      if (point !== DECK_POINT) (hit ? happened : missed)(point);
      if (!hit) continue;
      if (point.startsWith('kill-')) {
        killed += 1;
        kills[point] = (kills[point] ?? 0) + 1;
      } else {
        faults[point] = (faults[point] ?? 0) + 1;
      }
    }
    summaries.push(await within(result, Math.max(1000, deadline - Date.now()), `pass ${pass} (seed ${SEED})`, async () => [
      `timeline: ${timeline.marks.slice(-30).map((m) => `+${(m.ms / 1000).toFixed(1)} s ${m.what}`).join(' | ')}`,
      `held at the simulators: ${JSON.stringify(sims.held())}`,
      `running workflows:\n${await stuckReport(client)}`,
      worker.describe(),
    ].join('\n')));
    timeline.mark(`pass ${pass} done`);
    sims.clearFaults();
    sims.releaseAll();
  }

  const totalKills = killCount();
  const prowJobs = sims.prowJobs();
  let duplicates = 0;
  let lost = 0;
  const problems: string[] = [];
  for (const e of expected) {
    const mine = prowJobs.filter((pj) => pj.metadata.labels?.[TRIGGER_KEY_LABEL] === e.key);
    if (mine.length > 1) duplicates += mine.length - 1;
    if (mine.length === 0) lost += 1;
    const outcome = summaries[e.pass]!.versions.find((v) => v.version === e.version)?.jobs.find((j) => j.job === e.job);
    if (mine.length !== 1) problems.push(`pass ${e.pass} ${e.version} ${e.job}: ${mine.length} ProwJobs; summary says ${outcome?.decision}: ${outcome?.reason}`);
    else if (outcome?.decision !== 'triggered' || outcome.executionId !== mine[0]!.metadata.name) {
      problems.push(`pass ${e.pass} ${e.version} ${e.job}: summary says ${outcome?.decision} ${outcome?.executionId}, Deck has ${mine[0]!.metadata.name}`);
    }
  }
  const creates = sims.counters()['gangway.created'] ?? 0;
  const figures = {
    seed: SEED,
    passes,
    triggersExpected: expected.length,
    kills: totalKills,
    killsByPoint: kills,
    faultsWithoutKill: faults,
    workerStarts: worker.starts,
    prowJobsCreated: creates,
    duplicates,
    lost,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  if (process.env.KILL_TRACE) t.diagnostic(`crash timeouts waited ${JSON.stringify(await timeoutsWaited(client))}`);
  t.diagnostic(`crash figures ${JSON.stringify(figures)}`);
  console.log(`crash figures ${JSON.stringify(figures)}`);

  assert.deepEqual(problems, [], `seed ${SEED}`);
  assert.equal(duplicates, 0);
  assert.equal(lost, 0);
  assert.equal(creates, expected.length, 'every create at the simulator is one expected trigger');
  assert.ok(totalKills >= MIN_KILLS, `only ${totalKills} kills happened in ${passes} passes, fewer than ${MIN_KILLS} (seed ${SEED})`);
  assert.deepEqual([...POINTS, DECK_POINT].filter((p) => !(kills[p] || faults[p])), [], `every point happened at least once (seed ${SEED})`);
  const leaked = worker.output.join('').includes(CANARY_TOKEN);
  assert.equal(leaked, false, 'the token appeared in worker output');
  assert.ok(worker.output.join('').includes('earlier attempt'), 'no retry ever found an earlier attempt\'s execution');
});
