import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exitCodeFor, formatReport } from '../src/cli/report';
import { judgeAll, judgeFromDeck, verdictAt } from '../src/domain/decide';
import { isValidLabelValue, triggerKey, triggerWorkflowId } from '../src/domain/labels';
import { isLegacyPassInput } from '../src/domain/passRequest';
import { countTotals } from '../src/domain/summary';
import type { DeckRun, JobSpec, PassSummary, Release } from '../src/domain/types';

const job: JobSpec = { name: 'periodic-x-aws-ipi-coco', shortName: 'aws-ipi-coco', payloadEnv: 'RELEASE_IMAGE_LATEST' };
const release: Release = { name: '4.21.0-0.nightly-2026-11-24-010203', pullSpec: 'registry.ci.openshift.org/ocp/release:4.21.0-0.nightly-2026-11-24-010203', phase: 'Accepted' };
const now = Date.parse('2026-11-24T12:00:00Z');
const run = (over: Partial<DeckRun>): DeckRun => ({ id: 'r1', job: job.name, state: 'success', ...over });

describe('decision from Deck', () => {
  test('exact payload: a success or a running run of the same payload skips', () => {
    const byEnv = judgeFromDeck(job, release, [run({ payloadEnvValue: release.pullSpec })], 'exact-payload', now, 24);
    assert.deepEqual(byEnv, { skip: true, reason: 'Deck run r1 already succeeded with this payload', runId: 'r1' });
    const byLabel = judgeFromDeck(job, release, [run({ state: 'pending', payloadLabel: release.name })], 'exact-payload', now, 24);
    assert.equal(byLabel.skip, true);
    assert.match(byLabel.reason, /is pending/);
  });

  test('exact payload: another payload, another job or a failed run do not skip', () => {
    assert.equal(judgeFromDeck(job, release, [run({ payloadEnvValue: 'registry/other:1' })], 'exact-payload', now, 24).skip, false);
    assert.equal(judgeFromDeck(job, release, [run({ job: 'other', payloadEnvValue: release.pullSpec })], 'exact-payload', now, 24).skip, false);
    const failed = judgeFromDeck(job, release, [run({ state: 'failure', payloadEnvValue: release.pullSpec })], 'exact-payload', now, 24);
    assert.deepEqual(failed, { skip: false, reason: 'Deck run r1 of this payload ended failure' });
    assert.equal(judgeFromDeck(job, release, undefined, 'exact-payload', now, 24).skip, false);
  });

  test('recent-success (the bash heuristic): any success of the job in the window skips', () => {
    const recent = run({ completionTime: '2026-11-24T02:00:00Z', payloadEnvValue: 'registry/other:1' });
    assert.equal(judgeFromDeck(job, release, [recent], 'recent-success', now, 24).skip, true);
    const old = run({ completionTime: '2026-11-22T02:00:00Z' });
    assert.equal(judgeFromDeck(job, release, [old], 'recent-success', now, 24).skip, false);
  });

  test('judgeAll: one verdict per asked (job, payload), in job order, null for "no run"; Deck runs themselves are not kept', () => {
    const other = { ...job, name: `${job.name}-other`, shortName: 'other' };
    const verdicts = judgeAll(
      [{ version: '4.21', release, jobs: [job, other] }],
      [run({ payloadEnvValue: release.pullSpec }), run({ id: 'r2', job: other.name, state: 'failure', payloadLabel: release.name }), run({ id: 'r3', job: 'unrelated' })],
      'exact-payload',
      now,
      24,
    );
    assert.deepEqual(verdicts, {
      '4.21': [
        { skip: true, reason: 'Deck run r1 already succeeded with this payload', runId: 'r1' },
        { skip: false, reason: 'Deck run r2 of this payload ended failure' },
      ],
    });
    assert.deepEqual(judgeAll([{ version: '4.21', release, jobs: [other] }], [], 'exact-payload', now, 24), { '4.21': [null] });
    assert.deepEqual(verdictAt([null], 0), { skip: false, reason: 'no run of this payload on Deck' });
    assert.equal(verdictAt(undefined, 0).reason, 'Deck unavailable; relying on the trigger record only');
  });
});

describe('a pass input (PassRequest)', () => {
  test('the old whole-configuration input is recognised, a small one is not', () => {
    assert.equal(isLegacyPassInput({ versions: [{ version: '4.21', stream: 's' }], jobs: [], retry: {}, labelPrefix: 'x', dedupPolicy: 'exact-payload' }), true);
    assert.equal(isLegacyPassInput({ versions: ['4.21'] }), false);
    assert.equal(isLegacyPassInput({}), false);
    assert.equal(isLegacyPassInput(null), false);
  });
});

describe('labels and IDs', () => {
  test('label values follow the Kubernetes rule', () => {
    assert.ok(isValidLabelValue(release.name));
    assert.ok(!isValidLabelValue('a'.repeat(64)));
    assert.ok(!isValidLabelValue('registry/x:1'));
    assert.ok(!isValidLabelValue('-leading'));
  });

  test('trigger keys are stable, distinct per (job, payload) and valid labels', () => {
    const k = triggerKey(job.name, release.pullSpec);
    assert.equal(k, triggerKey(job.name, release.pullSpec));
    assert.notEqual(k, triggerKey(job.name, `${release.pullSpec}x`));
    assert.notEqual(k, triggerKey('other', release.pullSpec));
    assert.ok(isValidLabelValue(k));
    assert.equal(triggerWorkflowId(job.name, release.name), `osc-trigger/${job.name}/${release.name}`);
  });
});

describe('report', () => {
  test('has the bash step\'s sections, symbols and summary lines', () => {
    const versions: PassSummary['versions'] = [
      {
        version: '4.21',
        stream: '4.21.0-0.nightly',
        state: 'done',
        release: { name: release.name, pullSpec: release.pullSpec },
        jobs: [
          { job: job.name, shortName: job.shortName, decision: 'triggered', reason: 'no run of this payload on Deck', payload: release.name, httpStatus: 200, executionId: 'e-1' },
          { job: 'j2', shortName: 'j2', decision: 'skipped', reason: 'Deck run r9 already succeeded with this payload', payload: release.name },
          { job: 'j3', shortName: 'j3', decision: 'failed', reason: 'Gangway create j3: HTTP 403 Forbidden', payload: release.name, httpStatus: 403 },
        ],
      },
      { version: '4.22', stream: '4.22.0-0.nightly', state: 'no-release', releaseError: 'no tags exist within the release that satisfy the request', jobs: [] },
    ];
    const summary: PassSummary = {
      workflowId: 'wf',
      runId: 'r',
      state: 'done',
      dryRun: false,
      dedupPolicy: 'exact-payload',
      startedAt: '2026-11-24T00:00:00Z',
      deck: { state: 'ok', fetchedAt: '2026-11-24T00:00:01Z', scanned: 40, matched: 3 },
      versions,
      totals: countTotals(versions),
    };
    const text = formatReport(summary, { date: new Date('2026-11-24T00:00:00Z'), namespace: 'default', tokenLine: '✓ Gangway API token loaded' });
    assert.match(text, /^=+\nOpenShift Sandboxed Containers Build Watcher\n=+\nDate: Tue Nov 24 00:00:00 UTC 2026\n/);
    assert.match(text, /-+\nProcessing OCP 4\.21\n-+\n/);
    assert.match(text, /→ Triggered for OCP 4\.21\.0-0\.nightly-2026-11-24-010203 \(HTTP 200, execution e-1\): no run of this payload on Deck/);
    assert.match(text, /✓ Skipped 4\.21\.0-0\.nightly-2026-11-24-010203: Deck run r9 already succeeded/);
    assert.match(text, /✗ Failed to trigger for OCP 4\.21\.0-0\.nightly-2026-11-24-010203 \(HTTP 403\): Gangway create j3: HTTP 403 Forbidden/);
    assert.match(text, /⚠ No Accepted release for 4\.22\.0-0\.nightly: no tags exist/);
    assert.match(text, /Summary\n=+\nJobs triggered: 1\nJobs skipped: 1\nJobs failed: 1\n/);
    assert.match(text, /✗ Build watcher completed with 1 failed trigger\(s\)\n$/);
    assert.equal(exitCodeFor(summary), 1);
  });

  test('a version that could not be checked is reported and fails the run; one without an Accepted tag does not', () => {
    const base = { workflowId: 'wf', runId: 'r', state: 'done' as const, dryRun: false, dedupPolicy: 'exact-payload' as const, startedAt: '', deck: { state: 'pending' as const } };
    const quiet: PassSummary['versions'] = [{ version: '4.22', stream: '4.22.0-0.nightly', state: 'no-release', releaseError: 'no tags exist', jobs: [] }];
    const ok = { ...base, versions: quiet, totals: countTotals(quiet) };
    assert.equal(exitCodeFor(ok), 0);
    assert.match(formatReport(ok, { date: new Date(0), namespace: 'default' }), /✓ Build watcher completed successfully/);
    const broken: PassSummary['versions'] = [{ version: '4.21', stream: '4.21.0-0.nightly', state: 'error', releaseError: 'release controller 4.21.0-0.nightly/latest: ECONNREFUSED', jobs: [] }];
    const bad = { ...base, versions: broken, totals: countTotals(broken) };
    const text = formatReport(bad, { date: new Date(0), namespace: 'default' });
    assert.match(text, /⚠ Failed to query release controller for 4\.21\.0-0\.nightly: release controller 4\.21\.0-0\.nightly\/latest: ECONNREFUSED/);
    assert.match(text, /Versions that could not be checked: 1\n/);
    assert.match(text, /✗ Build watcher completed with 1 version\(s\) not checked/);
    assert.equal(exitCodeFor(bad), 1);
  });
});
