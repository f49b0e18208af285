// The per-version ledger: its rules without a server (fast), then the `versionLedger` workflow on
// a real dev server with a worker that has no activities, then the CLI's status, pause, resume
// and retest against it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { LedgerClient, LedgerRejectedError } from '../src/clients/ledger';
import { UpstreamError } from '../src/clients/errors';
import { loadConfig } from '../src/config/load';
import {
  emptyLedgerState,
  Ledger,
  ledgerWorkflowId,
  LedgerInputError,
  LedgerRequestError,
  parseLedgerInput,
  type ClaimRequest,
  type ClaimResult,
  type LedgerMatrix,
} from '../src/domain/ledger';
import { OCP_VERSION } from '../src/domain/searchAttributes';
import type { JobSpec, PassSettings } from '../src/domain/types';
import { versionPass } from '../src/workflows/versionPass';
import { claimTriggerUpdate, matrixQuery, recordTriggerUpdate } from '../src/domain/ledgerMessages';
import { tempDir } from './helpers/config';
import { serverOnly } from './helpers/layers';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { cliPool } from './helpers/cliPool';

const T0 = Date.parse('2026-03-01T00:00:00Z');
let tick = 0;
const now = () => new Date(T0 + ++tick * 1000).toISOString();

function nightly(version: string, day: number, time = '000000'): string {
  return `${version}.0-0.nightly-2026-02-${String(day).padStart(2, '0')}-${time}`;
}
const pullSpecOf = (payload: string) => `registry.ci.openshift.org/ocp/release:${payload}`;
const KATA = { name: 'periodic-ci-x-azure-ipi-kata', shortName: 'azure-ipi-kata' };
const COCO = { name: 'periodic-ci-x-aws-ipi-coco', shortName: 'aws-ipi-coco' };

function claimOf(payload: string, job = KATA, more: Partial<ClaimRequest> = {}): ClaimRequest {
  return { payload, pullSpec: pullSpecOf(payload), job, ...more };
}

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LedgerRequestError, `a LedgerRequestError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

describe('ledger rules (no server)', () => {
  test('the workflow ID is per version', () => {
    assert.equal(ledgerWorkflowId('osc-build-watcher', '4.21'), 'osc-ledger/osc-build-watcher/ocp-4.21');
  });

  test('claim once: granted, then in-progress, then already-triggered; newestTriggered follows', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    assert.deepEqual(ledger.claim(claimOf(p), now()), { granted: true, attempt: 1 });
    const second = ledger.claim(claimOf(p), now());
    assert.equal(second.granted, false);
    assert.equal(!second.granted && second.reason, 'in-progress');
    assert.equal(!second.granted && second.attempt?.state, 'triggering');
    // Another job of the same payload is its own record.
    assert.deepEqual(ledger.claim(claimOf(p, COCO), now()), { granted: true, attempt: 1 });

    const recorded = ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'exec-1', url: 'https://prow/1' } }, now());
    assert.equal(recorded.changed, true);
    assert.equal(recorded.attempt.state, 'triggered');
    assert.equal(recorded.newestTriggered, p);
    const third = ledger.claim(claimOf(p), now());
    assert.deepEqual(!third.granted && [third.reason, third.attempt?.executionId], ['already-triggered', 'exec-1']);
    // The same outcome again is fine (a retried activity); another is refused.
    assert.equal(ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'exec-1' } }, now()).changed, false);
    rejects(() => ledger.checkRecordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'exec-2' } }), /already recorded as triggered \(execution exec-1\)/);
  });

  test('a batch of claims and of records (one Update each per version): each answered as alone, in order', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 11);
    const claims = [claimOf(p, KATA, { claimant: 'k' }), claimOf(p, COCO, { claimant: 'c' })];
    // A first grant: no earlier try to look for.
    assert.deepEqual(ledger.claims(claims, now()), [
      { granted: true, attempt: 1, earlierTriesSince: null },
      { granted: true, attempt: 1, earlierTriesSince: null },
    ]);
    const firstClaim = ledger.state.payloads[0]!.jobs[0]!.attempts[0]!.claimedAt;
    // Asked again by the same claimants (a lost answer): the same attempts, regranted, and their
    // first tries may have posted since the first claim.
    assert.deepEqual(
      ledger.claims(claims, now()).map((c) => c.granted && [c.regranted, c.earlierTriesSince]),
      [
        [true, firstClaim],
        [true, firstClaim],
      ],
    );
    const answers = ledger.recordTriggers(
      [
        { payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'exec-k' } },
        { payload: p, job: COCO.name, attempt: 1, outcome: { failed: 'HTTP 403' } },
      ],
      now(),
    );
    assert.deepEqual(
      answers.map((a) => ('refused' in a ? a.refused : [a.changed, a.attempt.state])),
      [
        [true, 'triggered'],
        [true, 'failed-to-trigger'],
      ],
    );
    assert.equal(ledger.state.newestTriggered, p);
    // Then one job posted, one free to try again: since its failed attempt's claim, as the query says.
    assert.deepEqual(
      ledger.claims(claims, now()).map((c) => (c.granted ? `granted ${c.attempt} since ${c.earlierTriesSince}` : c.reason)),
      ['already-triggered', `granted 2 since ${ledger.earlierTriesSince(p, COCO.name)}`],
    );
    assert.equal(ledger.earlierTriesSince(p, COCO.name), firstClaim);
    // A newer payload's attempt in flight beside p's: records of both in one batch are refused.
    const newer = nightly('4.21', 14);
    assert.deepEqual(ledger.claims([claimOf(newer)], now()).map((c) => c.granted), [true]);
    // A batch is one payload, no job twice, 1 to 500 entries, each a valid request; a refused batch changes nothing.
    const before = JSON.stringify(ledger.state);
    rejects(() => ledger.checkClaims([claimOf(p), claimOf(nightly('4.21', 12), COCO)]), /^claimTriggers: every claim must be for one payload; got .* and /);
    rejects(() => ledger.checkClaims([claimOf(p), claimOf(p)]), /^claimTriggers: azure-ipi-kata is claimed twice for /);
    const fresh = nightly('4.21', 13);
    rejects(() => ledger.checkClaims([claimOf(fresh), { ...claimOf(fresh, COCO), pullSpec: 'quay.io/other:1' }]), /^claimTriggers: .* is claimed with two pull specs, .* and quay\.io\/other:1$/);
    rejects(() => ledger.checkClaims([]), /^claimTriggers: expected a list of 1 to 500 claims, got 0$/);
    rejects(() => ledger.checkClaims({ payload: p }), /^claimTriggers: expected a list of 1 to 500 claims, got object$/);
    rejects(() => ledger.checkClaims([claimOf(p), { payload: p }]), /^claimTrigger: /);
    rejects(() => ledger.checkRecordTriggers([{ payload: p, job: COCO.name, attempt: 2, outcome: { executionId: 'e' } }, { payload: p, job: COCO.name, attempt: 2, outcome: { executionId: 'e' } }]), /^recordTriggers: periodic-ci-x-aws-ipi-coco is recorded twice for /);
    rejects(() => ledger.checkRecordTriggers([]), /^recordTriggers: expected a list of 1 to 500 records, got 0$/);
    rejects(
      () => ledger.checkRecordTriggers([{ payload: p, job: COCO.name, attempt: 2, outcome: { executionId: 'e' } }, { payload: newer, job: KATA.name, attempt: 1, outcome: { executionId: 'f' } }]),
      /^recordTriggers: every record must be for one payload; got .* and .*-14-000000$/,
    );
    assert.equal(JSON.stringify(ledger.state), before);
  });

  test('the same claimant asking again gets its attempt again; another claimant does not', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    assert.deepEqual(ledger.claim(claimOf(p, KATA, { claimant: 'osc-trigger/a' }), now()), { granted: true, attempt: 1 });
    assert.deepEqual(ledger.claim(claimOf(p, KATA, { claimant: 'osc-trigger/a', attempt: 1 }), now()), { granted: true, attempt: 1, regranted: true });
    const other = ledger.claim(claimOf(p, KATA, { claimant: 'osc-trigger/b' }), now());
    assert.equal(!other.granted && other.reason, 'in-progress');
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.attempts.length, 1, 'no new attempt');
  });

  test('failed-to-trigger may be claimed again: the next attempt number, each try kept', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    ledger.claim(claimOf(p), now());
    const failed = ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { failed: 'HTTP 503 from Gangway' } }, now());
    assert.equal(failed.attempt.state, 'failed-to-trigger');
    assert.equal(failed.newestTriggered, null, 'a failed trigger is not "triggered"');
    assert.deepEqual(ledger.claim(claimOf(p, KATA, { attempt: 2 }), now()), { granted: true, attempt: 2 });
    const job = ledger.matrix().payloads[0]!.jobs[0]!;
    assert.deepEqual(job.attempts.map((a) => [a.attempt, a.state, a.reason]), [[1, 'failed-to-trigger', 'HTTP 503 from Gangway'], [2, 'triggering', undefined]]);
    assert.equal(job.verdict, 'triggering');
  });

  test('maxAttempts: attempts-exhausted after that many failed triggers; a retest goes beyond', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    for (const n of [1, 2]) {
      assert.deepEqual(ledger.claim(claimOf(p, KATA, { maxAttempts: 2 }), now()), { granted: true, attempt: n });
      ledger.recordTrigger({ payload: p, job: KATA.name, attempt: n, outcome: { failed: 'HTTP 500' } }, now());
    }
    const refused = ledger.claim(claimOf(p, KATA, { maxAttempts: 2 }), now());
    assert.equal(!refused.granted && refused.reason, 'attempts-exhausted');
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.maxAttempts, 2);
    ledger.retest({ job: KATA.shortName, payload: p }, now());
    assert.deepEqual(ledger.claim(claimOf(p, KATA, { maxAttempts: 2 }), now()), { granted: true, attempt: 3, retest: true });
  });

  test('paused grants nothing; resume grants again; an attempt in flight is not stranded', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    ledger.claim(claimOf(p, COCO, { claimant: 'c' }), now());
    const paused = ledger.pause({ note: 'Gangway migration' }, now());
    assert.equal(paused.changed, true);
    assert.equal(paused.paused?.note, 'Gangway migration');
    assert.equal(ledger.pause({ note: 'Gangway migration' }, now()).changed, false, 'pausing twice is one pause');
    const refused = ledger.claim(claimOf(p), now());
    assert.deepEqual(!refused.granted && [refused.reason, refused.paused?.note], ['paused', 'Gangway migration']);
    // The claimant of the attempt already in flight still gets its answer, and records its outcome.
    assert.equal(ledger.claim(claimOf(p, COCO, { claimant: 'c' }), now()).granted, true);
    assert.equal(ledger.recordTrigger({ payload: p, job: COCO.name, attempt: 1, outcome: { executionId: 'e' } }, now()).changed, true);
    assert.equal(ledger.matrix().paused?.note, 'Gangway migration');
    assert.deepEqual(ledger.resume(), { changed: true, paused: null });
    assert.deepEqual(ledger.resume(), { changed: false, paused: null });
    assert.deepEqual(ledger.claim(claimOf(p), now()), { granted: true, attempt: 1 });
  });

  test('previewClaims (a dry run): what claims would answer, changing nothing, paused or not', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const [old, cur, next] = [nightly('4.21', 10), nightly('4.21', 11), nightly('4.21', 12)];
    const FIPS = { name: 'periodic-ci-x-azure-ipi-fips', shortName: 'azure-ipi-fips' };
    ledger.claim(claimOf(cur, KATA), now());
    ledger.recordTrigger({ payload: cur, job: KATA.name, attempt: 1, outcome: { executionId: 'e-kata' } }, now());
    ledger.claim(claimOf(cur, COCO, { claimant: 'c' }), now());
    ledger.claim(claimOf(cur, FIPS), now());
    ledger.recordTrigger({ payload: cur, job: FIPS.name, attempt: 1, outcome: { failed: 'HTTP 500' } }, now());
    // Already triggered; in flight (another claimant, and its own); failed once (granted again, or
    // exhausted at 1); older than the newest; a new payload.
    const batch = [
      claimOf(cur, KATA),
      claimOf(cur, COCO, { claimant: 'other' }),
      claimOf(cur, COCO, { claimant: 'c' }),
      claimOf(cur, FIPS),
      claimOf(cur, FIPS, { maxAttempts: 1 }),
      claimOf(old, KATA),
      claimOf(next, KATA),
    ];
    for (const paused of [false, true]) {
      if (paused) ledger.pause({ note: 'migration' }, now());
      const before = JSON.stringify(ledger.state);
      // One batch of several jobs of a payload (as a pass asks), the others alone.
      const preview = [...ledger.previewClaims([batch[0], batch[1], batch[3]]), ...[2, 4, 5, 6].map((i) => ledger.previewClaims([batch[i]!])[0]!)];
      const order = [0, 1, 3, 2, 4, 5, 6];
      assert.equal(JSON.stringify(ledger.state), before, 'a preview changes nothing');
      // Each as `claims` would answer it on a copy of the same state, one at a time.
      const expected = order.map((i) => batch[i]!).map((req) => {
        const { earlierTriesSince: _, ...rest } = new Ledger(JSON.parse(before)).claims([req], now())[0] as ClaimResult & { earlierTriesSince?: unknown };
        return rest;
      });
      assert.deepEqual(preview, expected);
      assert.deepEqual(
        preview.map((r) => (r.granted ? `granted ${r.attempt}${r.regranted ? ' again' : ''}` : r.reason)),
        paused
          ? ['already-triggered', 'in-progress', 'paused', 'granted 1 again', 'paused', 'paused', 'paused']
          : ['already-triggered', 'in-progress', 'granted 2', 'granted 1 again', 'attempts-exhausted', 'older-than-newest', 'granted 1'],
      );
    }
  });

  test('a payload older than the newest triggered is refused', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const newer = nightly('4.21', 12);
    ledger.claim(claimOf(newer), now());
    ledger.recordTrigger({ payload: newer, job: KATA.name, attempt: 1, outcome: { executionId: 'e' } }, now());
    const older = ledger.claim(claimOf(nightly('4.21', 11), COCO), now());
    assert.deepEqual(!older.granted && [older.reason, older.newest], ['older-than-newest', newer]);
    assert.equal(ledger.claim(claimOf(nightly('4.21', 13), COCO), now()).granted, true, 'a newer one is fine');
  });

  test('retest grants one new attempt, exactly once; it waits for an attempt in progress', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    ledger.claim(claimOf(p), now());
    const early = ledger.retest({ job: KATA.shortName }, now());
    assert.equal(early.payload, p, "default: the ledger's newest payload");
    assert.equal(early.waitingFor?.attempt, 1);
    assert.equal(early.nextAttempt, 2);
    const stillInProgress = ledger.claim(claimOf(p), now());
    assert.equal(!stillInProgress.granted && stillInProgress.reason, 'in-progress');
    ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'e1' } }, now());
    assert.equal(ledger.retest({ job: KATA.name, payload: p }, now()).changed, false, 'asking twice is one retest');
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.retestPending !== undefined, true);

    assert.deepEqual(ledger.claim(claimOf(p), now()), { granted: true, attempt: 2, retest: true });
    const again = ledger.claim(claimOf(p), now());
    assert.equal(!again.granted && again.reason, 'in-progress');
    ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 2, outcome: { executionId: 'e2' } }, now());
    const done = ledger.claim(claimOf(p), now());
    assert.deepEqual(!done.granted && [done.reason, done.attempt?.attempt], ['already-triggered', 2]);
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.retestPending, undefined);
  });

  test('retest of an older payload overrides "never go back" for that job only; a job given in full may be new to the payload', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const old = nightly('4.21', 10);
    const newer = nightly('4.21', 11);
    for (const p of [old, newer]) {
      ledger.claim(claimOf(p), now());
      ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { executionId: `e-${p}` } }, now());
    }
    // COCO was never claimed for `old` (say Deck showed it tested): given in full, it may be retested.
    rejects(() => ledger.checkRetest({ job: 'no-such-job', payload: old }), /retest: job no-such-job is not in the ledger of OCP 4\.21 \(azure-ipi-kata\)/);
    ledger.retest({ job: COCO, payload: old }, now());
    assert.deepEqual(ledger.claim(claimOf(old, COCO), now()), { granted: true, attempt: 1, retest: true });
    const kata = ledger.claim(claimOf(old), now());
    assert.equal(!kata.granted && kata.reason, 'already-triggered');
  });

  test('verdicts: recorded per attempt, the same twice is fine, a final one stays', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    ledger.claim(claimOf(p), now());
    rejects(() => ledger.checkRecordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'running' }), /has no execution \(triggering\)/);
    ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'e1' } }, now());
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.verdict, 'pending', 'posted, not seen yet');
    assert.equal(ledger.recordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'running', url: 'https://prow/e1' }, now()).changed, true);
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.verdict, 'running');
    const ended = ledger.recordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'failure', finishedAt: '2026-03-01T05:00:00Z' }, now());
    assert.deepEqual([ended.changed, ended.attempt.state, ended.attempt.finishedAt, ended.attempt.url], [true, 'failure', '2026-03-01T05:00:00Z', 'https://prow/e1']);
    assert.equal(ledger.recordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'failure' }, now()).changed, false, 'idempotent');
    assert.equal(ledger.recordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'running' }, now()).changed, false, 'a stale read is ignored');
    rejects(() => ledger.checkRecordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'success' }), /already ended failure; it cannot become success/);
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.verdict, 'failure');
  });

  test('bad requests are refused with one line naming what is wrong, and change nothing', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    ledger.claim(claimOf(p), now());
    const before = JSON.stringify(ledger.state);
    rejects(() => ledger.checkClaim(undefined), /claimTrigger: the request must be an object with payload, pullSpec, job/);
    rejects(() => ledger.checkClaim({ ...claimOf(p), payload: 5 }), /claimTrigger: payload must be a non-empty string, got number 5/);
    rejects(() => ledger.checkClaim({ ...claimOf(p), job: 'azure' }), /claimTrigger: job must be an object \{name, shortName\}, got the string "azure"/);
    rejects(() => ledger.checkClaim({ ...claimOf(p), job: { name: KATA.name } }), /claimTrigger: job: shortName must be a non-empty string, got nothing/);
    rejects(() => ledger.checkClaim({ ...claimOf(p), extra: true }), /claimTrigger: unknown key "extra"/);
    rejects(() => ledger.checkClaim(claimOf(nightly('4.20', 10))), /payload 4\.20\.0-0\.nightly-2026-02-10-000000 is not an OCP 4\.21 payload/);
    rejects(() => ledger.checkClaim({ ...claimOf(p), pullSpec: 'quay.io/other' }), /is recorded with pullSpec registry\.ci\.openshift\.org\/ocp\/release:.*, not quay\.io\/other/);
    rejects(() => ledger.checkClaim(claimOf(p, KATA, { attempt: 3 })), /attempt 3 is out of order for azure-ipi-kata of .*: attempts 1\.\.1 exist, the next is 2/);
    rejects(() => ledger.checkClaim(claimOf(p, KATA, { attempt: 1.5 })), /attempt must be a whole number from 1, got number 1\.5/);
    rejects(() => ledger.checkClaim(claimOf(nightly('4.21', 11), KATA, { attempt: 2 })), /none was made, the first is 1/);
    rejects(() => ledger.checkRecordTrigger({ payload: nightly('4.21', 9), job: KATA.name, attempt: 1, outcome: { executionId: 'e' } }), /payload 4\.21\.0-0\.nightly-2026-02-09-000000 is not in the ledger of OCP 4\.21 \(kept: 4\.21\.0-0\.nightly-2026-02-10-000000\)/);
    rejects(() => ledger.checkRecordTrigger({ payload: p, job: COCO.name, attempt: 1, outcome: { executionId: 'e' } }), /job periodic-ci-x-aws-ipi-coco has no attempt for payload/);
    rejects(() => ledger.checkRecordTrigger({ payload: p, job: KATA.name, attempt: 2, outcome: { executionId: 'e' } }), /attempt 2 of azure-ipi-kata for .* was never claimed \(attempts 1\.\.1\)/);
    rejects(() => ledger.checkRecordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: {} }), /outcome: executionId must be a non-empty string/);
    rejects(() => ledger.checkRecordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { failed: '' } }), /outcome: failed must be a non-empty reason/);
    rejects(() => ledger.checkRecordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'done' }), /state must be one of triggered, pending, running, success, failure, aborted, error, unknown, got the string "done"/);
    rejects(() => ledger.checkPause({ note: 42 }), /pause: note must be a string, got number 42/);
    rejects(() => new Ledger(emptyLedgerState('4.21')).checkRetest({ job: 'x' }), /has no payload yet; nothing to retest/);
    rejects(() => ledger.checkRetest({ job: KATA.shortName, payload: nightly('4.21', 1) }), /retest: payload .* is not in the ledger of OCP 4\.21/);
    assert.equal(JSON.stringify(ledger.state), before);
  });

  test('the workflow input is checked: version, keepPayloads, the state handed on', () => {
    assert.deepEqual(parseLedgerInput({ version: '4.21' }), { version: '4.21', keepPayloads: 10 });
    assert.throws(() => parseLedgerInput({ version: 4.21 }), (e: unknown) => e instanceof LedgerInputError && /version must be an OCP version like "4\.21", got number 4\.21/.test(e.message));
    assert.throws(() => parseLedgerInput({ version: '4.21', keepPayloads: 0 }), /keepPayloads must be a whole number from 1 to 100/);
    assert.throws(() => parseLedgerInput({ version: '4.21', state: emptyLedgerState('4.20') }), /state is OCP 4\.20's, not 4\.21's/);
    assert.throws(() => parseLedgerInput({ version: '4.21', keep: 3 }), /unknown key "keep"/);
  });

  test('keepPayloads keeps the newest payloads by nightly order, and the newest triggered and those in flight besides', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'), 2);
    // Claimed out of order: the matrix is still newest first.
    const days = [11, 10, 13, 12];
    ledger.claim(claimOf(nightly('4.21', 11)), now());
    ledger.recordTrigger({ payload: nightly('4.21', 11), job: KATA.name, attempt: 1, outcome: { executionId: 'e11' } }, now());
    ledger.claim(claimOf(nightly('4.21', 10)), now()); // older than 11: refused
    assert.deepEqual(ledger.matrix().payloads.map((p) => p.name), [nightly('4.21', 11)]);
    // 13 and 12 fail to trigger; 11 stays as the newest triggered, though it is not among the newest two.
    for (const d of days.slice(2)) {
      ledger.claim(claimOf(nightly('4.21', d)), now());
      ledger.recordTrigger({ payload: nightly('4.21', d), job: KATA.name, attempt: 1, outcome: { failed: 'HTTP 500' } }, now());
    }
    assert.deepEqual(ledger.matrix().payloads.map((p) => p.name), [13, 12, 11].map((d) => nightly('4.21', d)));
    // 14 claimed and in flight: 12 goes (not newest two, not triggered, nothing in flight).
    ledger.claim(claimOf(nightly('4.21', 14)), now());
    assert.deepEqual(ledger.matrix().payloads.map((p) => p.name), [14, 13, 11].map((d) => nightly('4.21', d)));
    ledger.recordTrigger({ payload: nightly('4.21', 14), job: KATA.name, attempt: 1, outcome: { executionId: 'e14' } }, now());
    assert.deepEqual(ledger.matrix().payloads.map((p) => p.name), [14, 13].map((d) => nightly('4.21', d)));
    assert.equal(ledger.matrix().newestTriggered, nightly('4.21', 14));
    // Pruned, but never triggered again: older than the newest triggered.
    const back = ledger.claim(claimOf(nightly('4.21', 11)), now());
    assert.equal(!back.granted && back.reason, 'older-than-newest');
  });

  test('the matrix: verdict from the latest attempt, skipped without one, attempts in order', () => {
    const ledger = new Ledger(emptyLedgerState('4.21'));
    const p = nightly('4.21', 10);
    ledger.claim(claimOf(p), now());
    ledger.recordTrigger({ payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'e1', url: 'https://prow/e1' } }, now());
    ledger.recordVerdict({ payload: p, job: KATA.name, attempt: 1, state: 'success' }, now());
    ledger.retest({ job: COCO, payload: p }, now());
    const m: LedgerMatrix = ledger.matrix();
    assert.equal(m.version, '4.21');
    const [kata, coco] = m.payloads[0]!.jobs;
    assert.deepEqual([kata!.job, kata!.shortName, kata!.verdict], [KATA.name, 'azure-ipi-kata', 'success']);
    assert.deepEqual(Object.keys(kata!.attempts[0]!).sort(), ['attempt', 'executionId', 'finishedAt', 'state', 'triggeredAt', 'url']);
    assert.deepEqual([coco!.verdict, coco!.attempts.length, coco!.retestPending !== undefined], ['skipped', 0, true]);
    // The matrix is a copy: changing it changes nothing.
    kata!.attempts[0]!.state = 'error';
    assert.equal(ledger.matrix().payloads[0]!.jobs[0]!.verdict, 'success');
  });
});

// ---- On a real dev server -----------------------------------------------------------------------

let temporal: TestTemporal;
let worker: Worker;
let workerRun: Promise<void>;
const TASK_QUEUE = 'ledger-test';
let versionSeq = 40;
/** Each test its own version, so its own ledger. */
const freshVersion = () => `4.${++versionSeq}`;



async function historyLength(workflowId: string, runId?: string): Promise<number> {
  const history = await temporal.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return history.events?.length ?? 0;
}

/** Retries what the client calls retryable, as an activity would: a claim across continue-as-new may need it. */
async function retrying<T>(work: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof UpstreamError) || !err.retryable || i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// Each test has its own version, so its own ledger: they run side by side on one worker.
describe('versionLedger on a dev server', { ...serverOnly, concurrency: true }, () => {
  before(async () => {
    temporal = await startTestTemporal();
    worker = await Worker.create({ connection: temporal.native, namespace: temporal.server.namespace, taskQueue: TASK_QUEUE, workflowBundle: temporal.bundle });
    workerRun = worker.run();
  });

  after(async () => {
    if (worker) {
      worker.shutdown();
      await workerRun;
    }
    await temporal?.stop();
  });

  const ledgers = () => new LedgerClient(temporal.client, { taskQueue: TASK_QUEUE });

  test('a version pass with 101 jobs claims them in Updates of at most 100, in order (mocked ledger activities)', async () => {
    const version = freshVersion();
    const taskQueue = `${TASK_QUEUE}-batches`;
    const payload = nightly(version, 20);
    const jobs = Array.from({ length: 101 }, (_, i) => ({ name: `periodic-ci-x-job-${i}`, shortName: `job-${i}`, payloadEnv: 'RELEASE_IMAGE_LATEST' }));
    const claimed: string[][] = [];
    const activities = {
      ledgerNewestTriggered: async () => null,
      // Every job already posted: the pass starts no trigger, and each answer must reach its own job.
      ledgerClaimAll: async (_version: string, requests: ClaimRequest[]) => {
        claimed.push(requests.map((r) => r.job.shortName));
        return requests.map((r) => ({ granted: false, reason: 'already-triggered', attempt: { attempt: 1, state: 'triggered', claimedAt: '2026-03-01T00:00:00Z', executionId: `exec-${r.job.shortName}` } }));
      },
      ledgerPreviousVerdicts: async () => [],
    };
    const settings: PassSettings = {
      dedupPolicy: 'exact-payload',
      recentSuccessWindowHours: 24,
      labelPrefix: 'osc-build-watcher',
      dryRun: false,
      retry: { initialIntervalMs: 100, backoffCoefficient: 2, maximumIntervalMs: 1000, maximumAttempts: 3 },
      triggerHeartbeatTimeoutMs: 5000,
      concurrency: 10,
    };
    const passWorker = await Worker.create({ connection: temporal.native, namespace: temporal.server.namespace, taskQueue, workflowBundle: temporal.bundle, activities });
    const result = await passWorker.runUntil(
      temporal.client.workflow.execute(versionPass, {
        taskQueue,
        workflowId: `ledger-batches-${version}-${process.pid}`,
        args: [{ plan: { version, stream: `${version}.0-0.nightly`, jobs }, settings, release: { name: payload, pullSpec: pullSpecOf(payload), phase: 'Accepted' }, progressEveryMs: 1000 }],
      }),
    );
    assert.deepEqual(claimed.map((c) => c.length), [100, 1]);
    assert.deepEqual(claimed.flat(), jobs.map((j) => j.shortName));
    assert.deepEqual(
      result.jobs.map((j) => `${j.shortName} ${j.decision} ${j.executionId}`),
      jobs.map((j) => `${j.shortName} skipped exec-${j.shortName}`),
    );
  });

  test('the first claim starts the ledger; in-progress, already-triggered; failed-to-trigger claimed again', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = nightly(version, 10);
    assert.equal(await client.matrix(version), undefined, 'no ledger yet');
    assert.deepEqual(await client.claim(version, claimOf(p)), { granted: true, attempt: 1 });
    const description = await client.handle(version).describe();
    assert.equal(description.type, 'versionLedger');
    assert.equal(description.workflowId, `osc-ledger/${TASK_QUEUE}/ocp-${version}`);
    assert.equal(description.status.name, 'RUNNING');

    const inProgress = await client.claim(version, claimOf(p));
    assert.equal(!inProgress.granted && inProgress.reason, 'in-progress');
    await client.recordTrigger(version, { payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'exec-1' } });
    const already = await client.claim(version, claimOf(p));
    assert.deepEqual(!already.granted && [already.reason, already.attempt?.executionId], ['already-triggered', 'exec-1']);
    assert.equal(await client.newestTriggered(version), p);

    await client.claim(version, claimOf(p, COCO));
    await client.recordTrigger(version, { payload: p, job: COCO.name, attempt: 1, outcome: { failed: 'HTTP 503' } });
    assert.deepEqual(await client.claim(version, claimOf(p, COCO)), { granted: true, attempt: 2 });
    const m = (await client.matrix(version))!;
    assert.deepEqual(
      m.payloads[0]!.jobs.map((j) => [j.shortName, j.verdict, j.attempts.map((a) => a.state)]),
      [
        ['azure-ipi-kata', 'pending', ['triggered']],
        ['aws-ipi-coco', 'triggering', ['failed-to-trigger', 'triggering']],
      ],
    );
  });

  test('claims racing for one (payload, job): exactly one is granted', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = nightly(version, 10);
    const results = await Promise.all(Array.from({ length: 8 }, () => client.claim(version, claimOf(p))));
    assert.equal(results.filter((r) => r.granted).length, 1);
    assert.ok(results.every((r) => r.granted || r.reason === 'in-progress'));
  });

  test('validators reject bad requests without adding history events', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = nightly(version, 10);
    await client.claim(version, claimOf(p));
    const id = ledgerWorkflowId(TASK_QUEUE, version);
    const before = await historyLength(id);
    const bad: Array<[() => Promise<unknown>, RegExp]> = [
      [() => client.claim(version, { ...claimOf(p), payload: 42 } as unknown as ClaimRequest), /claimTrigger: payload must be a non-empty string, got number 42/],
      [() => client.claim(version, claimOf(p, KATA, { attempt: 5 })), /attempt 5 is out of order/],
      [() => client.claim(version, claimOf(nightly('4.1', 10))), /is not an OCP .* payload/],
      [() => client.recordTrigger(version, { payload: nightly(version, 9), job: KATA.name, attempt: 1, outcome: { executionId: 'e' } }), /is not in the ledger of OCP/],
      [() => client.recordTrigger(version, { payload: p, job: KATA.name, attempt: 2, outcome: { executionId: 'e' } }), /attempt 2 .* was never claimed/],
      [() => client.recordVerdict(version, { payload: p, job: KATA.name, attempt: 1, state: 'success' }), /has no execution \(triggering\)/],
      [() => client.retest(version, { job: 'nope' }), /retest: job nope is not in the ledger/],
    ];
    for (const [call, pattern] of bad) {
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof LedgerRejectedError, String(err));
        assert.equal(err.retryable, false);
        assert.equal(err.upstream, 'temporal');
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes('\n'));
        return true;
      });
    }
    // Sent raw, not through our client: still refused before history.
    await assert.rejects(
      temporal.client.workflow.getHandle(id).executeUpdate(recordTriggerUpdate, { args: [{ payload: p } as never] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowUpdateFailedError);
        assert.match(String(err.cause?.message), /^recordTrigger: job must be a non-empty string, got nothing$/);
        return true;
      },
    );
    assert.equal(await historyLength(id), before, 'no event for a rejected Update');
    // And the ledger still works.
    await client.recordTrigger(version, { payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'e' } });
    assert.ok((await historyLength(id)) > before);
  });

  test('an Update for a version without a ledger is refused and starts nothing', async () => {
    const version = freshVersion();
    const client = ledgers();
    await assert.rejects(client.recordTrigger(version, { payload: nightly(version, 1), job: KATA.name, attempt: 1, outcome: { executionId: 'e' } }), (err: unknown) => {
      assert.ok(err instanceof LedgerRejectedError);
      assert.match(err.message, new RegExp(`OCP ${version.replace('.', '\\.')} has no ledger yet`));
      return true;
    });
    assert.deepEqual(await client.resume(version), { changed: false, paused: null });
    assert.equal(await client.matrix(version), undefined);
  });

  test('pause: claims refused; resume: granted again', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = nightly(version, 10);
    const paused = await client.pause(version, 'waiting for Prow');
    assert.equal(paused.changed, true, 'pause starts the ledger');
    const refused = await client.claim(version, claimOf(p));
    assert.deepEqual(!refused.granted && [refused.reason, refused.paused?.note], ['paused', 'waiting for Prow']);
    assert.deepEqual((await client.matrix(version))!.paused?.note, 'waiting for Prow');
    assert.equal((await client.resume(version)).changed, true);
    assert.deepEqual(await client.claim(version, claimOf(p)), { granted: true, attempt: 1 });
  });

  test('retest: the ledger starts one new attempt itself, exactly once; racing claims and retests meet it', async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = nightly(version, 10);
    await client.claim(version, claimOf(p));
    await client.recordTrigger(version, { payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'e1' } });
    const r = await client.retest(version, { job: KATA.shortName, note: 'flake' });
    assert.deepEqual([r.changed, r.payload, r.nextAttempt, r.requested.note], [true, p, 2, 'flake']);
    // The ledger claimed attempt 2 under its own trigger workflow (this worker has no Gangway
    // queue, so that trigger waits there).
    const triggerId = `osc-trigger/${KATA.name}/${p}/attempt-2`;
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => client.claim(version, claimOf(p))),
      ...Array.from({ length: 3 }, () => client.retest(version, { job: KATA.shortName })),
    ]);
    for (const x of results.slice(0, 5)) assert.equal('granted' in x && !x.granted && x.reason, 'in-progress');
    for (const x of results.slice(5)) assert.deepEqual('nextAttempt' in x && [x.changed, x.nextAttempt], [false, 2]);
    const m = (await client.matrix(version))!;
    const a2 = m.payloads[0]!.jobs[0]!.attempts[1]!;
    assert.deepEqual([a2.attempt, a2.state, a2.retest, m.payloads[0]!.jobs[0]!.attempts.length], [2, 'triggering', true, 2]);
    const trigger = temporal.client.workflow.getHandle(triggerId);
    assert.deepEqual([(await trigger.describe()).type, (await trigger.describe()).status.name], ['triggerJob', 'RUNNING']);
    // The trigger ends (here: terminated): the ledger records what became of it.
    await trigger.terminate('test');
    for (let i = 0; i < 100; i++) {
      const state = (await client.matrix(version))!.payloads[0]!.jobs[0]!.attempts[1]!.state;
      if (state !== 'triggering') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const after = (await client.matrix(version))!.payloads[0]!.jobs[0]!;
    assert.deepEqual([after.attempts.length, after.attempts[1]!.state], [2, 'failed-to-trigger']);
  });

  test('continue-as-new keeps the records: the new run answers the same matrix the old one ended with', async () => {
    const version = freshVersion();
    const client = new LedgerClient(temporal.client, { taskQueue: TASK_QUEUE, maxHistoryEvents: 20 });
    const id = ledgerWorkflowId(TASK_QUEUE, version);
    const p = nightly(version, 10);
    await client.claim(version, claimOf(p));
    const firstRun = (await client.handle(version).describe()).runId;
    await client.recordTrigger(version, { payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'e1', url: 'https://prow/e1' } });
    let runId = firstRun;
    for (let n = 1; runId === firstRun && n < 30; n++) {
      // One change at a time, then look: the Update that crosses the limit is the old run's last event.
      await client.pause(version, `note ${n}`);
      runId = (await client.handle(version).describe()).runId;
    }
    assert.notEqual(runId, firstRun, 'the ledger continued as new');
    const newRun = await client.handle(version).describe();
    assert.deepEqual(newRun.typedSearchAttributes.get(OCP_VERSION), [version], 'the search attribute goes on');
    assert.equal((await temporal.client.workflow.getHandle(id, firstRun).describe()).status.name, 'CONTINUED_AS_NEW');
    // Queried by run ID, the closed run answers from its history: what it handed on.
    const lastOfOld = await temporal.client.workflow.getHandle(id, firstRun).query(matrixQuery);
    const firstOfNew = await client.handle(version).query(matrixQuery);
    assert.deepEqual(firstOfNew, lastOfOld);
    assert.equal(firstOfNew.newestTriggered, p);
    assert.match(firstOfNew.paused?.note ?? '', /^note \d+$/);
    assert.equal(firstOfNew.payloads[0]!.jobs[0]!.attempts[0]!.executionId, 'e1');

    // Claims keep working across several continue-as-new, none lost or doubled.
    const jobs = Array.from({ length: 6 }, (_, i) => ({ name: `periodic-ci-x-job-${i}`, shortName: `job-${i}` }));
    await client.resume(version);
    const claims = await Promise.all(jobs.map((job) => retrying(() => client.claim(version, claimOf(p, job, { claimant: job.name })))));
    assert.ok(claims.every((c) => c.granted && c.attempt === 1), JSON.stringify(claims));
    await Promise.all(jobs.map((job) => retrying(() => client.recordTrigger(version, { payload: p, job: job.name, attempt: 1, outcome: { executionId: `x-${job.shortName}` } }))));
    const m = (await client.matrix(version))!;
    assert.equal(m.payloads[0]!.jobs.length, 7);
    assert.ok(m.payloads[0]!.jobs.every((j) => j.attempts.length === 1 && j.verdict === 'pending'));
    assert.equal(m.payloads[0]!.jobs[0]!.attempts[0]!.url, 'https://prow/e1');
    const runs = [];
    for await (const w of temporal.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w.runId);
    assert.ok(runs.length >= 3, `several runs (${runs.length})`);
  });

  test('keepPayloads prunes, newestTriggered stays', async () => {
    const version = freshVersion();
    const client = new LedgerClient(temporal.client, { taskQueue: TASK_QUEUE, keepPayloads: 2 });
    const triggered = nightly(version, 10);
    await client.claim(version, claimOf(triggered));
    await client.recordTrigger(version, { payload: triggered, job: KATA.name, attempt: 1, outcome: { executionId: 'e' } });
    for (const d of [11, 12, 13]) {
      await client.claim(version, claimOf(nightly(version, d)));
      await client.recordTrigger(version, { payload: nightly(version, d), job: KATA.name, attempt: 1, outcome: { failed: 'HTTP 500' } });
    }
    const m = (await client.matrix(version))!;
    assert.deepEqual(m.payloads.map((x) => x.name), [13, 12, 10].map((d) => nightly(version, d)), 'the newest two, and the newest triggered');
    await client.claim(version, claimOf(nightly(version, 14)));
    await client.recordTrigger(version, { payload: nightly(version, 14), job: KATA.name, attempt: 1, outcome: { executionId: 'e14' } });
    const after = (await client.matrix(version))!;
    assert.deepEqual(after.payloads.map((x) => x.name), [14, 13].map((d) => nightly(version, d)));
    assert.equal(after.newestTriggered, nightly(version, 14));
    const back = await client.claim(version, claimOf(nightly(version, 12)));
    assert.equal(!back.granted && back.reason, 'older-than-newest');
  });

  test("a ledger's history replays against the workflow code", async () => {
    const version = freshVersion();
    const client = ledgers();
    const p = nightly(version, 10);
    await client.claim(version, claimOf(p));
    await client.recordTrigger(version, { payload: p, job: KATA.name, attempt: 1, outcome: { executionId: 'e' } });
    await client.recordVerdict(version, { payload: p, job: KATA.name, attempt: 1, state: 'success' });
    await client.pause(version, 'x');
    await client.retest(version, { job: KATA.name });
    const history = await client.handle(version).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: temporal.bundle }, history, ledgerWorkflowId(TASK_QUEUE, version));
  });

  test('an unavailable server is a retryable UpstreamError', async () => {
    const connection = await Connection.connect({ address: temporal.server.address });
    const client = new LedgerClient(new Client({ connection, namespace: temporal.server.namespace }), { taskQueue: TASK_QUEUE });
    await connection.close();
    await assert.rejects(client.claim('4.99', claimOf(nightly('4.99', 1))), (err: unknown) => {
      assert.ok(err instanceof UpstreamError && !(err instanceof LedgerRejectedError), String(err));
      assert.equal(err.retryable, true);
      assert.match(err.message, /^ledger of OCP 4\.99: claim azure-ipi-kata for /);
      return true;
    });
  });

  // The CLI's tests run side by side: the reads share one version's ledger, and pause, resume and
  // retest change a second one, seeded alike, with a configuration (OCP_VERSIONS) of their own.
  describe('the CLI', { concurrency: true }, () => {
    // Two CLI processes at once, whichever test starts them (14 in all, each about a second of CPU).
    const cli = cliPool(2);
    let version: string;
    let changed: string;
    let env: NodeJS.ProcessEnv;
    let changedEnv: NodeJS.ProcessEnv;
    let jobs: JobSpec[];
    const payloadsOf = (v: string) => [10, 11].map((d) => nightly(v, d)) as [string, string];
    const payloads = [0, 1].map((i) => () => payloadsOf(version)[i]!);

    /** Two payloads: the older's job 0 posted and green; the newer's failed to trigger once, then posted. */
    async function seed(v: string): Promise<void> {
      const client = ledgers();
      const [older, newer] = payloadsOf(v);
      await client.claim(v, claimOf(older, jobs[0]!));
      await client.recordTrigger(v, { payload: older, job: jobs[0]!.name, attempt: 1, outcome: { executionId: 'exec-old', url: 'https://prow/view/old' } });
      await client.recordVerdict(v, { payload: older, job: jobs[0]!.name, attempt: 1, state: 'success' });
      await client.claim(v, claimOf(newer, jobs[0]!, { maxAttempts: 3 }));
      await client.recordTrigger(v, { payload: newer, job: jobs[0]!.name, attempt: 1, outcome: { failed: 'HTTP 503 from Gangway' } });
      await client.claim(v, claimOf(newer, jobs[0]!, { maxAttempts: 3 }));
      await client.recordTrigger(v, { payload: newer, job: jobs[0]!.name, attempt: 2, outcome: { executionId: 'exec-new', url: 'https://prow/view/new' } });
    }

    before(async () => {
      version = freshVersion();
      changed = freshVersion();
      const envOf = (versions: string): NodeJS.ProcessEnv => ({
        PATH: process.env.PATH,
        HOME: path.join(__dirname, 'no-home'),
        OCP_VERSIONS: versions,
        TEMPORAL_ADDRESS: temporal.server.address,
        TEMPORAL_NAMESPACE: temporal.server.namespace,
        TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      });
      env = envOf(`4.21,${version}`);
      changedEnv = envOf(`4.21,${changed}`);
      jobs = loadConfig({ env: { OCP_VERSIONS: version } }).versions[0]!.jobs;
      await Promise.all([seed(version), seed(changed)]);
    });

    test('status --json prints {"versions":[matrix]}; a version without a ledger is empty', async () => {
      const res = await cli(['status', '--json'], env);
      assert.equal(res.code, 0, res.stderr);
      const out = JSON.parse(res.stdout) as { versions: LedgerMatrix[] };
      assert.deepEqual(out.versions.map((v) => v.version), ['4.21', version]);
      assert.deepEqual(out.versions[0], { version: '4.21', paused: null, newestTriggered: null, payloads: [] });
      assert.deepEqual(out.versions[1], await ledgers().matrix(version));
      const only = JSON.parse((await cli(['status', '--json', '--version', version, '--payload', payloads[0]!()], env)).stdout) as { versions: LedgerMatrix[] };
      assert.deepEqual(only.versions[0]!.payloads.map((p) => p.name), [payloads[0]!()]);
    });

    test('status with ocpVersions: discover lists the versions that have a ledger on this task queue', async () => {
      const dir = tempDir('osc-watcher-ledger-cli-');
      const file = path.join(dir, 'discover.yaml');
      writeFileSync(file, 'ocpVersions: discover\ndiscover: { min: "4.1" }\n');
      const { OCP_VERSIONS: _versions, ...withoutVersions } = env;
      const res = await cli(['--config', file, 'status', '--json'], withoutVersions);
      assert.equal(res.code, 0, res.stderr);
      const listed = (JSON.parse(res.stdout) as { versions: LedgerMatrix[] }).versions.map((v) => v.version);
      assert.ok(listed.includes(version), `${version} in ${listed.join(', ')}`);
      assert.ok(!listed.includes('4.21'), '4.21 has no ledger on this queue');
    });

    test('pause; status prints it and payload × job, newest payload first, attempts as used/max, executions and URLs; resume; retest requested', async () => {
      const [older, newer] = payloadsOf(changed);
      const paused = await cli(['pause', '--version', changed, '--note', 'Prow outage'], changedEnv);
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, new RegExp(`^Paused OCP ${changed.replace('.', '\\.')} \\(Prow outage\\)`));

      const status = await cli(['status', '--version', changed], changedEnv);
      assert.equal(status.code, 0, status.stderr);
      const out = status.stdout;
      const short = jobs[0]!.shortName;
      assert.match(out, new RegExp(`^OCP ${changed.replace('.', '\\.')}: newest triggered ${newer}; PAUSED since \\S+ \\(Prow outage\\)\\n`));
      assert.ok(out.indexOf(newer) < out.lastIndexOf(older), 'newest payload first');
      // 2 of 4: a failed trigger, the posted attempt, and retrigger.maxRetries (2) retries.
      assert.match(out, new RegExp(`${short}\\s+pending\\s+attempts 2/4\\s+execution exec-new  https://prow/view/new`));
      assert.match(out, /attempt 1: failed-to-trigger  HTTP 503 from Gangway/);
      assert.match(out, new RegExp(`${short}\\s+success\\s+attempts 1/3\\s+execution exec-old  https://prow/view/old`));

      const claim = await ledgers().claim(changed, claimOf(nightly(changed, 12), jobs[1]!));
      assert.equal(!claim.granted && claim.reason, 'paused');
      const resumed = await cli(['resume', '--version', changed], changedEnv);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /^Resumed OCP/);

      const retest = await cli(['retest', '--version', changed, '--job', jobs[0]!.shortName, '--payload', older], changedEnv);
      assert.equal(retest.code, 0, retest.stderr);
      assert.match(retest.stdout, new RegExp(`^Retest requested: ${jobs[0]!.shortName} for ${older}; the ledger starts attempt 2 now`));
      const claim2 = await ledgers().claim(changed, claimOf(older, jobs[0]!));
      assert.equal(!claim2.granted && claim2.reason, 'in-progress', 'the ledger started it');
    });

    test('bad input: exit 2 and one line naming it', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['pause', '--version', '9.99'], /^ERROR: --version: 9\.99 is not a watched version \(4\.21, 4\.\d+\)\n$/],
        [['status', '--version', '9.99', '--json'], /^ERROR: --version: 9\.99 is not a watched version/],
        [['retest', '--version', version, '--job', 'no-such-job'], /^ERROR: --job: no-such-job is not a job of OCP 4\.\d+ \(azure-ipi-kata, /],
        [['retest', '--version', version, '--job', jobs[0]!.shortName, '--payload', 'nope'], /^ERROR: retest: payload nope is not in the ledger of OCP 4\.\d+ \(kept: /],
        [['retest', '--version', '4.21', '--job', jobs[0]!.shortName], /^ERROR: OCP 4\.21 has no ledger yet: nothing was claimed for it\n$/],
        [['status', '--version', version, '--payload', 'nope'], /^ERROR: --payload: nope is not in the ledger of OCP 4\.\d+ \(kept: /],
        [['pause'], /required option '--version <version>' not specified/],
      ];
      // Each is refused before it changes anything: the processes run side by side.
      const results = await Promise.all(cases.map(([args]) => cli(args, env)));
      for (const [i, [args, pattern]] of cases.entries()) {
        const res = results[i]!;
        assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
        assert.match(res.stderr, pattern, args.join(' '));
        assert.equal(res.stderr.trim().split('\n').length, 1, `one line: ${res.stderr}`);
        assert.equal(res.stdout, '');
      }
    });
  });
});
