import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { PassSummary } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import { startDevServer, type DevServer } from '../src/temporal/devServer';
import { CANARY_TOKEN, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { type CliResult, runCli } from './helpers/cli';
import { until } from './helpers/waiting';

// The cases are independent (each has its own simulators, seed, task queue, and the one that is
// about the embedded server its own SQLite file), so they run side by side: most of a case is a
// CLI process waiting on Temporal. The shared dev server is the file's own.

const allOutput: string[] = [];

async function cli(args: string[], env: NodeJS.ProcessEnv, onSpawn?: (pid: number) => void): Promise<CliResult> {
  const result = await runCli(args, env, onSpawn);
  allOutput.push(result.stdout, result.stderr);
  return result;
}

let server: DevServer;
let work: string;
let tokenFile: string;
let configFile: string;
let seed = 500;
const sims: Simulators[] = [];

before(async () => {
  server = await startDevServer();
  work = tempDir();
  tokenFile = writeTokenFile(work);
  // Written once: the cases run side by side, and a file rewritten while a CLI reads it could be read empty.
  configFile = path.join(work, 'fast-retries.yaml');
  writeFileSync(configFile, 'retry:\n  initialInterval: 50ms\n  maximumInterval: 200ms\n  maximumAttempts: 3\ngangway:\n  rateLimit: { perMinute: 600, burst: 50 }\nhttp:\n  timeout: 5s\ntrigger:\n  inFlightGrace: 5s\n  heartbeatTimeout: 5s\n');
});

after(async () => {
  for (const s of sims) await s.close();
  await server?.stop();
});

async function simsFor(extra: Record<string, unknown> = {}) {
  const { scenario, tags } = basicScenario(++seed, extra);
  const s = await startSimulators(scenario);
  sims.push(s);
  return { s, tags };
}

function envFor(s: Simulators, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: work,
    RELEASE_CONTROLLER_URL: s.releaseControllerUrl,
    DECK_URL: s.deckUrl,
    GANGWAY_URL: s.gangwayUrl,
    GANGWAY_TOKEN_FILE: tokenFile,
    WATCHER_CONFIG: configFile,
    OCP_VERSIONS: '4.19,4.20,4.21',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: `cli-${++seed}`,
    ...more,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

describe('osc-build-watcher CLI', () => {
  describe('cases, side by side', { concurrency: true }, () => {
    test('run on an embedded dev server prints the report; a second run with the same SQLite file triggers nothing', async () => {
      const { s, tags } = await simsFor();
      const env = envFor(s, { TEMPORAL_ADDRESS: undefined, WATCHER_DB_FILE: path.join(work, 'embedded.sqlite') });
      const first = await cli(['run'], env);
      assert.equal(first.code, 0, first.stderr);
      const out = first.stdout;
      assert.match(out, /OpenShift Sandboxed Containers Build Watcher/);
      assert.match(out, /✓ Gangway API token loaded/);
      assert.match(out, /Processing OCP 4\.21\n/);
      assert.match(out, new RegExp(`✓ Latest accepted release: ${tags['4.21']}`));
      assert.match(out, new RegExp(`→ Triggered for OCP ${tags['4.21']} \\(HTTP 200, execution [\\w-]+\\): no run of this payload on Deck`));
      assert.match(out, /\nJobs triggered: 15\nJobs skipped: 0\nJobs failed: 0\n/);
      assert.match(out, /✓ Build watcher completed successfully\n*$/);
      assert.match(out, /embedded dev server/);
      assert.match(out, /\[4\.20\] azure-ipi-kata: → Triggered/, 'progress lines as the pass goes');

      // Deck forgets; the embedded server's SQLite file remembers.
      s.reset();
      const second = await cli(['run'], env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /\nJobs triggered: 0\nJobs skipped: 15\n/);
      assert.match(second.stdout, /✓ Skipped [^:]+: already triggered by this watcher/);
      assert.equal(s.counters()['gangway.create'] ?? 0, 0);
    });

    test('a stream with no Accepted nightly yet: in the report, exit 0, and no warning', async () => {
      const { s, tags } = await simsFor();
      const res = await cli(['run'], envFor(s, { OCP_VERSIONS: '4.18,4.19' }));
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /⚠ No Accepted release for 4\.18\.0-0\.nightly: release controller 4\.18\.0-0\.nightly\/latest: no tags exist/);
      assert.match(res.stdout, new RegExp(`→ Triggered for OCP ${tags['4.19']}`));
      assert.match(res.stdout, /\[4\.18\] no release: /, 'the progress line says it');
      // Neither the SDK's "Activity failed" nor the pass's own log warns of a normal state.
      assert.doesNotMatch(res.stderr, / WARN /, res.stderr);
    });

    test('run --json prints the summary; summary <id> reads it back', async () => {
      const { s } = await simsFor();
      const env = envFor(s);
      // Its own copy: the cases run side by side, and each moves the shared counter on.
      const id = seed;
      const res = await cli(['run', '--json', '--versions', '4.21', '--jobs', 'aws-ipi-coco,azure-ipi-kata', '--workflow-id', `cli-json-${id}`], env);
      assert.equal(res.code, 0, res.stderr);
      const summary = JSON.parse(res.stdout) as PassSummary;
      assert.equal(summary.totals.triggered, 2);
      assert.deepEqual(summary.versions[0].jobs.map((j) => j.shortName), ['aws-ipi-coco', 'azure-ipi-kata']);

      const back = await cli(['summary', `cli-json-${id}`, '--json'], env);
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual((JSON.parse(back.stdout) as PassSummary).totals, summary.totals);

      // A newer nightly: the next pass's report looks back at the one before, in JSON and in text.
      const older = summary.versions[0].release!.name;
      const newer = older.replace('2026-11-24', '2026-11-25');
      s.addTag('4.21.0-0.nightly', { name: newer, phase: 'Accepted' });
      const next = await cli(['run', '--json', '--versions', '4.21', '--jobs', 'aws-ipi-coco,azure-ipi-kata', '--workflow-id', `cli-json-next-${id}`], env);
      assert.equal(next.code, 0, next.stderr);
      const nextSummary = JSON.parse(next.stdout) as PassSummary;
      assert.equal(nextSummary.versions[0].release?.name, newer);
      assert.deepEqual(nextSummary.versions[0].previous, [
        { name: older, jobs: [{ shortName: 'aws-ipi-coco', verdict: 'pending', attempts: 1 }, { shortName: 'azure-ipi-kata', verdict: 'pending', attempts: 1 }] },
      ]);
      const text = await cli(['summary', `cli-json-next-${id}`], env);
      assert.match(text.stdout, new RegExp(`Previous payloads \\(verdicts so far\\):\\n  ${older}: aws-ipi-coco pending, azure-ipi-kata pending\\n`));

      const missing = await cli(['summary', 'no-such-pass'], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^ERROR: no workflow no-such-pass in namespace default\n$/);
    });

    // One run shows both (a run's process is the costly part): a failed trigger's exit code and
    // job line, and GANGWAY_API_TOKEN standing in for the token file (the canary: never printed).
    test('exit 1 when a trigger failed, with the status and the reason on the job line; GANGWAY_API_TOKEN stands in for the token file, and is never printed', async () => {
      const { s } = await simsFor({ faults: [{ endpoint: 'gangway.create', matchBody: 'azure-ipi-kata', status: 403, body: 'forbidden', times: 1 }] });
      const res = await cli(['run', '--versions', '4.21'], envFor(s, { GANGWAY_TOKEN_FILE: path.join(work, 'absent'), GANGWAY_API_TOKEN: `${CANARY_TOKEN}\n` }));
      assert.equal(res.code, 1);
      assert.match(res.stdout, /✗ Failed to trigger for OCP 4\.21\.0-0\.nightly-[\d-]+ \(HTTP 403\): Gangway create \S+azure-ipi-kata: HTTP 403 forbidden/);
      assert.match(res.stdout, /Jobs triggered: 4\nJobs skipped: 0\nJobs failed: 1\n/);
      assert.match(res.stdout, /✗ Build watcher completed with 1 failed trigger\(s\)/);
      const creates = s.requests('gangway').filter((r) => r.method === 'POST');
      assert.equal(creates.length, 5);
      assert.deepEqual(creates.map((r) => r.authorized), [true, true, true, true, true], 'every create carried the token from GANGWAY_API_TOKEN');
    });

    test('--dry-run posts nothing and says what it would trigger', async () => {
      const { s } = await simsFor();
      const res = await cli(['run', '--dry-run', '--versions', '4.19'], envFor(s, { GANGWAY_TOKEN_FILE: path.join(work, 'absent') }));
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /→ Would trigger for OCP 4\.19\.0-0\.nightly-\S+ \(dry run\)/);
      assert.match(res.stdout, /Jobs that would be triggered: 5/);
      assert.equal(s.requests('gangway').length, 0);
    });

    test('rehearsal: JOB_NAME with "rehearse" exits 0 without contacting anything', async () => {
      const { s } = await simsFor();
      const res = await cli(['run'], envFor(s, { JOB_NAME: 'rehearse-12345-periodic-ci-openshift-release-build-watcher' }));
      assert.equal(res.code, 0);
      assert.match(res.stdout, /^Rehearsal job detected .*skipping build watcher\n$/);
      assert.equal(s.requests().length, 0);
    });

    test('a missing or empty token file stops the run before anything is triggered', async () => {
      const { s } = await simsFor();
      const absent = path.join(work, 'no-token-here');
      const res = await cli(['run'], envFor(s, { GANGWAY_TOKEN_FILE: absent }));
      assert.equal(res.code, 1);
      assert.equal(res.stdout, '');
      assert.equal(res.stderr, `ERROR: Gangway API token not found at ${absent}\n`);
      const empty = path.join(work, 'empty-token');
      writeFileSync(empty, '  \n');
      const res2 = await cli(['run'], envFor(s, { GANGWAY_TOKEN_FILE: undefined, SECRETS_DIR: work.replace(/$/, '/nowhere') }));
      assert.equal(res2.code, 1);
      assert.match(res2.stderr, /^ERROR: Gangway API token not found at .*\/nowhere\/gangway-api-token\n$/);
      const res3 = await cli(['run'], envFor(s, { GANGWAY_TOKEN_FILE: empty }));
      assert.equal(res3.code, 1);
      assert.equal(s.requests().length, 0);
    });

    test('bad input: one line naming the problem, exit 2', async () => {
      const { s } = await simsFor();
      const bad = path.join(work, 'bad.yaml');
      writeFileSync(bad, 'gangway:\n  url: https://gangway.example\n  tokn: x\n');
      const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
        [['--config', bad, 'run'], {}, /^ERROR: config .*bad\.yaml: unknown key "gangway\.tokn"\n$/],
        [['run'], { OCP_VERSIONS: '4.21,latest' }, /^ERROR: OCP_VERSIONS: "latest" is not a version like 4\.21\n$/],
        [['run'], { DECK_URL: 'prow.ci.openshift.org' }, /^ERROR: DECK_URL: must be a base URL/],
        [['run', '--versions', '4.99'], {}, /^ERROR: --versions: "4\.99" is not a watched version/],
        [['run', '--bogus'], {}, /unknown option '--bogus'/],
        [['launch'], {}, /unknown command 'launch'/],
        [['summary'], {}, /missing required argument 'workflow-id'/],
        [['schedule', 'explode'], {}, /value 'explode' is invalid for argument 'action'/],
      ];
      // Independent processes that stop at their first line: run side by side.
      // (envFor rewrites the config file: every env is made before any process reads it.)
      const envs = cases.map(([, more]) => envFor(s, more));
      const results = await Promise.all(cases.map(([args], i) => cli(args, envs[i]!)));
      for (const [i, [args, , expected]] of cases.entries()) {
        const res = results[i]!;
        assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
        assert.match(res.stderr, expected);
        assert.equal(res.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${res.stderr}`);
      }
      assert.equal(s.requests().length, 0);
    });

    test('schedule apply/describe/pause/unpause/trigger/delete, with a worker that stops on SIGTERM', async () => {
      const { s } = await simsFor();
      const env = envFor(s, { OCP_VERSIONS: '4.19' });
      const connection = await Connection.connect({ address: server.address });
      const client = new Client({ connection });
      try {
        const applied = await cli(['schedule', 'apply'], env);
        assert.equal(applied.code, 0, applied.stderr);
        assert.match(applied.stdout, /Created schedule osc-build-watcher-daily: "0 0 \* \* \*" UTC/);
        const reapplied = await cli(['schedule', 'apply'], env);
        assert.match(reapplied.stdout, /Updated schedule/);
        const described = await cli(['schedule', 'describe'], env);
        assert.match(described.stdout, /cron: 0 0 \* \* \* \(UTC\)/);
        assert.match(described.stdout, /overlap: SKIP/);
        assert.match(described.stdout, /next runs: \d{4}-\d\d-\d\dT00:00:00\.000Z/);
        assert.equal((await cli(['schedule', 'pause', '--note', 'maintenance'], env)).code, 0);
        assert.equal((await client.schedule.getHandle('osc-build-watcher-daily').describe()).state.paused, true);
        assert.equal((await cli(['schedule', 'unpause'], env)).code, 0);

        let workerPid = 0;
        const worker = cli(['worker'], env, (pid) => (workerPid = pid));
        assert.equal((await cli(['schedule', 'trigger'], env)).code, 0);
        let done = 0;
        await until(
          async () => {
            done = 0;
            for await (const wf of client.workflow.list({ query: `WorkflowType = 'buildWatcher' AND ExecutionStatus = 'Completed'` })) {
              if (wf.workflowId.startsWith('osc-build-watcher-daily-pass')) done++;
            }
            return done > 0;
          },
          'the triggered scheduled pass completed on the worker',
          { timeoutMs: 60_000, everyMs: 200 },
        );
        assert.equal(done, 1, 'the triggered scheduled pass completed on the worker, once');
        assert.equal(s.counters()['gangway.created'], 5);
        process.kill(workerPid, 'SIGTERM');
        const stopped = await worker;
        assert.equal(stopped.code, 0, stopped.stderr);
        assert.match(stopped.stderr, /Worker stopped/);

        const noRange = await cli(['schedule', 'backfill', '--start', '2026-11-20T00:00:00Z'], env);
        assert.equal(noRange.code, 2);
        assert.match(noRange.stderr, /^ERROR: schedule backfill needs --start and --end/);
        const backfilled = await cli(['schedule', 'backfill', '--start', '2026-11-20T00:00:00Z', '--end', '2026-11-21T00:00:00Z'], env);
        assert.equal(backfilled.code, 0, backfilled.stderr);
        assert.match(backfilled.stdout, /Backfilled schedule osc-build-watcher-daily from 2026-11-20T00:00:00.000Z/);

        const deleted = await cli(['schedule', 'delete'], env);
        assert.equal(deleted.code, 0);
        const gone = await cli(['schedule', 'describe'], env);
        assert.equal(gone.code, 2);
        assert.match(gone.stderr, /schedule osc-build-watcher-daily does not exist/);
      } finally {
        await connection.close();
      }
    });
  });

  test('the canary token appears in no CLI output', () => {
    assert.ok(allOutput.join('').length > 1000);
    assert.ok(!allOutput.some((o) => o.includes(CANARY_TOKEN)));
  });
});
