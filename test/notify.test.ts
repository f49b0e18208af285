// Notifications to a Slack-compatible webhook. Without a server: the events, their keys, what a
// ledger's state makes due, the consecutive down passes, the Slack JSON, the config keys. The
// client and the `notify` activity against a local receiver (node:http). Then on a real dev
// server with the simulators and a real worker: a payload's jobs all final (one message, its
// row), a pass that fails and an upstream down two passes in a row (one message per outage), and
// a webhook that answers 500 (the pass still triggers and completes; the failure is in its summary).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createNotifyActivities } from '../src/activities/notify';
import { exitCodeFor, formatReport } from '../src/cli/report';
import { UpstreamError } from '../src/clients/errors';
import { LedgerClient } from '../src/clients/ledger';
import { IDEMPOTENCY_HEADER, readWebhookUrl, WebhookClient, WebhookUrlNotFoundError } from '../src/clients/webhook';
import { ConfigError, loadConfig, type WatcherConfig } from '../src/config/load';
import { emptyLedgerState, Ledger, ledgerWorkflowId, type LedgerState } from '../src/domain/ledger';
import { DEFAULT_RETRIGGER } from '../src/domain/retrigger';
import { baselineNotices, dueLedgerEvents, payloadFinalKey, takeNotice, type NotificationEvent, type RetryView } from '../src/domain/notifications';
import { slackMessage } from '../src/domain/slackMessage';
import {
  emptyHealthState,
  healthWorkflowId,
  passFailureReasons,
  recordPassHealth,
  upstreamDownEvents,
  upstreamHealthOf,
} from '../src/domain/upstreamHealth';
import type { PassRequest, PassSummary, VersionResult } from '../src/domain/types';
import { startSimulators, type Simulators } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { JOB_PREFIX, simConfig, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';
import { capturedLogs, startTestTemporal, type TestTemporal } from './helpers/temporal';
import { containsSecret, historyToJSON } from './helpers/historyJson';
import { WebhookReceiver } from './helpers/webhookReceiver';
import { serverOnly } from './helpers/layers';

const V = '4.21';
const P = '4.21.0-0.nightly-2026-03-01-000000';
const KATA = { name: `${JOB_PREFIX}-azure-ipi-kata`, shortName: 'azure-ipi-kata' };
const COCO = { name: `${JOB_PREFIX}-aws-ipi-coco`, shortName: 'aws-ipi-coco' };
const T = (s: number) => new Date(Date.parse('2026-03-01T00:00:00Z') + s * 1000).toISOString();

function ledgerWithTwoPosted(): Ledger {
  const ledger = new Ledger(emptyLedgerState(V));
  for (const job of [KATA, COCO]) {
    ledger.claim({ payload: P, pullSpec: `registry/x:${P}`, job }, T(0));
    ledger.recordTrigger({ payload: P, job: job.name, attempt: 1, outcome: { executionId: `e-${job.shortName}` } }, T(1));
  }
  return ledger;
}

describe('events, keys and messages (no server)', () => {
  test('payload-final is due once every job of the payload is final, and only until taken', () => {
    const ledger = ledgerWithTwoPosted();
    baselineNotices(ledger.state);
    assert.deepEqual(dueLedgerEvents(ledger.state), [], 'nothing final yet');
    ledger.recordVerdict({ payload: P, job: KATA.name, attempt: 1, state: 'success', url: 'https://prow/view/1' }, T(60));
    assert.deepEqual(dueLedgerEvents(ledger.state), [], 'one job still running');
    ledger.recordVerdict({ payload: P, job: COCO.name, attempt: 1, state: 'running' }, T(61));
    assert.deepEqual(dueLedgerEvents(ledger.state), []);
    ledger.recordVerdict({ payload: P, job: COCO.name, attempt: 1, state: 'failure', url: 'https://prow/view/2' }, T(62));
    const due = dueLedgerEvents(ledger.state);
    assert.equal(due.length, 1);
    const event = due[0]!;
    assert.equal(event.key, `payload-final/4.21/${P}`);
    assert.equal(event.key, payloadFinalKey(V, P), 'the key follows from the event alone');
    assert.deepEqual(
      event.kind === 'payload-final' && event.jobs.map((j) => [j.shortName, j.verdict, j.attempts, j.url]),
      [
        ['azure-ipi-kata', 'success', 1, 'https://prow/view/1'],
        ['aws-ipi-coco', 'failure', 1, 'https://prow/view/2'],
      ],
    );
    takeNotice(ledger.state, event.key);
    assert.deepEqual(dueLedgerEvents(ledger.state), [], 'taken: never due again');
    // A retest makes the job not final; its new verdict does not announce the payload again.
    ledger.retest({ job: 'aws-ipi-coco', payload: P }, T(100));
    assert.deepEqual(dueLedgerEvents(ledger.state), []);
  });

  test('`unknown` is final; a failed trigger is final only once its attempts are exhausted, which is also retries-exhausted', () => {
    const ledger = new Ledger(emptyLedgerState(V));
    baselineNotices(ledger.state);
    ledger.claim({ payload: P, pullSpec: 'x', job: KATA, maxAttempts: 2 }, T(0));
    ledger.recordTrigger({ payload: P, job: KATA.name, attempt: 1, outcome: { failed: 'HTTP 503 from Gangway' } }, T(1));
    assert.deepEqual(dueLedgerEvents(ledger.state), [], 'the next pass may try again');
    ledger.claim({ payload: P, pullSpec: 'x', job: KATA, maxAttempts: 2 }, T(2));
    ledger.recordTrigger({ payload: P, job: KATA.name, attempt: 2, outcome: { failed: 'HTTP 503 from Gangway' } }, T(3));
    const keys = dueLedgerEvents(ledger.state).map((e) => e.key);
    assert.deepEqual(keys, [`retries-exhausted/4.21/${P}/azure-ipi-kata/attempt-2`, `payload-final/4.21/${P}`]);
    const exhausted = dueLedgerEvents(ledger.state)[0]!;
    assert.match(slackMessage(exhausted).text, /azure-ipi-kata gave up on 4\.21\.0-0\.nightly-2026-03-01-000000 after 2 attempts \(failed-to-trigger\)/);
    assert.match(JSON.stringify(slackMessage(exhausted).blocks), /attempts 2\/2.*HTTP 503 from Gangway/);

    const other = ledgerWithTwoPosted();
    baselineNotices(other.state);
    other.recordLook({ payload: P, job: KATA.name, attempt: 1, executionId: 'e-azure-ipi-kata' }, { state: 'pending' }, T(3600 * 30), { pollEveryMs: 1000, maxPollEveryMs: 1000, deadlineMs: 10_000 });
    other.recordVerdict({ payload: P, job: COCO.name, attempt: 1, state: 'error' }, T(60));
    assert.deepEqual(dueLedgerEvents(other.state).map((e) => e.key), [`payload-final/4.21/${P}`], 'unknown (deadline) and error are final');

    // The ledger's own retries (the RetryView hook): an `error` with a retry pending is not final;
    // once its retries are used up, the job is exhausted and the payload final.
    let retries = { pending: true, exhausted: false };
    const view: RetryView = { pending: (_p, j) => j.shortName === 'aws-ipi-coco' && retries.pending, exhausted: (_p, j) => j.shortName === 'aws-ipi-coco' && retries.exhausted };
    assert.deepEqual(dueLedgerEvents(other.state, view), [], 'a retry is pending');
    retries = { pending: false, exhausted: true };
    assert.deepEqual(dueLedgerEvents(other.state, view).map((e) => e.key), [`retries-exhausted/4.21/${P}/aws-ipi-coco/attempt-1`, `payload-final/4.21/${P}`]);
  });

  test('with bounded retrigger: an ERROR with a retry to come is not final; out of retries it is retries-exhausted, then payload-final', () => {
    const ledger = new Ledger(emptyLedgerState(V), undefined, { ...DEFAULT_RETRIGGER, maxRetries: 1, initialMs: 1000, maxMs: 1000 });
    const retries = ledger.retryView();
    baselineNotices(ledger.state, retries);
    ledger.claim({ payload: P, pullSpec: 'x', job: KATA }, T(0));
    ledger.recordTrigger({ payload: P, job: KATA.name, attempt: 1, outcome: { executionId: 'e-1' } }, T(1));
    ledger.recordVerdict({ payload: P, job: KATA.name, attempt: 1, state: 'error' }, T(60));
    assert.deepEqual(dueLedgerEvents(ledger.state, retries), [], 'the ledger retries it: not final yet');
    assert.equal(dueLedgerEvents(ledger.state).length, 1, 'without the rules the same state would look final');
    const [target] = ledger.launchTargets();
    assert.equal(target?.kind, 'retry');
    ledger.claimLaunch(target!, T(61));
    ledger.recordTrigger({ payload: P, job: KATA.name, attempt: 2, outcome: { executionId: 'e-2' } }, T(62));
    assert.deepEqual(dueLedgerEvents(ledger.state, retries), [], 'attempt 2 is running');
    ledger.recordVerdict({ payload: P, job: KATA.name, attempt: 2, state: 'error' }, T(120));
    assert.deepEqual(
      dueLedgerEvents(ledger.state, retries).map((e) => e.key),
      [`retries-exhausted/4.21/${P}/azure-ipi-kata/attempt-2`, `payload-final/4.21/${P}`],
    );
  });

  test('a state from before notifications: what is already final is taken without a message; keys of pruned payloads go', () => {
    const ledger = ledgerWithTwoPosted();
    ledger.recordVerdict({ payload: P, job: KATA.name, attempt: 1, state: 'success' }, T(60));
    ledger.recordVerdict({ payload: P, job: COCO.name, attempt: 1, state: 'success' }, T(60));
    const state: LedgerState = JSON.parse(JSON.stringify(ledger.state));
    delete state.notices;
    baselineNotices(state);
    assert.deepEqual(state.notices, { keys: [payloadFinalKey(V, P)] });
    assert.deepEqual(dueLedgerEvents(state), []);
    state.payloads = [];
    takeNotice(state, 'payload-final/4.21/4.21.0-0.nightly-2026-03-02-000000');
    assert.deepEqual(state.notices, { keys: ['payload-final/4.21/4.21.0-0.nightly-2026-03-02-000000'] }, 'bounded by the payloads kept');
  });

  test('consecutive down passes: counted once per pass, reset by an answer, one event per outage at exactly downPasses', () => {
    const s = emptyHealthState();
    const down = { state: 'down' as const, reason: 'HTTP 503' };
    const a1 = recordPassHealth(s, { passId: 'p1', upstreams: { deck: down, 'release-controller': { state: 'up' } } });
    assert.equal(a1.upstreams.deck?.downPasses, 1);
    assert.deepEqual(upstreamDownEvents(a1, 2), []);
    assert.deepEqual(recordPassHealth(s, { passId: 'p1', upstreams: { deck: down } }), a1, 'the same pass again: its first answer');
    const a2 = recordPassHealth(s, { passId: 'p2', upstreams: {} });
    assert.equal(a2.upstreams.deck?.downPasses, 1, 'a pass that did not call Deck neither ends nor extends the run');
    const a3 = recordPassHealth(s, { passId: 'p3', upstreams: { deck: down } });
    assert.deepEqual(upstreamDownEvents(a3, 2), [{ kind: 'upstream-down', key: 'upstream-down/deck/p1', upstream: 'deck', passes: 2, since: 'p1', passId: 'p3', reason: 'HTTP 503' }]);
    const a4 = recordPassHealth(s, { passId: 'p4', upstreams: { deck: down } });
    assert.deepEqual(upstreamDownEvents(a4, 2), [], 'one message per outage');
    recordPassHealth(s, { passId: 'p5', upstreams: { deck: { state: 'up' } } });
    recordPassHealth(s, { passId: 'p6', upstreams: { deck: down } });
    const a7 = recordPassHealth(s, { passId: 'p7', upstreams: { deck: down } });
    assert.deepEqual(upstreamDownEvents(a7, 2).map((e) => e.key), ['upstream-down/deck/p6'], 'a new outage, a new key');
    assert.throws(() => recordPassHealth(s, { passId: 'p8', upstreams: { jenkins: down } }), /unknown upstream "jenkins"/);
  });

  test('an upstream is down in a pass when none of its calls got an answer; failures as `run` counts them', () => {
    const job = (decision: string, httpStatus?: number, reason = 'x') => ({ job: 'j', shortName: decision, decision, reason, ...(httpStatus ? { httpStatus } : {}) });
    const v = (version: string, extra: Partial<VersionResult>): VersionResult => ({ version, stream: `${version}.0-0.nightly`, state: 'done', jobs: [], ...extra }) as VersionResult;
    const rcDown = { workflowId: 'p', deck: { state: 'not-needed' as const }, versions: [v('4.20', { state: 'error', releaseError: 'Failed to query release controller: HTTP 503' }), v('4.21', { state: 'error', releaseError: 'timed out' })] };
    assert.deepEqual(upstreamHealthOf(rcDown), { passId: 'p', upstreams: { 'release-controller': { state: 'down', reason: 'Failed to query release controller: HTTP 503' } } });
    assert.deepEqual(passFailureReasons(rcDown), ['OCP 4.20: Failed to query release controller: HTTP 503', 'OCP 4.21: timed out']);
    const mixed = {
      workflowId: 'p',
      deck: { state: 'unavailable' as const, reason: 'Deck: HTTP 502' },
      versions: [
        v('4.20', { state: 'no-release' }),
        v('4.21', { release: { name: P, pullSpec: 'x' }, jobs: [job('failed', 503, 'Gangway create: HTTP 503'), job('failed', undefined, 'Gangway create: timed out'), job('skipped')] as never }),
      ],
    };
    assert.deepEqual(upstreamHealthOf(mixed).upstreams, {
      'release-controller': { state: 'up' },
      deck: { state: 'down', reason: 'Deck: HTTP 502' },
      gangway: { state: 'down', reason: 'Gangway create: HTTP 503' },
    });
    mixed.versions[1]!.jobs.push(job('triggered', 200) as never);
    assert.equal(upstreamHealthOf(mixed).upstreams.gangway?.state, 'up', 'one create answered: Gangway is reachable');
  });

  test("Slack's JSON: text with the key, blocks with the payload's row (verdict, attempts, Prow link), escaped", () => {
    const event: NotificationEvent = {
      kind: 'payload-final',
      key: payloadFinalKey(V, P),
      version: V,
      payload: P,
      jobs: [
        { job: KATA.name, shortName: 'azure-ipi-kata', verdict: 'success', attempts: 1, url: 'https://prow.ci.openshift.org/view/gs/x/1' },
        { job: COCO.name, shortName: 'aws-ipi-coco', verdict: 'error', attempts: 3, maxAttempts: 3, url: 'https://prow.ci.openshift.org/view/gs/x/2', reason: 'a <b> & c' },
      ],
    };
    const m = slackMessage(event);
    assert.equal(m.text, `OCP 4.21: ${P} is not green on OSC (1 success, 1 error) [payload-final/4.21/${P}]`);
    const reversed = slackMessage({ ...event, jobs: [...(event.kind === 'payload-final' ? event.jobs : [])].reverse() } as NotificationEvent);
    assert.match(reversed.text, /\(1 success, 1 error\)/, "the tally's order does not follow the row's");
    assert.deepEqual(m.blocks, [
      { type: 'section', text: { type: 'mrkdwn', text: `*OCP 4.21: ${P} is not green on OSC (1 success, 1 error)*` } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: [
            ':white_check_mark: `azure-ipi-kata` success, attempts 1 <https://prow.ci.openshift.org/view/gs/x/1|Prow>',
            ':warning: `aws-ipi-coco` error, attempts 3/3 <https://prow.ci.openshift.org/view/gs/x/2|Prow> (a &lt;b&gt; &amp; c)',
          ].join('\n'),
        },
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `osc-build-watcher · key \`payload-final/4.21/${P}\`` }] },
    ]);
    const down = slackMessage({ kind: 'upstream-down', key: 'upstream-down/deck/p1', upstream: 'deck', passes: 2, since: 'p1', passId: 'p2', reason: 'HTTP 503' });
    assert.equal(down.text, 'Deck unreachable for 2 passes in a row (since pass p1) [upstream-down/deck/p1]');
    const failed = slackMessage({ kind: 'pass-failed', key: 'pass-failed/p1', passId: 'p1', reasons: ['OCP 4.21 azure-ipi-kata: HTTP 400'] });
    assert.match(JSON.stringify(failed), /Build watcher pass p1 failed.*OCP 4\.21 azure-ipi-kata: HTTP 400/);
  });

  test('config: notify.webhookFile (or NOTIFY_WEBHOOK_FILE; none: off), notify.downPasses (default 2); one line on a bad value', () => {
    const dir = tempDir('osc-notify-config-');
    const file = (text: string) => {
      const p = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(p, text);
      return p;
    };
    assert.deepEqual(loadConfig({ env: {} }).notify, { downPasses: 2 });
    assert.deepEqual(loadConfig({ configPath: file('notify: { webhookFile: /s/hook, downPasses: 3 }\n'), env: {} }).notify, { webhookFile: '/s/hook', downPasses: 3 });
    assert.equal(loadConfig({ configPath: file('notify: { webhookFile: /s/hook }\n'), env: { NOTIFY_WEBHOOK_FILE: '/t/h' } }).notify.webhookFile, '/t/h');
    for (const [text, pattern] of [
      ['notify: { downPasses: 0 }\n', /notify\.downPasses/],
      ['notify: { webhookUrl: https://hooks.slack.com/x }\n', /unknown key "notify\.webhookUrl"/],
    ] as const) {
      assert.throws(() => loadConfig({ configPath: file(text), env: {} }), (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'), text);
    }
  });
});

describe('the client and the notify activity, against a local receiver (no Temporal server)', () => {
  let receiver: WebhookReceiver;
  let dir: string;
  before(async () => {
    receiver = await new WebhookReceiver().start();
    dir = tempDir('osc-notify-client-');
  });
  after(async () => receiver?.close());

  const urlFile = (content: string) => {
    const p = path.join(dir, `hook-${Math.random().toString(36).slice(2)}`);
    writeFileSync(p, content);
    return p;
  };
  const event: NotificationEvent = { kind: 'pass-failed', key: 'pass-failed/client-test', passId: 'client-test', reasons: ['x'] };

  test('POST {text, blocks} with the Idempotency-Key header; failures classified here; the URL never in an error', async () => {
    const file = urlFile(`  ${receiver.url}\n`);
    const client = new WebhookClient({ url: () => readWebhookUrl(file), timeoutMs: 2000 });
    receiver.responder = () => undefined;
    assert.deepEqual(await client.post(slackMessage(event), event.key), { httpStatus: 200 });
    const got = receiver.requests.at(-1)!;
    assert.equal(got.key, event.key);
    assert.equal(IDEMPOTENCY_HEADER, 'Idempotency-Key');
    assert.deepEqual(got.body, JSON.parse(JSON.stringify(slackMessage(event))));

    const cases: Array<[ReturnType<WebhookReceiver['responder']>, boolean, RegExp, number | undefined]> = [
      [{ status: 500, body: 'oops' }, true, /^webhook POST: HTTP 500 oops$/, undefined],
      [{ status: 429, headers: { 'Retry-After': '7' } }, true, /HTTP 429/, 7000],
      [{ status: 400, body: `invalid_payload for ${receiver.url}` }, false, /^webhook POST: HTTP 400 invalid_payload for \[webhook URL\]$/, undefined],
      [{ status: 404, body: 'no_service' }, false, /HTTP 404 no_service/, undefined],
    ];
    for (const [answer, retryable, pattern, retryAfterMs] of cases) {
      receiver.responder = () => answer;
      await assert.rejects(client.post(slackMessage(event), event.key), (err: unknown) => {
        assert.ok(err instanceof UpstreamError, String(err));
        assert.equal(err.upstream, 'webhook');
        assert.equal(err.retryable, retryable, err.message);
        assert.match(err.message, pattern);
        assert.equal(err.retryAfterMs, retryAfterMs);
        assert.ok(!err.message.includes(receiver.secretPath) && !err.stack?.includes(receiver.secretPath), 'the URL is not in the error');
        return true;
      });
    }
    receiver.responder = () => undefined;
    // Nobody listening: retryable, and the URL (its secret path) is not in the message.
    const closed = new WebhookClient({ url: async () => `http://127.0.0.1:1${receiver.secretPath}`, timeoutMs: 2000 });
    await assert.rejects(closed.post(slackMessage(event), event.key), (err: unknown) => err instanceof UpstreamError && err.retryable && /^webhook POST: ECONNREFUSED$/.test(err.message));
    for (const [content, why] of [['', /the file is empty/], ['not a url', /does not hold a URL/], ['ftp://x/y', /not http\(s\)/]] as const) {
      await assert.rejects(readWebhookUrl(urlFile(content)), (err: unknown) => err instanceof WebhookUrlNotFoundError && !err.retryable && why.test(err.message));
    }
    await assert.rejects(readWebhookUrl(path.join(dir, 'missing')), /notification webhook URL not found at .*missing: ENOENT/);
  });

  test('notify: off without a webhook; a retry whose earlier attempt got its 2xx (heartbeat) does not post again', async () => {
    const file = urlFile(receiver.url);
    const health = { record: async () => assert.fail('not called') };
    const off = createNotifyActivities({ health, downPasses: 2 });
    assert.deepEqual(await new MockActivityEnvironment().run(off.notify, event), { key: event.key, state: 'off' });
    assert.deepEqual(await new MockActivityEnvironment().run(off.passNotices, { health: { passId: 'p', upstreams: {} }, failures: ['x'] }), []);

    const on = createNotifyActivities({ webhook: new WebhookClient({ url: () => readWebhookUrl(file) }), health, downPasses: 2 });
    const before = receiver.requests.length;
    const first = new MockActivityEnvironment();
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d));
    assert.deepEqual(await first.run(on.notify, { ...event, key: 'k-1' }), { key: 'k-1', state: 'sent' });
    assert.deepEqual(beats, [{ delivered: 'k-1' }], 'the delivery is heartbeated at once');
    // Another process's retry (a fresh set of activities) that finds the heartbeat: no POST.
    const fresh = createNotifyActivities({ webhook: new WebhookClient({ url: () => readWebhookUrl(file) }), health, downPasses: 2 });
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { delivered: 'k-1' } });
    assert.deepEqual(await retry.run(fresh.notify, { ...event, key: 'k-1' }), { key: 'k-1', state: 'sent', earlier: true });
    // The same process's retry: it remembers.
    assert.deepEqual(await new MockActivityEnvironment({ attempt: 2 }).run(on.notify, { ...event, key: 'k-1' }), { key: 'k-1', state: 'sent', earlier: true });
    assert.equal(receiver.requests.length - before, 1, 'one POST for k-1');

    // Cancelled while the receiver holds the POST: the activity ends with Temporal's cancellation.
    receiver.responder = () => ({ status: 200, holdMs: 3000 });
    try {
      const env = new MockActivityEnvironment();
      const n = receiver.requests.length;
      const running = env.run(on.notify, { ...event, key: 'k-cancel' });
      await receiver.until(() => receiver.requests.length > n, 'the held POST');
      env.cancel();
      await assert.rejects(running, (err: unknown) => err instanceof CancelledFailure);
    } finally {
      receiver.responder = () => undefined;
    }
  });
});

// ---- On a real dev server ------------------------------------------------------------------------

// Each test has its own simulators and task queue (so its own ledgers and upstream health); the
// webhook that answers 500 is a receiver of its own: the tests run side by side on one dev server.
describe('notifications on a dev server, with the simulators and a real worker', { ...serverOnly, concurrency: true }, () => {
  let temporal: TestTemporal;
  let receiver: WebhookReceiver;
  let tokenFile: string;
  let webhookFile: string;
  const openSims: Simulators[] = [];
  let seed = 1110;
  let passes = 0;

  before(async () => {
    temporal = await startTestTemporal();
    receiver = await new WebhookReceiver().start();
    const dir = tempDir('osc-watcher-notify-');
    tokenFile = writeTokenFile(dir);
    webhookFile = path.join(dir, 'notify-webhook-url');
    writeFileSync(webhookFile, `${receiver.url}\n`);
  });

  after(async () => {
    for (const s of openSims) await s.close();
    await receiver?.close();
    await temporal?.stop();
  });

  async function setup(hookFile = webhookFile) {
    const { scenario, tags } = basicScenario(++seed);
    const sims = await startSimulators(scenario);
    openSims.push(sims);
    const config: WatcherConfig = simConfig(sims, tokenFile, {
      follow: { pollEveryMs: 200, maxPollEveryMs: 1000, deadlineMs: 60_000 },
      stickyQueueTimeoutMs: 1000,
    });
    config.notify = { webhookFile: hookFile, downPasses: 2 };
    return { sims, payload: tags['4.21'], config };
  }

  async function pass(config: WatcherConfig, request: PassRequest): Promise<PassSummary> {
    return temporal.client.workflow.execute(buildWatcher, { workflowId: `notify-pass-${process.pid}-${++passes}`, taskQueue: config.taskQueue, args: [request] });
  }

  async function until(ok: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
    const end = Date.now() + timeoutMs;
    while (!(await ok())) {
      if (Date.now() > end) assert.fail(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The history (with its patch marker) replays against the current code, as a new worker would. */
  async function assertReplays(workflowId: string, marker?: string) {
    const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
    if (marker) assert.ok(containsSecret(JSON.parse(historyToJSON(history)), marker), `${workflowId}: no ${marker} marker`);
    await Worker.runReplayHistory({ workflowBundle: temporal.bundle }, history, workflowId);
  }

  const deliveriesOf = (key: string) => receiver.deliveries().filter((r) => r.key === key);

  /** No secret in any history of the task queue's workflows, nor in a log line. */
  async function assertNoSecret(workflowIds: string[]) {
    for (const id of workflowIds) {
      const history = JSON.parse(historyToJSON(await temporal.client.workflow.getHandle(id).fetchHistory())) as unknown;
      assert.ok(!containsSecret(history, receiver.secretPath), `the webhook URL is in the history of ${id}`);
    }
    assert.ok(!capturedLogs.some((l) => l.includes(receiver.secretPath)), 'the webhook URL is in a log line');
  }

  test("a payload's jobs all final: one message with its row (verdicts, attempts, Prow links); nothing again after", async () => {
    const { sims, payload, config } = await setup();
    await temporal.withWorker(config, async () => {
      const summary = await pass(config, { versions: ['4.21'], jobs: ['azure-ipi-kata', 'aws-ipi-coco'] });
      assert.equal(summary.notifications, undefined, 'the pass did not fail, no upstream is down: nothing from the pass');
      const ids = new Map(summary.versions[0]!.jobs.map((j) => [j.shortName, j.executionId!]));
      sims.setProwJobState(ids.get('azure-ipi-kata')!, 'success');
      const key = payloadFinalKey('4.21', payload);
      // One job final: no message yet (the other is looked at again, and found still triggered).
      const ledgers = new LedgerClient(temporal.client, { taskQueue: config.taskQueue });
      await until(async () => {
        const m = await ledgers.matrix('4.21');
        const jobs = m?.payloads.find((p) => p.name === payload)?.jobs ?? [];
        const kata = jobs.find((j) => j.shortName === 'azure-ipi-kata');
        const coco = jobs.find((j) => j.shortName === 'aws-ipi-coco');
        return kata?.verdict === 'success' && (coco?.attempts[0]?.following?.looks ?? 0) >= 3;
      }, 'kata success, coco looked at three times');
      assert.equal(deliveriesOf(key).length, 0, 'not before every job is final');
      sims.setProwJobState(ids.get('aws-ipi-coco')!, 'failure');
      await receiver.until(() => deliveriesOf(key).length >= 1, 'the payload-final message');

      const msg = deliveriesOf(key)[0]!;
      assert.match(msg.body!.text!, new RegExp(`^OCP 4\\.21: ${payload.replace(/\./g, '\\.')} is not green on OSC \\(1 success, 1 failure\\) \\[${key.replace(/\./g, '\\.')}\\]$`));
      const row = JSON.stringify(msg.body!.blocks);
      const url = (id: string) => sims.prowJobs().find((p) => p.metadata.name === id)!.status.url!;
      assert.ok(row.includes(`\`azure-ipi-kata\` success, attempts 1 <${url(ids.get('azure-ipi-kata')!)}|Prow>`), row);
      assert.ok(row.includes(`\`aws-ipi-coco\` failure, attempts 1 <${url(ids.get('aws-ipi-coco')!)}|Prow>`), row);

      // A second pass finds both already triggered; the ledger changes nothing final: no second message.
      const again = await pass(config, { versions: ['4.21'], jobs: ['azure-ipi-kata', 'aws-ipi-coco'] });
      assert.ok(again.versions[0]!.jobs.every((j) => j.decision === 'skipped'));
      await until(async () => ((await temporal.client.workflow.getHandle(ledgerWorkflowId(config.taskQueue, '4.21')).describe()).raw.pendingActivities ?? []).length === 0, 'the ledger idle');
      assert.equal(deliveriesOf(key).length, 1, 'exactly one message for the event');
      assert.equal(receiver.requests.filter((r) => r.key === key).length, 1, 'and one POST');
      await assertNoSecret([ledgerWorkflowId(config.taskQueue, '4.21'), summary.workflowId, again.workflowId]);
      await assertReplays(ledgerWorkflowId(config.taskQueue, '4.21'), 'ledger-notify');
      await assertReplays(summary.workflowId, 'pass-notify');
    });
  });

  test('a pass that fails: one message each; the release controller down 2 passes in a row: one message per outage', async () => {
    const { sims, config } = await setup();
    // The release controller's 503 fails its activity at once (no activity retries): what counts
    // here is passes in a row, and a retry costs each failing pass about a second on the server.
    config.retry = { ...config.retry, maximumAttempts: 1 };
    await temporal.withWorker(config, async () => {
      const run = async (dryRun = true) => pass(config, { versions: ['4.21'], dryRun });
      sims.addFault({ endpoint: 'rc.latest', status: 503 });
      const p1 = await run();
      const p2 = await run();
      const p3 = await run();
      sims.clearFaults();
      const p4 = await run();
      sims.addFault({ endpoint: 'rc.latest', status: 503 });
      const p5 = await run();
      const p6 = await run();
      sims.clearFaults();

      const keysOf = (s: PassSummary) => (s.notifications ?? []).map((n) => `${n.key} ${n.state}`);
      assert.deepEqual(keysOf(p1), [`pass-failed/${p1.workflowId} sent`]);
      assert.deepEqual(keysOf(p2), [`pass-failed/${p2.workflowId} sent`, `upstream-down/release-controller/${p1.workflowId} sent`]);
      assert.deepEqual(keysOf(p3), [`pass-failed/${p3.workflowId} sent`], 'the outage was announced once');
      assert.deepEqual(keysOf(p4), [], 'a good pass: nothing, and the count starts again');
      assert.deepEqual(keysOf(p5), [`pass-failed/${p5.workflowId} sent`]);
      assert.deepEqual(keysOf(p6), [`pass-failed/${p6.workflowId} sent`, `upstream-down/release-controller/${p5.workflowId} sent`]);
      const mine = receiver.deliveries().filter((r) => [p1, p2, p3, p4, p5, p6].some((p) => r.key?.includes(p.workflowId)));
      assert.equal(mine.length, 7, 'one POST per event: 1 + 2 + 1 + 0 + 1 + 2');
      const down = mine.find((r) => r.key === `upstream-down/release-controller/${p1.workflowId}`)!;
      assert.match(down.body!.text!, new RegExp(`^Release controller unreachable for 2 passes in a row \\(since pass ${p1.workflowId}\\)`));
      assert.match(JSON.stringify(down.body!.blocks), /Last error: .*HTTP 503/);
      assert.match(JSON.stringify(mine[0]!.body), /OCP 4\.21: release controller 4\.21\.0-0\.nightly\/latest: HTTP 503/);
      await assertNoSecret([healthWorkflowId(config.taskQueue), p1.workflowId, p2.workflowId]);
      await assertReplays(p2.workflowId, 'pass-notify');
      await assertReplays(healthWorkflowId(config.taskQueue));
    });
  });

  test('a webhook answering 500: the pass still triggers and completes; the failure is in its summary', async () => {
    // A receiver of its own that answers 500 to everything (the other tests' receiver answers 200).
    const failing = await new WebhookReceiver('T000CANARY/B000CANARY/webhooksecret500').start();
    const failingFile = path.join(tempDir('osc-watcher-notify-500-'), 'notify-webhook-url');
    writeFileSync(failingFile, `${failing.url}\n`);
    const { sims, config } = await setup(failingFile);
    config.retry = { ...config.retry, maximumAttempts: 1 }; // 4.20's 503 fails at once, as above
    failing.responder = () => ({ status: 500, body: 'server_error' });
    try {
      await temporal.withWorker(config, async () => {
        sims.addFault({ endpoint: 'rc.latest', match: '4.20.0-0.nightly', status: 503 });
        const started = Date.now();
        const summary = await pass(config, { versions: ['4.20', '4.21'], jobs: ['azure-ipi-kata'] });
        const seconds = (Date.now() - started) / 1000;
        const v421 = summary.versions.find((v) => v.version === '4.21')!;
        assert.equal(v421.jobs[0]!.decision, 'triggered', v421.jobs[0]!.reason);
        assert.equal(sims.counters()['gangway.created'], 1, 'the job was posted once');
        const key = `pass-failed/${summary.workflowId}`;
        assert.deepEqual(summary.notifications?.map((n) => [n.key, n.state]), [[key, 'failed']]);
        assert.match(summary.notifications![0]!.reason!, /webhook POST: HTTP 500 server_error/);
        assert.equal(failing.requests.filter((r) => r.key === key).length, 4, 'the activity tried 4 times, then gave up');
        assert.equal((await temporal.client.workflow.getHandle(summary.workflowId).describe()).status.name, 'COMPLETED');
        const report = formatReport(summary, { date: new Date(), namespace: 'default' });
        assert.ok(report.includes(`Notification not sent (${key}): webhook POST: HTTP 500 server_error`), report);
        assert.equal(exitCodeFor(summary), 1, 'for the version that could not be checked, not for the webhook');
        process.stdout.write(`# pass with a failing webhook completed in ${seconds.toFixed(1)} s\n`);
      });
    } finally {
      await failing.close();
    }
  });
});
