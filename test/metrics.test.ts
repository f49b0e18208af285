// Prometheus metrics. First the rules without a server (status classes, "not green", a
// successful pass, the nightly's time, the config keys, the flag's one-line errors); then a real
// `osc-build-watcher worker` process with `metrics.port`, on a dev server, against the demo
// scenario's simulators: one pass, the jobs followed to their verdicts, `/metrics` scraped and
// every counter compared with what happened (the simulators' own request log, the pass's
// summary, the ledgers). Then the worker is SIGKILLed and restarted, every workflow of the pass
// is replayed by the new process (queries on closed workflows and on the ledgers, whose cache
// died with the old process), and the new process has counted none of it again; its state
// gauges say the same as before, read back from Temporal; a second pass is counted live.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { LedgerClient } from '../src/clients/ledger';
import { ConfigError, loadConfig } from '../src/config/load';
import { METRICS, notGreen, passSucceeded, statusClass } from '../src/domain/metrics';
import { nightlyTimeMs } from '../src/domain/nightly';
import { triggerWorkflowId } from '../src/domain/labels';
import { ledgerWorkflowId } from '../src/domain/ledger';
import type { PassSummary } from '../src/domain/types';
import { loadScenario, startSimulators, type Simulators } from '../src/simulators';
import { startDevServer, type DevServer } from '../src/temporal/devServer';
import { ensureSearchAttributes } from '../src/temporal/setup';
import { buildWatcher, summaryQuery, versionWorkflowId } from '../src/workflows/buildWatcher';
import { tempDir, writeTokenFile } from './helpers/config';
import { scrape, select, total, type Sample } from './helpers/prometheus';
import { dashboardExpressions, groupingLabels, metricNames, ruleExpressions, TARGET_LABELS } from './helpers/promql';
import { WorkerProcess } from './helpers/workerProcess';
import { serverOnly, UNIT_LAYER } from './helpers/layers';

const CLI = path.resolve(__dirname, '../src/cli/main.js');
const DEMO = path.resolve(__dirname, '../../scenarios/demo.yaml');
const n = (key: keyof typeof METRICS) => METRICS[key].name;
const counter = (key: keyof typeof METRICS) => `${METRICS[key].name}_total`;

describe('the rules (no server)', () => {
  test('status classes, green, a successful pass, the time in a nightly name', () => {
    assert.deepEqual([200, 204, 302, 404, 429, 500, 503, undefined, 0].map(statusClass), ['2xx', '2xx', '3xx', '4xx', '4xx', '5xx', '5xx', 'network', 'network']);
    const job = (verdict: string) => ({ job: 'j', shortName: 'j', verdict, attempts: [] }) as never;
    const payload = (name: string, firstSeenAt: string, verdicts: string[]) => ({ name, pullSpec: 'x', firstSeenAt, jobs: verdicts.map(job) });
    assert.deepEqual(notGreen({ payloads: [] }), { count: 0 });
    assert.deepEqual(
      notGreen({
        payloads: [
          payload('new', '2026-12-02T00:00:00Z', ['success', 'running']),
          payload('green', '2026-12-01T00:00:00Z', ['success', 'success', 'skipped']),
          payload('failed', '2026-11-30T00:00:00Z', ['failure', 'success']),
          payload('only-skipped', '2026-11-29T00:00:00Z', ['skipped']),
        ],
      }),
      { count: 2, oldestFirstSeenMs: Date.parse('2026-11-30T00:00:00Z') },
    );
    const totals = { triggered: 1, skipped: 0, failed: 0, wouldTrigger: 0, versionsWithoutRelease: 1, versionsFailed: 0 };
    assert.equal(passSucceeded({ dryRun: false, totals }), true, 'a version without an Accepted nightly is normal');
    assert.equal(passSucceeded({ dryRun: true, totals }), false, 'a dry run posts nothing');
    assert.equal(passSucceeded({ dryRun: false, totals: { ...totals, failed: 1 } }), false);
    assert.equal(passSucceeded({ dryRun: false, totals: { ...totals, versionsFailed: 1 } }), false);
    assert.equal(nightlyTimeMs('4.21.0-0.nightly-2026-11-24-040107'), Date.parse('2026-11-24T04:01:07Z'));
    assert.equal(nightlyTimeMs('4.21.0-0.ci-2026-11-24-040107'), undefined);
    for (const def of Object.values(METRICS)) assert.match(def.name, /^osc_build_watcher_[a-z_]+$/);
  });

  test('config: metrics.port (off by default) and metrics.refreshEvery (1m); a bad value is one line', () => {
    const dir = tempDir('osc-metrics-config-');
    const file = (text: string) => {
      const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, text);
      return f;
    };
    assert.deepEqual(loadConfig({ env: {} }).metrics, { refreshEveryMs: 60_000 });
    assert.deepEqual(loadConfig({ configPath: file('metrics: { port: 9464, refreshEvery: 30s }\n'), env: {} }).metrics, { port: 9464, refreshEveryMs: 30_000 });
    for (const [text, pattern] of [
      ['metrics: { port: 0 }\n', /metrics\.port: /],
      ['metrics: { port: 70000 }\n', /metrics\.port: /],
      ['metrics: { port: "9464" }\n', /metrics\.port: /],
      ['metrics: { refreshEvery: 500ms }\n', /metrics\.refreshEvery: must be at least 1s/],
      ['metrics: { prot: 9464 }\n', /unknown key "metrics\.prot"/],
    ] as const) {
      assert.throws(() => loadConfig({ configPath: file(text), env: {} }), (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'), text);
    }
  });

  test('--metrics-port: not a port, or a port in use: exit 2, one line', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
    const busyPort = (busy.address() as net.AddressInfo).port;
    try {
      // The three CLI processes side by side: each mostly loads the CLI.
      const cases = [
        [['run', '--dry-run', '--metrics-port', 'abc'], {}, /^ERROR: --metrics-port: expected a TCP port \(1-65535\), got "abc"$/],
        [['worker', '--metrics-port', '70000'], { TEMPORAL_ADDRESS: '127.0.0.1:1' }, /^ERROR: --metrics-port: expected a TCP port/],
        [['worker', '--metrics-port', String(busyPort)], { TEMPORAL_ADDRESS: '127.0.0.1:1' }, new RegExp(`^ERROR: metrics port ${busyPort}: cannot serve /metrics \\(Address (already )?in use`)],
      ] as const;
      const results = await Promise.all(cases.map(([args, env]) => runCli([...args], env)));
      for (const [i, [args, , pattern]] of cases.entries()) {
        const { code, stderr } = results[i]!;
        assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
        const lines = stderr.trim().split('\n');
        assert.equal(lines.length, 1, stderr);
        assert.match(lines[0]!, pattern);
      }
    } finally {
      busy.close();
    }
  });
});

describe('/metrics of a real worker process, across a SIGKILL and a replay', serverOnly, () => {
  let dev: DevServer;
  let sims: Simulators;
  let connection: Connection;
  let client: Client;
  let worker: WorkerProcess;
  let metricsUrl: string;
  let taskQueue: string;
  let ledgers: LedgerClient;
  let token: string;
  let first: { id: string; summary: PassSummary; closeTimeMs: number };
  let before1: Sample[];
  const started = Date.now();

  // The dev server, the simulators and the worker process start as soon as the file is loaded,
  // while the rules above are checked; `before` waits for them.
  const starting = UNIT_LAYER ? Promise.resolve() : startAll();
  starting.catch(() => undefined);

  before(async () => {
    await starting;
  });

  async function startAll(): Promise<void> {
    const work = tempDir('osc-metrics-');
    const scenario = loadScenario(DEMO);
    // The test ends the ProwJobs itself (below), so the demo's own timed outcomes are left out.
    scenario.deck.outcomes = [];
    token = scenario.gangway.token;
    sims = await startSimulators(scenario);
    dev = await startDevServer();
    connection = await Connection.connect({ address: dev.address });
    await ensureSearchAttributes(connection, dev.namespace);
    client = new Client({ connection, namespace: dev.namespace });
    taskQueue = `metrics-${process.pid}`;
    ledgers = new LedgerClient(client, { taskQueue });
    // The port is free when picked, but another process may take it before the worker binds it:
    // the worker then exits 2 naming it ("metrics port N: cannot serve /metrics (Address in use")
    // and another port is tried (3 in all).
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      metricsUrl = `http://127.0.0.1:${port}/metrics`;
      const configFile = path.join(work, 'watcher.yaml');
      writeFileSync(
        configFile,
        [
          `releaseController: { url: ${sims.releaseControllerUrl} }`,
          `deck: { url: ${sims.deckUrl} }`,
          `gangway: { url: ${sims.gangwayUrl}, tokenFile: ${writeTokenFile(work, token)}, rateLimit: { perMinute: 600, burst: 100 } }`,
          'http: { timeout: 2s }',
          'retry: { initialInterval: 100ms, maximumInterval: 500ms, maximumAttempts: 5 }',
          'trigger: { heartbeatTimeout: 5s, inFlightGrace: 2s, deckLagTolerance: 10s }',
          'follow: { pollEvery: 200ms, maxPollEvery: 1s, deadline: 2m }',
          `temporal: { taskQueue: ${taskQueue}, stickyQueueTimeout: 1s, shutdownGrace: 2s }`,
          `metrics: { port: ${port}, refreshEvery: 1s }`,
          '',
        ].join('\n'),
      );
      worker = new WorkerProcess(configFile, { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: dev.address, TEMPORAL_NAMESPACE: dev.namespace });
      try {
        await worker.start(60_000);
        return;
      } catch (err) {
        const portTaken = worker.output.join('').includes(`metrics port ${port}: cannot serve /metrics`);
        await worker.stop('SIGKILL').catch(() => undefined);
        if (!portTaken || attempt >= 3) throw err;
      }
    }
  }

  after(async () => {
    await starting.catch(() => undefined);
    await worker?.stop('SIGKILL');
    await connection?.close();
    await dev?.stop();
    await sims?.close();
  });

  test('after a demo pass and its verdicts, the counters match what happened, the gauges the state', async () => {
    assert.ok(worker.output.join('').includes(`Metrics: http://0.0.0.0:${new URL(metricsUrl).port}/metrics`), 'the worker says where');
    // One Gangway create answered 503: that trigger is retried (after a lookup, each request after a permit).
    sims.addFault({ endpoint: 'gangway.create', status: 503, times: 1 });
    const id = `metrics-pass-1-${process.pid}`;
    const handle = await client.workflow.start(buildWatcher, { workflowId: id, taskQueue, args: [{}] });
    const summary = await handle.result();
    assert.deepEqual({ triggered: summary.totals.triggered, skipped: summary.totals.skipped, failed: summary.totals.failed }, { triggered: 20, skipped: 5, failed: 0 });
    first = { id, summary, closeTimeMs: (await handle.describe()).closeTime!.getTime() };

    // Prow ends every triggered job: 4.21's aws-ipi-coco fails, the others succeed.
    const triggered = jobsOf(summary, 'triggered');
    for (const j of triggered) sims.setProwJobState(j.executionId!, j.version === '4.21' && j.shortName === 'aws-ipi-coco' ? 'failure' : 'success');
    await until('every verdict recorded by the ledgers', async () => {
      for (const version of ['4.17', '4.18', '4.19', '4.20', '4.21']) {
        const m = await ledgers.matrix(version);
        if (!m || m.payloads[0]!.jobs.some((j) => !['success', 'failure'].includes(j.verdict))) return false;
      }
      return true;
    });
    // The state gauges are re-read every second: wait for a refresh that saw the verdicts.
    const notGreenNow = { '4.17': 0, '4.18': 0, '4.19': 0, '4.20': 0, '4.21': 1, '4.22': 0 };
    const settled = (s: Sample[]) => Object.entries(notGreenNow).every(([version, count]) => select(s, n('payloadsNotGreen'), { version })[0]?.value === count);
    const { samples, text, contentType } = await scrapeWhen('the gauges after the verdicts', settled);
    before1 = samples;
    const scrapedAt = Date.now();
    assert.match(contentType, /^text\/plain/);

    // Triggers: one per (version, job) triggered, none failed.
    for (const j of triggered) assert.equal(total(samples, counter('triggers'), { version: j.version, job: j.shortName, result: 'triggered' }), 1, `${j.version} ${j.shortName}`);
    assert.equal(total(samples, counter('triggers')), 20);
    assert.deepEqual(select(samples, counter('triggers'), { version: '4.21', job: 'aws-ipi-coco' })[0]!.labels.workflowType, 'triggerJob', "the SDK's labels come along");
    // Decisions: what the summary says, per version and job.
    for (const j of [...triggered, ...jobsOf(summary, 'skipped')]) {
      assert.equal(total(samples, counter('decisions'), { version: j.version, job: j.shortName, decision: j.decision }), 1, `${j.version} ${j.shortName} ${j.decision}`);
    }
    assert.equal(total(samples, counter('decisions')), 25);
    // Verdicts: 19 success, 1 failure, each once.
    assert.equal(total(samples, counter('verdicts'), { verdict: 'success' }), 19);
    assert.equal(total(samples, counter('verdicts'), { version: '4.21', job: 'aws-ipi-coco', verdict: 'failure' }), 1);
    assert.equal(total(samples, counter('verdicts')), 20);
    // Retries: the one trigger whose create got a 503 was retried; the counter says exactly what
    // the histories say (a busy machine may time out another attempt: that retry counts too).
    const retried = await retriesInHistories(client, [
      id,
      ...summary.versions.filter((v) => v.release).map((v) => versionWorkflowId(id, v.version)),
      ...triggered.map((j) => triggerWorkflowId(j.job, j.payload)),
      ...['4.17', '4.18', '4.19', '4.20', '4.21'].map((v) => ledgerWorkflowId(taskQueue, v)),
    ]);
    assert.ok((retried.triggerGangwayJob ?? 0) >= 1, 'the 503 was retried');
    for (const [activity, count] of Object.entries(retried)) assert.equal(total(samples, counter('retries'), { activity }), count, activity);
    assert.equal(total(samples, counter('retries')), Object.values(retried).reduce((a, b) => a + b, 0), 'nothing else was retried');
    // Upstream requests by status class: exactly the simulators' log.
    const apis = { 'release-controller': 'release-controller', deck: 'deck', gangway: 'gangway' } as const;
    for (const api of Object.keys(apis) as Array<keyof typeof apis>) {
      const byClass = countBy(sims.requests(api), (r) => statusClass(r.status || undefined));
      const metric = Object.fromEntries(select(samples, counter('upstreamRequests'), { api }).map((s) => [s.labels.status_class!, s.value]));
      assert.deepEqual(metric, byClass, api);
    }
    assert.equal(total(samples, counter('upstreamRequests'), { api: 'gangway', status_class: '5xx' }), 1);
    assert.equal(total(samples, counter('upstreamRequests'), { api: 'release-controller', status_class: '4xx' }), 1, "4.22's 404: no Accepted nightly");
    // Deck bytes: exactly what the simulator sent, for the pass's /prowjobs.js and follow-through's /prowjob looks.
    for (const endpoint of ['prowjobs.js', 'prowjob']) {
      const sent = sims.requests('deck').filter((r) => r.path === `/${endpoint}`).reduce((sum, r) => sum + r.sentBytes!, 0);
      assert.ok(sent > 0, endpoint);
      assert.equal(total(samples, counter('deckBytes'), { endpoint }), sent, endpoint);
    }
    // Gangway waits: the bucket never had to (600/min, burst 100); the retry took two permits (list,
    // create). A further retry (a busy machine) takes at most two more each.
    const permits = total(samples, `${n('gangwayRateLimitWait')}_count`, { kind: 'permit' });
    if (retried.triggerGangwayJob === 1) assert.equal(permits, 2);
    else assert.ok(permits >= 2 && permits <= 2 * retried.triggerGangwayJob!, `${permits} permits for ${retried.triggerGangwayJob} retries`);
    assert.equal(total(samples, `${n('gangwayRateLimitWait')}_count`, { kind: 'process' }), 0);
    // State gauges.
    assert.equal(total(samples, n('lastSuccessfulPass')), first.closeTimeMs / 1000);
    const age421 = total(samples, n('newestAcceptedAge'), { version: '4.21' });
    const expectedAge = (scrapedAt - Date.parse('2026-11-24T04:01:07Z')) / 1000;
    assert.ok(age421 <= expectedAge && age421 > expectedAge - 10, `4.21's newest Accepted age ${age421}, expected about ${expectedAge}`);
    assert.equal(select(samples, n('newestAcceptedAge'), { version: '4.22' }).length, 0, '4.22 has no Accepted nightly');
    assert.equal(total(samples, n('oldestNotGreenAge'), { version: '4.20' }), 0);
    const notGreenAge = total(samples, n('oldestNotGreenAge'), { version: '4.21' });
    assert.ok(notGreenAge > 0 && notGreenAge < (scrapedAt - started) / 1000 + 1, `4.21's oldest not green: ${notGreenAge} s`);
    // The SDK's own worker metrics are on the same endpoint.
    assert.ok(samples.some((s) => s.name.startsWith('temporal_') && s.labels.task_queue === taskQueue), "the SDK's worker metrics");
    // Nothing secret, no upstream URL.
    for (const secret of [token, sims.gangwayUrl, sims.deckUrl, sims.releaseControllerUrl]) assert.ok(!text.includes(secret), `not in /metrics: ${secret}`);
    // Every metric the Grafana dashboard and the alerts read is served, with the labels they group by.
    for (const { where, expr } of [...dashboardExpressions(), ...ruleExpressions()]) {
      for (const name of metricNames(expr)) {
        const found = select(samples, name);
        assert.ok(found.length > 0, `${where}: ${name} is not on /metrics`);
        for (const label of groupingLabels(expr).filter((l) => !TARGET_LABELS.includes(l))) assert.ok(found.some((s) => label in s.labels), `${where}: ${name} has no label ${label}`);
      }
    }
    const names = [...new Set(samples.filter((s) => s.name.startsWith('osc_')).map((s) => s.name))].sort();
    process.stdout.write(`# watcher metrics: ${names.join(' ')}\n`);
  });

  test('a restarted worker that replays every workflow of the pass counts none of it again; a new pass is counted', async () => {
    assert.ok(first, 'needs the first test');
    await worker.stop('SIGKILL');
    await worker.start(60_000);

    // Replays in the new process: queries on the closed pass, its version children and trigger
    // workflows (a closed workflow's query always replays its whole history on a worker), and
    // on every ledger (open, but cached only by the process that died).
    const ids = [
      ...first.summary.versions.filter((v) => v.release).map((v) => versionWorkflowId(first.id, v.version)),
      ...jobsOf(first.summary, 'triggered').map((j) => triggerWorkflowId(j.job, j.payload)),
    ];
    const passSummary = await client.workflow.getHandle(first.id).query(summaryQuery);
    assert.equal(passSummary.totals.triggered, 20);
    await Promise.all(ids.map((id) => client.workflow.getHandle(id).query('__stack_trace')));
    const matrices = await Promise.all(['4.17', '4.18', '4.19', '4.20', '4.21'].map((version) => ledgers.matrix(version)));
    matrices.forEach((m, i) => assert.ok(m, `ledger ${i}`));

    const { samples } = await scrapeWhen('the gauges of the new process', (s) => select(s, n('lastSuccessfulPass')).length === 1 && select(s, n('payloadsNotGreen'), { version: '4.21' }).length === 1);
    // The SDK's own metrics of the new process show the replays: workflow tasks of every type, the queries answered.
    const tasks = (type: string) => total(samples, 'temporal_workflow_task_execution_latency_count', { task_queue: taskQueue, workflow_type: type });
    const replayed = { buildWatcher: tasks('buildWatcher'), versionPass: tasks('versionPass'), triggerJob: tasks('triggerJob'), versionLedger: tasks('versionLedger') };
    assert.ok(replayed.buildWatcher >= 1 && replayed.versionPass >= 5 && replayed.triggerJob >= 20 && replayed.versionLedger >= 5, `replayed by the new process: ${JSON.stringify(replayed)}`);
    assert.ok(total(samples, 'temporal_request_total', { operation: 'RespondQueryTaskCompleted' }) >= ids.length + 6);
    for (const key of ['triggers', 'decisions', 'verdicts', 'retries'] as const) {
      assert.equal(total(samples, counter(key)), 0, `${counter(key)} after the replays: ${JSON.stringify(select(samples, counter(key)))}`);
    }
    // The state gauges are the same: they are read from Temporal, not counted.
    assert.equal(total(samples, n('lastSuccessfulPass')), total(before1, n('lastSuccessfulPass')));
    for (const v of ['4.17', '4.18', '4.19', '4.20', '4.21', '4.22']) assert.equal(total(samples, n('payloadsNotGreen'), { version: v }), total(before1, n('payloadsNotGreen'), { version: v }), v);

    // A second pass, live in the new process: nothing is new, every job is a skip.
    const requestsBefore = sims.requests().length;
    const requestsCounted = total(samples, counter('upstreamRequests'));
    const handle = await client.workflow.start(buildWatcher, { workflowId: `metrics-pass-2-${process.pid}`, taskQueue, args: [{}] });
    const second = await handle.result();
    assert.deepEqual({ triggered: second.totals.triggered, skipped: second.totals.skipped }, { triggered: 0, skipped: 25 });
    const closedAt = (await handle.describe()).closeTime!.getTime() / 1000;
    const after2 = (await scrapeWhen('the second pass counted and read', (s) => total(s, counter('decisions')) === 25 && total(s, n('lastSuccessfulPass')) === closedAt)).samples;
    assert.equal(total(after2, counter('decisions'), { decision: 'skipped' }), 25);
    assert.equal(total(after2, counter('triggers')), 0, 'nothing triggered');
    const newRequests = sims.requests().slice(requestsBefore);
    assert.equal(total(after2, counter('upstreamRequests')) - requestsCounted, newRequests.length, "the second pass's requests, each once");
  });

  async function scrapeWhen(what: string, ok: (samples: Sample[]) => boolean) {
    let last: Awaited<ReturnType<typeof scrape>> | undefined;
    await until(what, async () => {
      last = await scrape(metricsUrl);
      return ok(last.samples);
    });
    return last!;
  }
});

/**
 * Retries per activity type, as the histories record them: an activity's started event carries
 * the attempt that ran (`attempt - 1` retries before it). The ledgers' histories are read while
 * they run.
 */
async function retriesInHistories(client: Client, workflowIds: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const workflowId of workflowIds) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const typeOf = new Map<string, string>();
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes) typeOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
      const started = e.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        const type = typeOf.get(String(started.scheduledEventId)) ?? '?';
        out[type] = (out[type] ?? 0) + started.attempt! - 1;
      }
    }
  }
  return out;
}

/** Every job of a summary with this decision, with its version and payload. */
function jobsOf(summary: PassSummary, decision: string) {
  return summary.versions.flatMap((v) => v.jobs.filter((j) => j.decision === decision).map((j) => ({ ...j, version: v.version, payload: v.release!.name })));
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

/** Polls `ok` until it holds (no fixed sleep beyond the poll interval). */
async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await ok()) return;
    } catch {
      // Not there yet (a worker starting, a ledger continuing as new): ask again.
    }
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}
