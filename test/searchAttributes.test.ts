import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { PassSummary } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import { startDevServer, type DevServer } from '../src/temporal/devServer';
import { awaitSearchAttributesUsable, SearchAttributesNotUsableError } from '../src/temporal/searchAttributeProbe';
import { CANARY_TOKEN, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { runCli as cli } from './helpers/cli';

// A fresh production server (Temporal on PostgreSQL, scripts/prod-topology.sh) does not accept a
// search attribute for a second or more after registering it: every workflow task that sets one
// fails with BadSearchAttributes until each service's namespace cache has it. The dev server does
// the same once its forced cache refresh is off and the attributes are not pre-registered.

// Production's lag (v1.32 refreshes every 2 s by default); 4 s here, so that the run meets it (the
// diagnostic says whether it waited) without waiting 10 s for a refresh.
const LAGGING = ['system.forceSearchAttributesCacheRefreshOnRead=false', 'system.namespaceCacheRefreshInterval="4s"'];

let dev: DevServer;
let sims: Simulators;
let connection: Connection;

before(async () => {
  sims = await startSimulators(basicScenario(Date.now() % 1_000_000).scenario);
  dev = await startDevServer({ searchAttributes: false, dynamicConfigValues: LAGGING });
  connection = await Connection.connect({ address: dev.address });
});

after(async () => {
  await connection?.close();
  await dev?.stop();
  await sims?.close();
});


test('run --json on a server without the attributes: registers them, waits until usable, no workflow task fails, stdout is JSON', { timeout: 120_000 }, async (t) => {
  const work = tempDir('osc-search-attributes-');
  const configFile = path.join(work, 'watcher.yaml');
  writeFileSync(
    configFile,
    [
      'ocpVersions: ["4.19", "4.20", "4.21"]',
      `releaseController: { url: ${sims.releaseControllerUrl} }`,
      `deck: { url: ${sims.deckUrl} }`,
      `gangway: { url: ${sims.gangwayUrl}, tokenFile: ${writeTokenFile(work)}, rateLimit: { perMinute: 600, burst: 50 } }`,
      'retry: { initialInterval: 50ms, maximumInterval: 200ms, maximumAttempts: 3 }',
      `temporal: { taskQueue: search-attributes-${process.pid} }`,
      '',
    ].join('\n'),
  );
  const started = Date.now();
  const res = await cli(['run', '--json'], {
    PATH: process.env.PATH,
    HOME: work,
    WATCHER_CONFIG: configFile,
    TEMPORAL_ADDRESS: dev.address,
    TEMPORAL_NAMESPACE: dev.namespace,
  });
  const waited = res.stderr.includes('until the server accepts the search attributes');
  t.diagnostic(`run took ${Date.now() - started} ms; waited for the attributes: ${waited}`);

  let summary: PassSummary;
  try {
    summary = JSON.parse(res.stdout) as PassSummary;
  } catch (err) {
    assert.fail(`stdout is not one JSON document (${(err as Error).message}):\n${res.stdout.slice(0, 1500)}\nstderr:\n${res.stderr.slice(-1500)}`);
  }
  assert.equal(res.code, 0, res.stderr.slice(-1500));
  assert.equal(summary.totals.triggered, 15);
  // Only our own line may name the server's refusal; a failed workflow task would log it too.
  const others = res.stderr.split('\n').filter((l) => !l.startsWith('Waiting (up to 60 s)'));
  assert.deepEqual(others.filter((l) => /BadSearchAttributes|no mapping defined/.test(l)), []);
  assert.ok(!res.stderr.includes(CANARY_TOKEN) && !res.stdout.includes(CANARY_TOKEN));

  // Not one workflow task of the pass or its children failed.
  const client = new Client({ connection, namespace: dev.namespace });
  const ids = [summary.workflowId, ...summary.versions.map((v) => `${summary.workflowId}/ocp-${v.version}`)];
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const failed = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
    assert.deepEqual(
      failed.map((e) => e.workflowTaskFailedEventAttributes?.failure?.message),
      [],
      `${id}: failed workflow tasks`,
    );
  }
});

test('the wait is bounded and says what is not usable', async () => {
  const started = Date.now();
  await assert.rejects(
    awaitSearchAttributesUsable(connection, 'no-such-namespace', { timeoutMs: 1000, retryEveryMs: 200 }),
    (err: Error) => {
      assert.ok(err instanceof SearchAttributesNotUsableError, String(err));
      assert.match(err.message, /OscOcpVersion, OscPayload, OscJob, OscDecision are registered in namespace no-such-namespace but still not usable after 1 s/);
      assert.match(err.message, /not found/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});
