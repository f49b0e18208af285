// What the Temporal UI shows of the watcher, read back through the API on a real dev server with
// the simulators: the pass's static summary and details (set by its starter, as `run` does), the
// version child's and the trigger's (set by their parent, behind patched('ui-metadata')), a
// summary on every activity call ("POST azure-ipi-kata for 4.21.0-0.nightly-…"), the current
// details of the pass and of the ledger (Markdown matrices, the ledger's with Prow links, through
// the `__temporal_workflow_metadata` query), and the schedule's. The histories made with the patch
// replay. The Markdown builders without a server too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { LedgerClient } from '../src/clients/ledger';
import { passStartMetadata } from '../src/cli/passMetadata';
import { scheduleCommand } from '../src/cli/schedule';
import { triggerWorkflowId } from '../src/domain/labels';
import { ledgerWorkflowId, type LedgerMatrix } from '../src/domain/ledger';
import type { PassRequest, PassSummary } from '../src/domain/types';
import { activitySummary, ledgerDetailsMarkdown, md, passDetailsMarkdown } from '../src/domain/uiText';
import { startSimulators, type Simulators } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { versionWorkflowId } from '../src/workflows/ids';
import { UI_METADATA_PATCH } from '../src/workflows/uiMetadata';
import { JOB_PREFIX, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { serverOnly } from './helpers/layers';

const METADATA_QUERY = '__temporal_workflow_metadata';

describe('the Markdown without a server', () => {
  test('the ledger: payload × job with verdict, attempts, Prow and trigger links; specials escaped', () => {
    const m: LedgerMatrix = {
      version: '4.21',
      paused: { at: '2026-03-01T00:00:00.000Z', note: 'Prow | down' },
      newestTriggered: 'P2',
      payloads: [
        {
          name: 'P2',
          pullSpec: 'r:P2',
          firstSeenAt: 'x',
          jobs: [
            { job: `${JOB_PREFIX}-azure-ipi-kata`, shortName: 'azure-ipi-kata', verdict: 'success', attempts: [{ attempt: 1, state: 'success', url: 'https://prow.example/view/1' }], maxAttempts: 3 },
            { job: `${JOB_PREFIX}-aws-ipi-coco`, shortName: 'aws-ipi-coco', verdict: 'failure', attempts: [{ attempt: 1, state: 'failure', url: 'javascript:alert(1)' }] },
          ],
        },
      ],
    };
    const text = ledgerDetailsMarkdown(m, { namespace: 'default' });
    assert.match(text, /^\*\*OCP 4\.21\*\* · newest triggered P2 · \*\*PAUSED\*\* since 2026-03-01T00:00:00\.000Z \(Prow \\\| down\)/);
    assert.ok(text.includes('| payload | azure-ipi-kata | aws-ipi-coco |'));
    assert.ok(text.includes(`| P2 | ✅ success 1/3 [Prow](https://prow.example/view/1) [trigger](/namespaces/default/workflows/${encodeURIComponent(triggerWorkflowId(`${JOB_PREFIX}-azure-ipi-kata`, 'P2'))}) |`), text);
    assert.ok(!text.includes('javascript:'), 'only http(s) links');
    assert.equal(md('a|b[c](d)<e>'), 'a\\|b\\[c\\]\\(d\\)\\<e\\>');
    assert.equal(activitySummary.triggerGangwayJob('azure-ipi-kata', '4.21.0-0.nightly-2026-03-01-000000'), 'POST azure-ipi-kata for 4.21.0-0.nightly-2026-03-01-000000');
    assert.ok(activitySummary.fetchDeckVerdicts(Array.from({ length: 60 }, (_, i) => `4.${i}.0-0.nightly-2026-03-01-000000`)).length <= 200, 'one bounded line');
  });

  test('the pass: one row per version with its payload, a cell per job; versions without a release listed below', () => {
    const summary = {
      workflowId: 'p',
      runId: 'r',
      state: 'done',
      dryRun: false,
      dedupPolicy: 'exact-payload',
      startedAt: 'x',
      deck: { state: 'ok' },
      versions: [
        { version: '4.21', stream: 's', state: 'done', release: { name: 'P', pullSpec: 'r:P' }, jobs: [{ job: 'j', shortName: 'azure-ipi-kata', decision: 'triggered', reason: '', executionId: 'abcdef123456' }] },
        { version: '4.22', stream: 's2', state: 'no-release', releaseError: 'No Accepted release for 4.22.0-0.nightly', jobs: [] },
      ],
      totals: { triggered: 1, skipped: 0, failed: 0, wouldTrigger: 0, versionsWithoutRelease: 1, versionsWithErrors: 0 },
    } as unknown as PassSummary;
    const text = passDetailsMarkdown(summary, { namespace: 'default', taskQueue: 'q' });
    assert.ok(text.startsWith('**Pass done**: 1 triggered, 0 skipped, 0 failed'), text);
    assert.ok(text.includes(`| 4.21 | P | ▶ triggered abcdef12 [Prow link in the ledger](/namespaces/default/workflows/${encodeURIComponent(ledgerWorkflowId('q', '4.21'))}) |`), text);
    assert.ok(text.includes('- OCP 4.22: No Accepted release for 4.22.0-0.nightly'), text);
  });
});

describe('the Temporal UI on a dev server', serverOnly, () => {
  let temporal: TestTemporal;
  let sims: Simulators;

  before(async () => {
    temporal = await startTestTemporal();
  });

  after(async () => {
    await sims?.close();
    await temporal?.stop();
  });

  test('summaries and details of the pass, its children, activity calls, the ledger and the schedule; the histories replay', { timeout: 120_000 }, async () => {
    const { scenario, tags } = basicScenario(7301);
    sims = await startSimulators(scenario);
    const tokenFile = writeTokenFile(tempDir('osc-watcher-ui-'));
    const base = simConfig(sims, tokenFile);
    const config = {
      ...base,
      follow: { pollEveryMs: 200, maxPollEveryMs: 1000, deadlineMs: 60_000 },
      schedule: { ...base.schedule, id: `ui-test-schedule-${process.pid}` },
    };
    const payload = tags['4.21'];
    const request: PassRequest = { versions: ['4.21'], jobs: ['azure-ipi-kata', 'aws-ipi-coco'] };
    const passId = `ui-pass-${process.pid}`;
    const client = temporal.client;
    const ns = temporal.server.namespace;

    await temporal.withWorker(config, async () => {
      // Started as `run` starts it.
      const handle = await client.workflow.start(buildWatcher, { workflowId: passId, taskQueue: config.taskQueue, args: [request], ...passStartMetadata(config, request) });
      const summary = await handle.result();
      const ids = new Map(summary.versions[0]!.jobs.map((j) => [j.shortName, j.executionId!]));
      assert.deepEqual([...ids.keys()].sort(), ['aws-ipi-coco', 'azure-ipi-kata']);

      // Static summary and details: the pass (what, which versions, which jobs).
      const pass = await handle.describe();
      assert.equal(await pass.staticSummary(), 'Pass: newest Accepted nightly of OCP 4.21; jobs azure-ipi-kata, aws-ipi-coco');
      const passDetails = (await pass.staticDetails()) ?? '';
      assert.match(passDetails, /^\*\*osc-build-watcher pass\*\*: for each OCP version/);
      assert.ok(passDetails.includes('- versions: 4.21') && passDetails.includes('- jobs: azure-ipi-kata, aws-ipi-coco') && passDetails.includes('- dry run: no'), passDetails);

      // The version child: which version, which payload.
      const child = await client.workflow.getHandle(versionWorkflowId(passId, '4.21')).describe();
      assert.equal(await child.staticSummary(), `OCP 4.21: ${payload}, 2 jobs`);
      const childDetails = (await child.staticDetails()) ?? '';
      assert.ok(childDetails.includes(`- payload: ${payload}`) && childDetails.includes(`- pullSpec: \`registry.ci.openshift.org/ocp/release:${payload}\``), childDetails);

      // The trigger child.
      const kataId = triggerWorkflowId(`${JOB_PREFIX}-azure-ipi-kata`, payload);
      const trigger = await client.workflow.getHandle(kataId).describe();
      assert.equal(await trigger.staticSummary(), `Trigger azure-ipi-kata for ${payload}`);
      assert.match((await trigger.staticDetails()) ?? '', /`RELEASE_IMAGE_LATEST` = the pullSpec/);

      // A summary on each activity call, as the UI shows it on the scheduled event.
      const summariesOf = async (workflowId: string) => {
        const history = await client.workflow.getHandle(workflowId).fetchHistory();
        return (history.events ?? [])
          .filter((e) => e.activityTaskScheduledEventAttributes)
          .map((e) => {
            const type = e.activityTaskScheduledEventAttributes!.activityType!.name!;
            const s = e.userMetadata?.summary;
            return `${type}: ${s ? defaultPayloadConverter.fromPayload<string>(s as Payload) : '(none)'}`;
          });
      };
      assert.deepEqual(await summariesOf(kataId), [`triggerGangwayJob: POST azure-ipi-kata for ${payload}`]);
      const passSummaries = await summariesOf(passId);
      assert.deepEqual(passSummaries, [
        `resolvePass: Resolve the pass input ${JSON.stringify(request)} against the worker's configuration`,
        'findLatestAcceptedRelease: Newest Accepted nightly of 4.21.0-0.nightly',
        `versionsWithNewWork: Ledgers: anything left to trigger for ${payload}? (else Deck is not asked)`,
        `fetchDeckVerdicts: Deck: runs of the watched jobs for ${payload}`,
        'passNotices: Count the upstreams this pass found down; decide its notifications',
      ]);
      const versionSummaries = await summariesOf(versionWorkflowId(passId, '4.21'));
      assert.ok(versionSummaries.includes('ledgerNewestTriggered: Ledger of OCP 4.21: newest payload triggered'), versionSummaries.join('\n'));
      // The version's claims in one call; the outcomes as the triggers end (one call, or two when one ended while the other was recorded).
      assert.ok(versionSummaries.includes(`ledgerClaimAll: Claim azure-ipi-kata, aws-ipi-coco for ${payload} in the ledger`), versionSummaries.join('\n'));
      const records = versionSummaries.filter((s) => s.startsWith('ledgerRecordTriggers: Record '));
      assert.ok(records.every((s) => s.endsWith(` for ${payload} in the ledger`)), records.join('\n'));
      for (const job of ['azure-ipi-kata', 'aws-ipi-coco']) {
        assert.equal(records.filter((s) => s.includes(`attempt 1 of ${job}`)).length, 1, versionSummaries.join('\n'));
      }
      assert.ok(!versionSummaries.some((s) => s.endsWith('(none)')), 'every activity call has its summary');

      // The pass's current details: the matrix, with the link to the ledger that holds the Prow links.
      const passMeta = await handle.query<{ currentDetails?: string }>(METADATA_QUERY);
      const details = passMeta.currentDetails ?? '';
      assert.ok(details.startsWith('**Pass done**: 2 triggered, 0 skipped, 0 failed'), details);
      assert.ok(details.includes('| OCP | payload | azure-ipi-kata | aws-ipi-coco |'), details);
      assert.ok(details.includes(`| 4.21 | ${payload} | ▶ triggered ${ids.get('azure-ipi-kata')!.slice(0, 8)} [Prow link in the ledger](/namespaces/${ns}/workflows/${encodeURIComponent(ledgerWorkflowId(config.taskQueue, '4.21'))})`), details);

      // The ledger's current details follow the verdicts, with the Prow links.
      sims.setProwJobState(ids.get('azure-ipi-kata')!, 'success');
      sims.setProwJobState(ids.get('aws-ipi-coco')!, 'failure');
      const ledgers = new LedgerClient(client, { taskQueue: config.taskQueue, follow: config.follow });
      const urlOf = (id: string) => sims.prowJobs().find((p) => p.metadata.name === id)!.status.url!;
      const want = [`✅ success 1/3 [Prow](${urlOf(ids.get('azure-ipi-kata')!)})`, `❌ failure 1/3 [Prow](${urlOf(ids.get('aws-ipi-coco')!)})`];
      let ledgerDetails = '';
      const until = Date.now() + 20_000;
      while (!want.every((w) => ledgerDetails.includes(w))) {
        if (Date.now() > until) assert.fail(`the ledger's details never showed both verdicts:\n${ledgerDetails}`);
        await new Promise((r) => setTimeout(r, 100));
        ledgerDetails = (await ledgers.handle('4.21').query<{ currentDetails?: string }>(METADATA_QUERY)).currentDetails ?? '';
      }
      assert.ok(ledgerDetails.startsWith(`**OCP 4.21** · newest triggered ${payload}`), ledgerDetails);
      assert.ok(ledgerDetails.includes('| payload | aws-ipi-coco | azure-ipi-kata |') || ledgerDetails.includes('| payload | azure-ipi-kata | aws-ipi-coco |'), ledgerDetails);
      assert.ok(ledgerDetails.split('\n').some((row) => row.startsWith(`| ${payload} | `) && want.every((w) => row.includes(w))), 'one row for the payload, both verdicts in it');
      process.stdout.write(`# the ledger's current details:\n${ledgerDetails.replace(/^/gm, '#   ')}\n`);

      // The schedule: what its passes do, which versions and jobs it was applied with.
      const lines: string[] = [];
      await scheduleCommand(client, config, 'apply', {}, (l) => lines.push(l));
      try {
        const d = await client.schedule.getHandle(config.schedule.id).describe();
        assert.equal(d.action.type, 'startWorkflow');
        const action = d.action as { staticSummary?: string; staticDetails?: string };
        assert.equal(action.staticSummary, 'Daily osc-build-watcher pass (0 0 * * * UTC): trigger OSC jobs for new Accepted nightlies');
        assert.ok(action.staticDetails?.includes(`- versions: ${config.versions.map((v) => v.version).join(', ')}`), action.staticDetails);
        assert.ok(action.staticDetails?.includes('- jobs: azure-ipi-kata, azure-ipi-peerpods, azure-ipi-coco, aws-ipi-peerpods, aws-ipi-coco'), action.staticDetails);
      } finally {
        await client.schedule.getHandle(config.schedule.id).delete().catch((err) => {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        });
      }

      // The histories made with the patch replay, and carry its marker.
      const workflowIds = [passId, versionWorkflowId(passId, '4.21'), kataId, ledgerWorkflowId(config.taskQueue, '4.21')];
      const histories = await Promise.all(workflowIds.map(async (workflowId) => ({ workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() })));
      for (const { workflowId, history } of histories.slice(0, 3)) {
        const patches = (history.events ?? []).flatMap((e) => {
          // Core records a patch as a marker whose details hold {id, deprecated}.
          const m = e.markerRecordedEventAttributes;
          if (!m) return [];
          return Object.values(m.details ?? {}).flatMap((d) =>
            (d.payloads ?? []).map((p) => (defaultPayloadConverter.fromPayload<{ id?: string }>(p as Payload) as { id?: string })?.id ?? ''),
          );
        });
        assert.ok(patches.includes(UI_METADATA_PATCH), `${workflowId}: the ${UI_METADATA_PATCH} marker (${patches.join(', ')})`);
      }
      for await (const result of Worker.runReplayHistories({ workflowBundle: temporal.bundle }, histories)) {
        assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      }
    });
  });
});
