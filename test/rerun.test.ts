// A `run` SIGKILLed mid-pass (a CI pod evicted or OOM-killed: the process and its embedded
// Temporal server die together), then one plain `run` on the same history. By the end of that
// second run every (job, payload) must be posted exactly once, and its report must be true:
// nothing called "already triggered" that was not posted, exit 0, nothing failed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { triggerKey } from '../src/domain/labels';
import type { PassSummary } from '../src/domain/types';
import { parseScenario, startSimulators, type Simulators } from '../src/simulators';
import { CANARY_TOKEN, JOB_NAMES, tempDir, writeTokenFile } from './helpers/config';
import { pullSpecOf } from './helpers/scenarios';

const CLI = path.resolve(__dirname, '../src/cli/main.js');
const STREAMS = { '4.20': '4.20.0-0.nightly', '4.21': '4.21.0-0.nightly' };
const TRIGGER_KEY_LABEL = 'osc-build-watcher/trigger-key';
const HTTP_TIMEOUT_MS = 1500;

/** Where the first run dies. */
const KILL_POINTS = [
  'before-first-post-lands', // every create held before Gangway acts on it
  'while-posts-held', // Gangway created the jobs; its answers are held
  'after-posts-answered', // some creates answered, the rest not yet sent
] as const;

let work: string;
const allSims: Simulators[] = [];

before(() => {
  work = tempDir('osc-rerun-');
});

after(async () => {
  for (const s of allSims) await s.close();
});

/** One round's world: its own simulators, config (task queue) and SQLite file, so the rounds run side by side. */
interface Round {
  sims: Simulators;
  configFile: string;
  dbFile: string;
}

async function newRound(round: number): Promise<Round> {
  const sims = await startSimulators(
    parseScenario({
      releaseController: { streams: Object.fromEntries(Object.values(STREAMS).map((s) => [s, { tags: [] }])) },
      gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES },
    }),
  );
  allSims.push(sims);
  const dir = path.join(work, `round-${round}`);
  mkdirSync(dir);
  const tokenFile = writeTokenFile(dir);
  const configFile = path.join(dir, 'rerun.yaml');
  writeFileSync(
    configFile,
    [
      `ocpVersions: [${Object.keys(STREAMS).map((v) => `"${v}"`).join(', ')}]`,
      `releaseController: { url: ${sims.releaseControllerUrl} }`,
      `deck: { url: ${sims.deckUrl} }`,
      `gangway: { url: ${sims.gangwayUrl}, tokenFile: ${tokenFile}, rateLimit: { perMinute: 600, burst: 20 } }`,
      `http: { timeout: ${HTTP_TIMEOUT_MS}ms }`,
      'retry: { initialInterval: 200ms, maximumInterval: 1s, maximumAttempts: 20 }',
      `trigger: { heartbeatTimeout: 2s, inFlightGrace: ${HTTP_TIMEOUT_MS}ms, deckLagTolerance: 20s }`,
      `temporal: { taskQueue: rerun-${process.pid}-${round}, stickyQueueTimeout: 1s, shutdownGrace: 2s }`,
      '',
    ].join('\n'),
  );
  return { sims, configFile, dbFile: path.join(dir, 'temporal.sqlite') };
}

interface RunProcess {
  child: ChildProcess;
  output: () => string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `osc-build-watcher run` in a process group of its own, as a CI step runs it. */
function startRun(r: Round, args: string[]): RunProcess {
  const child = spawn(process.execPath, [CLI, '--config', r.configFile, 'run', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, WATCHER_DB_FILE: r.dbFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, stdout: () => stdout, exited };
}

/** What an eviction does: the whole process group (the CLI and its embedded server) dies at once. */
async function killGroup(run: RunProcess): Promise<void> {
  try {
    process.kill(-run.child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
  await run.exited;
}

async function until(what: string, cond: () => boolean, run: RunProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${run.output().slice(-2000)}`);
    if (run.child.exitCode !== null) throw new Error(`run exited (${run.child.exitCode}) before ${what}:\n${run.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const answeredCreates = (sims: Simulators) => sims.requests('gangway').filter((r) => r.method === 'POST' && r.status === 200).length;

test('a run SIGKILLed mid-pass, then one plain run: every (job, payload) posted exactly once by its end, its report true', { timeout: 10 * 60_000, concurrency: true }, async (t) => {
  const figures: Array<Record<string, unknown>> = [];
  // The three kill points are independent (each round its own simulators, history and task
  // queue): they run side by side, each as a subtest.
  await Promise.all(
    KILL_POINTS.map((point, round) =>
      t.test(`killed ${point}, then one plain run`, async (st) => {
        const r = await newRound(round);
        const { sims } = r;
        const tags = Object.fromEntries(Object.entries(STREAMS).map(([v]) => [v, `${v}.0-0.nightly-2026-11-${String(20 + round).padStart(2, '0')}-000${round}00`]));
        for (const [v, stream] of Object.entries(STREAMS)) sims.addTag(stream, { name: tags[v]!, phase: 'Accepted' });
        const pairs = Object.entries(tags).flatMap(([version, tag]) => JOB_NAMES.map((job) => ({ version, job, tag, key: triggerKey(job, pullSpecOf(tag)) })));
        const postsBefore = answeredCreates(sims);

        // The first run, killed at `point`.
        if (point === 'before-first-post-lands') sims.addFault({ endpoint: 'gangway.create', hold: 'before' });
        if (point === 'while-posts-held') sims.addFault({ endpoint: 'gangway.create', hold: 'after' });
        const startedAt = Date.now();
        const first = startRun(r, []);
        if (point === 'after-posts-answered') await until('3 creates answered', () => answeredCreates(sims) >= postsBefore + 3, first);
        else await until('3 creates held', () => sims.held().filter((h) => h.endpoint === 'gangway.create').length >= 3, first);
        await killGroup(first);
        const firstRunMs = Date.now() - startedAt;
        sims.clearFaults();
        const createdByFirst = sims.prowJobs().filter((pj) => pairs.some((p) => p.key === pj.metadata.labels?.[TRIGGER_KEY_LABEL])).length;
        sims.releaseAll();

        // One plain run on the same history.
        const secondAt = Date.now();
        const second = startRun(r, ['--json']);
        const { code } = await second.exited;
        const secondRunMs = Date.now() - secondAt;
        assert.equal(code, 0, `round ${round} (${point}): second run exit ${code}\n${second.output().slice(-3000)}`);
        const summary = JSON.parse(second.stdout()) as PassSummary;

        // Counted at the end of the second run, not later: nothing may be left for a third.
        const prowJobs = sims.prowJobs();
        let postedTwice = 0;
        let neverPosted = 0;
        let misreported = 0;
        const problems: string[] = [];
        for (const p of pairs) {
          const mine = prowJobs.filter((pj) => pj.metadata.labels?.[TRIGGER_KEY_LABEL] === p.key);
          if (mine.length > 1) postedTwice += 1;
          if (mine.length === 0) neverPosted += 1;
          const outcome = summary.versions.find((v) => v.version === p.version)?.jobs.find((j) => j.job === p.job);
          const ok =
            mine.length === 1 &&
            outcome?.executionId === mine[0]!.metadata.name &&
            // Triggered by this run (or by the killed run's trigger, which this run waited for), or
            // skipped because it was posted before: by a finished trigger, or seen on Deck.
            (outcome.decision === 'triggered' || (outcome.decision === 'skipped' && /already triggered by this watcher|^Deck run \S+ is (triggered|pending|scheduling) with this payload/.test(outcome.reason)));
          if (!ok) {
            misreported += mine.length === 1 ? 1 : 0;
            problems.push(`${p.version} ${p.job.slice(-20)}: ${mine.length} ProwJobs; report: ${outcome?.decision} ${outcome?.executionId} ${outcome?.reason}`);
          }
        }
        const round_ = { round, point, pairs: pairs.length, createdByFirstRun: createdByFirst, postedTwice, neverPosted, misreported, triggered: summary.totals.triggered, skipped: summary.totals.skipped, failed: summary.totals.failed, firstRunMs, secondRunMs };
        figures.push(round_);
        st.diagnostic(`rerun figures ${JSON.stringify(round_)}`);
        assert.deepEqual(problems, [], `round ${round} (${point})`);
        assert.equal(summary.totals.failed, 0);
        assert.equal(summary.state, 'done');
      }),
    ),
  );
  figures.sort((a, b) => Number(a.round) - Number(b.round));
  console.log(`rerun figures ${JSON.stringify(figures)}`);
});
