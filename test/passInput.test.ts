// Passes started from Temporal's own tools: the `temporal` CLI with a small JSON input, a bad
// input failing at once with the field named, and a schedule whose passes follow the worker's
// configuration as it changes. Real dev server, real worker, real simulators.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { scheduleCommand } from '../src/cli/schedule';
import { legacyPassInput } from '../src/config/plan';
import type { WatcherConfig } from '../src/config/load';
import type { PassSummary } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import { findTemporalCli } from '../src/temporal/cliBinary';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { startWorker, type RunningWorker } from './helpers/runningWorker';

const run = promisify(execFile);

let temporal: TestTemporal;
let sims: Simulators;
let config: WatcherConfig;
let tags: Record<string, string>;
let worker: RunningWorker | undefined;
let tokenFile: string;

/** 4.19, 4.20 and 4.21 on these simulators, on a task queue of its own. */
function configFor(s: Simulators): WatcherConfig {
  const base = simConfig(s, tokenFile);
  return { ...base, versions: base.versions.filter((v) => ['4.19', '4.20', '4.21'].includes(v.version)) };
}

before(async () => {
  const basic = basicScenario(700);
  tags = basic.tags;
  [temporal, sims] = await Promise.all([startTestTemporal(), startSimulators(basic.scenario)]);
  tokenFile = writeTokenFile(tempDir());
  config = configFor(sims);
  // One worker for the passes on `config`'s task queue (the dry, bad-input and legacy ones).
  worker = await startWorker(temporal, config);
});

after(async () => {
  await worker?.stop();
  await sims?.close();
  await temporal?.stop();
});

const posts = () => sims.requests('gangway').filter((r) => r.method === 'POST').length;

async function temporalCli(args: string[]): Promise<string> {
  const cli = findTemporalCli();
  assert.ok(cli, 'the temporal CLI is installed (npm ci puts it in .tools/venv)');
  const { stdout } = await run(cli.path, [...args, '--address', temporal.server.address, '--namespace', temporal.server.namespace]);
  return stdout;
}

// The tests run side by side: the dry, bad-input and legacy passes on one worker, discovery on a
// task queue of its own, the schedule (whose passes post) on simulators and a task queue of its own.
// So nothing is ever posted to the shared simulators, nor recorded for their tags.
describe('a pass started from Temporal\'s own tools', { concurrency: true }, () => {
  test('`temporal workflow start` with {"versions":["4.21"],"dryRun":true} runs a dry pass of one version', async () => {
    const before = posts();
    const workflowId = `cli-started-${process.pid}`;
    await temporalCli([
      'workflow', 'start', '--type', 'buildWatcher', '--task-queue', config.taskQueue, '--workflow-id', workflowId,
      '--input', '{"versions":["4.21"],"dryRun":true}',
    ]);
    const summary = (await temporal.client.workflow.getHandle(workflowId).result()) as PassSummary;
    assert.equal(summary.dryRun, true);
    assert.deepEqual(summary.versions.map((v) => v.version), ['4.21']);
    assert.equal(summary.versions[0]!.release?.name, tags['4.21']);
    assert.equal(summary.totals.wouldTrigger, 5);
    // And the CLI reads the summary back, as a user would (a query needs a worker).
    const queried = JSON.parse(await temporalCli(['workflow', 'query', '--workflow-id', workflowId, '--type', 'summary', '--output', 'json'])) as { queryResult: PassSummary[] };
    assert.equal(queried.queryResult[0]!.totals.wouldTrigger, 5);
    assert.equal(posts(), before, 'a dry run posts nothing');
  });

  test('a bad input fails the workflow at once, with the field named; nothing is posted', async () => {
    const before = posts();
    const cases: Array<[string, RegExp]> = [
      ['{"versions":["9.99"]}', /invalid pass input: versions: "9\.99" is not a watched version \(4\.19, 4\.20, 4\.21\)/],
      ['{"versions":"4.21"}', /invalid pass input: versions: must be a list of strings/],
      ['{"version":["4.21"]}', /invalid pass input: input: unknown key "version"/],
      ['{"jobs":["nope"]}', /invalid pass input: jobs: "nope" is not a configured job/],
      ['{"dryRun":"yes"}', /invalid pass input: dryRun: must be true or false/],
      ['"4.21"', /invalid pass input: input must be a JSON object/],
    ];
    // Side by side: each case is its own workflow.
    await Promise.all(
      cases.map(async ([input, message], i) => {
        const workflowId = `bad-input-${process.pid}-${i}`;
        await temporalCli(['workflow', 'start', '--type', 'buildWatcher', '--task-queue', config.taskQueue, '--workflow-id', workflowId, '--input', input]);
        const handle = temporal.client.workflow.getHandle(workflowId);
        await assert.rejects(handle.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError, `${input}: ${String(err)}`);
          assert.match(String(err.cause?.message), message, input);
          return true;
        });
        const { status, raw } = await handle.describe();
        assert.equal(status.name, 'FAILED', input);
        // Failed at once, not after retries: its first workflow task, by the server's clock.
        const ran = Number(raw.workflowExecutionInfo?.closeTime?.seconds ?? 0) - Number(raw.workflowExecutionInfo?.startTime?.seconds ?? 0);
        assert.ok(ran < 10, `${input}: failed within seconds, not after retries (${ran} s)`);
      }),
    );
    assert.equal(posts(), before);
  });

  test('ocpVersions: discover: the worker finds the versions on the release controller when the pass starts', async () => {
    const discovering: WatcherConfig = { ...configFor(sims), versions: [], discover: { min: '4.19' } };
    const summary = await temporal.withWorker(discovering, async () => {
      const handle = await temporal.client.workflow.start(buildWatcher, { workflowId: `discover-${process.pid}`, taskQueue: discovering.taskQueue, args: [{ dryRun: true }] });
      return handle.result();
    });
    // The simulator has 4.18 (below the minimum), 4.19, 4.20 and 4.21.
    assert.deepEqual(summary.discovered, { min: '4.19', versions: ['4.19', '4.20', '4.21'], skipped: ['4.18.0-0.nightly'] });
    assert.deepEqual(summary.versions.map((v) => v.version), ['4.19', '4.20', '4.21']);
    assert.equal(summary.totals.wouldTrigger, 15);
    assert.equal(sims.counters()['rc.accepted'], 1);
  });

  test('a pass started with the old whole-configuration input still runs to the end', async () => {
    const summary = await temporal.client.workflow.execute(buildWatcher, {
      workflowId: `legacy-input-${process.pid}`,
      taskQueue: config.taskQueue,
      args: [legacyPassInput(config, { versions: ['4.20'], dryRun: true })],
    });
    assert.deepEqual(summary.versions.map((v) => v.version), ['4.20']);
    assert.equal(summary.totals.wouldTrigger, 5);
    const child = await temporal.client.workflow.getHandle(`legacy-input-${process.pid}/ocp-4.20`).describe();
    assert.equal(child.type, 'watchVersion', 'the legacy pass keeps its own child type');
  });

  test('the schedule carries {}: a version added to the configuration is watched by the next pass without re-applying', async () => {
    // Tags of its own: its passes post, and trigger records live in the server the discovery
    // test's dry run reads side by side (the same tags made it see 13 of 15 to trigger).
    const ownBasic = basicScenario(701);
    const own = await startSimulators(ownBasic.scenario);
    // Two jobs a version: what is shown is which versions the next pass watches (fewer triggers, less CPU).
    const ownConfig = configFor(own);
    const full: WatcherConfig = { ...ownConfig, versions: ownConfig.versions.map((v) => ({ ...v, jobs: v.jobs.slice(0, 2) })) };
    const scheduled: WatcherConfig = { ...full, schedule: { ...full.schedule, id: `sched-${process.pid}` }, versions: full.versions.slice(0, 1) };
    const lines: string[] = [];
    await scheduleCommand(temporal.client, scheduled, 'apply', {}, (l) => lines.push(l));
    const handle = temporal.client.schedule.getHandle(scheduled.schedule.id);
    try {
      const description = await handle.describe();
      assert.equal(description.action.type, 'startWorkflow');
      assert.deepEqual(description.action.type === 'startWorkflow' ? description.action.args : undefined, [{}]);

      const passOf = async (count: number): Promise<PassSummary> => {
        await handle.trigger();
        // The schedule's own record of what it started (its state, not a visibility list).
        let ids: string[] = [];
        for (let i = 0; i < 200 && ids.length < count; i++) {
          ids = (await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId);
          if (ids.length < count) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(ids.length, count, 'the schedule started the pass');
        return (await temporal.client.workflow.getHandle(ids[count - 1]!).result()) as PassSummary;
      };

      const first = await temporal.withWorker(scheduled, () => passOf(1));
      assert.deepEqual(first.versions.map((v) => v.version), ['4.19']);

      // The ConfigMap changes: one more version. The workers restart with it; nobody re-applies.
      const widened: WatcherConfig = { ...scheduled, versions: full.versions.slice(0, 2) };
      const second = await temporal.withWorker(widened, () => passOf(2));
      assert.deepEqual(second.versions.map((v) => v.version), ['4.19', '4.20']);
      assert.equal(second.versions[1]!.release?.name, ownBasic.tags['4.20']);

      const described: string[] = [];
      await scheduleCommand(temporal.client, widened, 'describe', {}, (l) => described.push(l));
      assert.ok(described.some((l) => /cron: 0 0 \* \* \* \(UTC\)/.test(l)), described.join('\n'));
      assert.ok(described.some((l) => /next pass watches .*: 4\.19 \(2 jobs\), 4\.20 \(2 jobs\)/.test(l)), described.join('\n'));
    } finally {
      await handle.delete();
      await own.close();
    }
  });
});
