import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { PassSummary } from '../src/domain/types';
import { startSimulators } from '../src/simulators';
import { loadScenario } from '../src/simulators/scenario';
import { tempDir, writeTokenFile } from './helpers/config';

// The production topology (scripts/prod-topology.sh): Temporal built from its Go module, on
// PostgreSQL. Optional: it needs Go, PostgreSQL and about 10 minutes (more for the first build).
//  - From `npm test` with WATCHER_PROD_TOPOLOGY=1: runs the script, which sets everything up and
//    runs this file again, then the crash and budget tests, against that server.
//  - Run by the script (WATCHER_TEST_TEMPORAL_ADDRESS set): the watcher's first pass on the
//    fresh server, whose search attributes were registered a moment ago.

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const address = process.env.WATCHER_TEST_TEMPORAL_ADDRESS;
const namespace = process.env.WATCHER_TEST_TEMPORAL_NAMESPACE || 'default';

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function skipReason(): string | undefined {
  if (process.env.WATCHER_PROD_TOPOLOGY !== '1') return 'set WATCHER_PROD_TOPOLOGY=1 to build Temporal from its Go module and run on PostgreSQL (about 10 minutes)';
  if (address) return undefined;
  if (!onPath('go')) return 'Go is not installed (the Temporal server is built from go.temporal.io/server)';
  const pg = onPath('initdb') || spawnSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb'], { stdio: 'ignore' }).status === 0;
  if (!pg && !(process.getuid?.() === 0 && onPath('apt-get'))) return 'PostgreSQL (initdb, pg_ctl) is not installed';
  return undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: Math.round((Date.now() - started) / 100) / 10 });
    });
  });
}

const reason = skipReason();

if (!address) {
  test('production topology: scripts/prod-topology.sh (Temporal on PostgreSQL, first pass, crash test, 3 workers)', { skip: reason, timeout: 60 * 60_000 }, async (t) => {
    const res = await run('bash', [path.join(REPO, 'scripts', 'prod-topology.sh')], process.env, 55 * 60_000);
    for (const line of res.stdout.split('\n').filter((l) => l.startsWith('prod-topology figure'))) t.diagnostic(line);
    assert.equal(res.code, 0, `scripts/prod-topology.sh failed:\n${res.stderr.split('\n').slice(-30).join('\n')}`);
  });
} else {
  test(`first pass on a fresh production server (${address}): waits for the search attributes, stdout is the JSON report`, { skip: reason, timeout: 5 * 60_000 }, async (t) => {
    const scenario = loadScenario(path.join(REPO, 'scenarios', 'demo.yaml'));
    const sims = await startSimulators(scenario);
    try {
      const work = tempDir('osc-prod-topology-');
      const configFile = path.join(work, 'watcher.yaml');
      // The Gangway limit raised, as in the bench: the pass's own time, not the budget's.
      writeFileSync(
        configFile,
        [
          `releaseController: { url: ${sims.releaseControllerUrl} }`,
          `deck: { url: ${sims.deckUrl} }`,
          `gangway: { url: ${sims.gangwayUrl}, tokenFile: ${writeTokenFile(work, scenario.gangway.token)}, rateLimit: { perMinute: 600, burst: 20 } }`,
          'retry: { initialInterval: 200ms, maximumInterval: 1s, maximumAttempts: 3 }',
          `temporal: { taskQueue: prod-topology-${process.pid} }`,
          '',
        ].join('\n'),
      );
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, WATCHER_CONFIG: configFile };

      const first = await run(process.execPath, [CLI, 'run', '--json'], env, 4 * 60_000);
      let summary: PassSummary;
      try {
        summary = JSON.parse(first.stdout) as PassSummary;
      } catch (err) {
        assert.fail(`run --json wrote something else than one JSON document on stdout (${(err as Error).message}):\n${first.stdout.slice(0, 2000)}`);
      }
      const creates = sims.counters()['gangway.created'] ?? 0;
      const waited = /Waiting \(up to 60 s\) until the server accepts the search attributes/.test(first.stderr);
      const second = await run(process.execPath, [CLI, 'run', '--json'], env, 4 * 60_000);
      const figures = {
        firstPassCliSeconds: first.seconds,
        firstPassWorkflowSeconds: (Date.parse(summary.finishedAt!) - Date.parse(summary.startedAt)) / 1000,
        waitedForSearchAttributes: waited,
        triggered: summary.totals.triggered,
        creates,
        secondPassCliSeconds: second.seconds,
        secondPassCreates: (sims.counters()['gangway.created'] ?? 0) - creates,
      };
      t.diagnostic(`prod-topology figures ${JSON.stringify(figures)}`);
      console.log(`prod-topology figures ${JSON.stringify(figures)}`);

      assert.equal(summary.state, 'done');
      assert.ok(summary.totals.triggered > 0 && creates === summary.totals.triggered, `${summary.totals.triggered} triggered, ${creates} created`);
      // The core's warning for a failed workflow task: the pass must never have met unusable
      // attributes. The wait's own line quotes the server's answer to the probe, which is that.
      const waitLine = /^Waiting \(up to 60 s\) until the server accepts the search attributes: /;
      const passLines = first.stderr.split('\n').filter((line) => !waitLine.test(line));
      assert.doesNotMatch(passLines.join('\n'), /BadSearchAttributes|no mapping defined for search attribute/);
      assert.doesNotThrow(() => JSON.parse(second.stdout), 'the second run --json is JSON too');
      assert.equal(figures.secondPassCreates, 0, 'the second pass finds nothing new');
      assert.ok(!(first.stdout + first.stderr + second.stdout + second.stderr).includes(scenario.gangway.token), 'the token leaked into output');
    } finally {
      await sims.close();
    }
  });
}

test('the prod-topology script is there and executable by bash', () => {
  assert.ok(existsSync(path.join(REPO, 'scripts', 'prod-topology.sh')));
  assert.equal(spawnSync('bash', ['-n', path.join(REPO, 'scripts', 'prod-topology.sh')]).status, 0, 'bash -n: syntax error');
});
