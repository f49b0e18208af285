// Replays the recorded histories in test/histories against the current workflow code. A change
// that running workflows could not survive (another command order, an activity or child added
// or removed without patched()) fails here. Recorded by `npm run record-histories`; see the
// README, "Changing workflow code". No server needed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { CANARY_TOKEN } from './helpers/config';
import { containsSecret, historyFromJSON, type RecordedHistory } from './helpers/historyJson';
import { testWorkflowBundle } from './helpers/temporal';

// Compiled to dist/test: the JSON files stay in the source tree. legacy/ holds passes started
// with the old whole-configuration input: they must replay for as long as such a pass may be open.
// before-follow/ holds a ledger recorded before follow-through (its runs replay without the
// FOLLOW_PATCH marker, and start following once live); before-retrigger/ holds a ledger recorded
// before bounded retrigger, with ERROR and ABORTED verdicts (its runs replay without the
// RETRIGGER_PATCH marker, so without a retry). before-2026-12-03: the pass, a version child, a
// trigger and a ledger as main recorded them before notifications, metrics, UI metadata, every-payload
// mode, freshness and retriggers were patched in. before-ledger-batches: a version child of each
// kind and a ledger as recorded before the pass asked the ledger in batches (one claim and one
// record Update per job). before-dry-run-ledger: a dry run's version child as recorded before
// dry runs asked the ledger (`ledgerPreviewClaims`, DRY_RUN_LEDGER_PATCH). None of these
// directories is re-recorded.
const HISTORIES_DIR = path.resolve(__dirname, '..', '..', 'test', 'histories');
const jsonIn = (dir: string) =>
  readdirSync(path.join(HISTORIES_DIR, dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f));

const files = [...jsonIn('.'), ...jsonIn('legacy'), ...jsonIn('before-follow'), ...jsonIn('before-retrigger'), ...jsonIn('before-2026-12-03'), ...jsonIn('before-ledger-batches'), ...jsonIn('before-dry-run-ledger')];
const recorded = files.map((file) => ({ file, text: readFileSync(path.join(HISTORIES_DIR, file), 'utf8') }));
const results = new Map<string, ReplayResult>();

describe('recorded histories replay against the current workflow code', () => {
  before(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    // The bundle `npm run build` made, when current (the code that runs in production); else webpack now.
    const workflowBundle = await testWorkflowBundle();
    const histories = recorded.map(({ file, text }) => {
      const r = JSON.parse(text) as RecordedHistory;
      return { file, workflowId: r.workflowId, history: historyFromJSON(r.history) };
    });
    // One replay worker for all of them; results come back in order.
    const replay = Worker.runReplayHistories({ workflowBundle }, histories);
    let i = 0;
    for await (const result of replay) results.set(histories[i++]!.file, result);
  });

  test('there are histories of every workflow type, today\'s and the legacy input\'s', () => {
    const typesIn = (legacy: boolean) =>
      [...new Set(recorded.filter(({ file }) => file.startsWith('legacy') === legacy && !file.startsWith('before-')).map(({ text }) => (JSON.parse(text) as RecordedHistory).workflowType))].sort();
    assert.deepEqual(typesIn(false), ['buildWatcher', 'triggerJob', 'versionLedger', 'versionPass']);
    assert.deepEqual(typesIn(true), ['buildWatcher', 'triggerJob', 'watchVersion']);
    const beforeFollow = recorded.filter(({ file }) => file.startsWith('before-follow')).map(({ text }) => JSON.parse(text) as RecordedHistory);
    assert.deepEqual(beforeFollow.map((r) => r.workflowType), ['versionLedger']);
    assert.ok(!JSON.stringify(beforeFollow[0]!.history).includes('markerRecorded'), 'recorded without the follow-through marker');
    const beforeRetrigger = recorded.filter(({ file }) => file.startsWith('before-retrigger')).map(({ text }) => JSON.parse(text) as RecordedHistory);
    assert.deepEqual(beforeRetrigger.map((r) => r.workflowType), ['versionLedger']);
    const text = JSON.stringify(beforeRetrigger[0]!.history);
    assert.ok(!text.includes('startChildWorkflowExecutionInitiated'), 'recorded without a retry');
    // A dry run's version child: today's asks the ledger, the one recorded before did not.
    const dryRun = (dir: string) => recorded.find(({ file }) => file === path.join(dir, 'versionPass-pass-3-dry-run-ocp-4.21.json'))!.text;
    assert.ok(dryRun('.').includes('"ledgerPreviewClaims"'), 'today\'s dry run asks the ledger');
    assert.ok(!dryRun('before-dry-run-ledger').includes('"ledgerPreviewClaims"'), 'recorded before dry runs asked the ledger');
  });

  test('no history holds the Gangway token, not even base64-encoded in a payload', () => {
    const planted = { data: Buffer.from(JSON.stringify({ token: CANARY_TOKEN })).toString('base64') };
    assert.ok(containsSecret(planted, CANARY_TOKEN), 'the check finds a token inside a payload');
    for (const { file, text } of recorded) assert.ok(!containsSecret(JSON.parse(text), CANARY_TOKEN), file);
  });

  for (const file of files) {
    test(`replays ${file}`, () => {
      const result = results.get(file);
      assert.ok(result, `${file} was replayed`);
      if (result.error) {
        assert.fail(`${file} (${result.workflowId}) no longer replays: ${result.error.name}: ${result.error.message}`);
      }
    });
  }
});
