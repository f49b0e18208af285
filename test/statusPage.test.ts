// The status page (`serve`): its rendering without a server (escaping, colours, links), the
// `ui.url` key and `--port`; then in a real headless Chromium against a demo-like run: the
// simulators, a dev server, a worker, three passes (a failed trigger retried, a newer nightly),
// ProwJobs ending in several states; `serve` as a real process. The page's cells and links are
// read in the browser, /api/status is compared with `status --json`, and the screenshot is saved
// (to docs/status-page.png with SCREENSHOT_TO_DOCS=1). Without Chromium, that test is skipped and says why.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { LedgerClient } from '../src/clients/ledger';
import { ConfigError, loadConfig, type WatcherConfig } from '../src/config/load';
import { triggerKey, triggerWorkflowId, triggerWorkflowIdOf } from '../src/domain/labels';
import { attemptsText } from '../src/domain/matrixView';
import { ledgerWorkflowId, type LedgerMatrix } from '../src/domain/ledger';
import type { PassRequest, PassSummary } from '../src/domain/types';
import { UsageError } from '../src/cli/errors';
import { parsePort } from '../src/cli/serve';
import { escapeHtml, renderStatusPage, temporalUiUrl } from '../src/cli/statusPage';
import { startSimulators, type Simulators } from '../src/simulators';
import type { ProwJobState } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { JOB_PREFIX, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario, pullSpecOf } from './helpers/scenarios';
import { FreezableProxy } from './helpers/tcpProxy';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';
import { serverOnly } from './helpers/layers';
import { CLI, runCli } from './helpers/cli';
import { matrixWhen } from './helpers/ledgerMatrix';

// The README's screenshot is refreshed on request (SCREENSHOT_TO_DOCS=1); otherwise the test
// saves it beside its other files, so a test run leaves the work tree as it was.
const DOCS_SCREENSHOT = path.resolve(__dirname, '../../docs/status-page.png');
const UI = 'http://localhost:8233';

/**
 * CHROMIUM_PATH (when set, only it), then Debian's /usr/bin/chromium, then chromium-browser
 * (Ubuntu's name) or chromium on PATH. `reason` says why none is used.
 */
function findChromium(): { path: string } | { reason: string } {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) return existsSync(explicit) ? { path: explicit } : { reason: `CHROMIUM_PATH=${explicit} does not exist` };
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return { path: p };
  const which = spawnSync('sh', ['-c', 'command -v chromium-browser || command -v chromium'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return { path: found };
  return { reason: 'no Chromium found (CHROMIUM_PATH, /usr/bin/chromium, chromium-browser or chromium on PATH); install it with: apt-get install -y chromium' };
}

const matrixOf = (payload: string, jobs: Array<[string, LedgerMatrix['payloads'][0]['jobs'][0]['verdict'], string?]>): LedgerMatrix => ({
  version: '4.21',
  paused: { at: '2026-03-01T00:00:00.000Z', note: 'Prow <outage>' },
  newestTriggered: payload,
  payloads: [
    {
      name: payload,
      pullSpec: `registry/x:${payload}`,
      firstSeenAt: '2026-03-01T00:00:00.000Z',
      jobs: jobs.map(([shortName, verdict, url]) => ({
        job: `${JOB_PREFIX}-${shortName}`,
        shortName,
        verdict,
        attempts: [{ attempt: 1, state: verdict === 'pending' ? 'triggered' : (verdict as 'success'), executionId: 'e1', ...(url ? { url } : {}) }],
        maxAttempts: 3,
      })),
    },
  ],
});

describe('the page without a server', () => {
  const ctx = { namespace: 'default', taskQueue: 'q', uiUrl: UI, readAt: '2026-03-01T00:00:00.000Z' };

  test('cells: verdict class and text, attempts, the Prow and Temporal UI links; a version without a ledger', () => {
    const payload = '4.21.0-0.nightly-2026-03-01-000000';
    const html = renderStatusPage(
      { versions: [matrixOf(payload, [['azure-ipi-kata', 'success', 'https://prow.example/view/1'], ['aws-ipi-coco', 'pending']]), { version: '4.22', paused: null, newestTriggered: null, payloads: [] }], withoutLedger: new Set(['4.22']) },
      ctx,
    );
    assert.match(html, /<td class="cell verdict-success" data-job="azure-ipi-kata" data-verdict="success"[^>]*><span class="verdict">success<\/span> <span class="attempts-label">attempts<\/span> <span class="attempts">1\/3<\/span>/);
    assert.match(html, /<a class="prow" href="https:\/\/prow\.example\/view\/1">Prow<\/a>/);
    const workflow = temporalUiUrl(UI, 'default', triggerWorkflowId(`${JOB_PREFIX}-azure-ipi-kata`, payload));
    assert.equal(workflow, `${UI}/namespaces/default/workflows/osc-trigger%2F${JOB_PREFIX}-azure-ipi-kata%2F${payload}`);
    assert.ok(html.includes(`<a class="temporal" href="${workflow}">workflow</a>`));
    assert.ok(html.includes(`href="${temporalUiUrl(UI, 'default', ledgerWorkflowId('q', '4.21'))}"`), 'the ledger linked');
    assert.match(html, /verdict-pending[^>]*><span class="verdict">pending<\/span>/);
    // Columns in the configured order when given, whatever order the ledger lists the jobs in.
    const ordered = renderStatusPage({ versions: [matrixOf(payload, [['aws-ipi-coco', 'pending'], ['azure-ipi-kata', 'success']])], withoutLedger: new Set() }, { ...ctx, jobOrder: () => ['azure-ipi-kata', 'aws-ipi-coco'] });
    assert.match(ordered, /<th class="job"[^>]*>azure-ipi-kata<\/th><th class="job"[^>]*>aws-ipi-coco<\/th>/);
    assert.match(ordered, /data-job="azure-ipi-kata"[^]*data-job="aws-ipi-coco"/);
    assert.match(html, /<section class="version" id="ocp-4\.22"[^>]*><h2>OCP 4\.22<\/h2><p class="facts">no ledger yet/);
    // Without ui.url: no Temporal UI link at all.
    const plain = renderStatusPage({ versions: [matrixOf(payload, [['azure-ipi-kata', 'success']])], withoutLedger: new Set() }, { ...ctx, uiUrl: undefined as unknown as string });
    assert.ok(!plain.includes('class="temporal'), 'no Temporal UI link without ui.url');
  });

  test('everything from the ledgers is escaped; a Prow URL that is not http(s) is no link', () => {
    const evil = '<script>alert(1)</script>';
    const m = matrixOf('4.21.0-0.nightly-"><img src=x>', [[evil, 'failure', 'javascript:alert(1)']]);
    const html = renderStatusPage({ versions: [m], withoutLedger: new Set() }, ctx);
    assert.ok(!html.includes('<script'), 'no script element');
    assert.ok(!html.includes('<img'), 'no injected element');
    assert.ok(!html.includes('javascript:'), 'no javascript: link, nor the URL as text');
    assert.ok(html.includes(escapeHtml(evil)));
    assert.ok(html.includes('PAUSED since 2026-03-01T00:00:00.000Z (Prow &lt;outage&gt;)'));
    assert.equal(escapeHtml(`a&b<c>"d'`), 'a&amp;b&lt;c&gt;&quot;d&#39;');
  });

  test('ui.url: a base URL, trailing slash trimmed; a bad one is one line; --port checked', () => {
    const dir = tempDir('osc-watcher-ui-');
    const file = (text: string) => {
      const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, text);
      return f;
    };
    assert.equal(loadConfig({ configPath: file('ui: { url: "http://temporal-ui:8080/" }\n'), env: {} }).ui.url, 'http://temporal-ui:8080');
    assert.equal(loadConfig({ env: {} }).ui.url, undefined);
    assert.throws(
      () => loadConfig({ configPath: file('ui: { url: "temporal-ui" }\n'), env: {} }),
      (e: unknown) => e instanceof ConfigError && /ui\.url: must be a base URL/.test(e.message) && !e.message.includes('\n'),
    );
    assert.equal(parsePort('0'), 0);
    assert.equal(parsePort('8088'), 8088);
    for (const bad of ['-1', '65536', 'http', '80.5']) {
      assert.throws(() => parsePort(bad), (e: unknown) => e instanceof UsageError && e.message.startsWith(`--port: "${bad}" is not a port number`), bad);
    }
  });
});

// The two tests run side by side on the one dev server: the browser test's own task queue, the
// other's own proxy and `serve` process.
describe('serve on a dev server: the page in a real browser against a demo-like run; Temporal away', { ...serverOnly, concurrency: true }, () => {
  const found = findChromium();
  const chromium = 'path' in found ? found.path : undefined;
  let temporal: TestTemporal | undefined;
  let sims: Simulators | undefined;
  let serveProc: ChildProcess | undefined;
  let browserClose: (() => Promise<void>) | undefined;

  before(async () => {
    temporal = await startTestTemporal();
  });

  after(async () => {
    await browserClose?.().catch(() => undefined);
    if (serveProc && serveProc.exitCode === null) serveProc.kill('SIGKILL');
    await sims?.close();
    await temporal?.stop();
  });

  test('cells, colours and links in Chromium; /api/status is `status --json`; screenshot', { timeout: 180_000 }, async (t) => {
    if (!chromium) {
      t.skip('reason' in found ? found.reason : 'no Chromium');
      return;
    }
    const { default: puppeteer } = await import('puppeteer-core');
    const { scenario, tags } = basicScenario(4242);
    sims = await startSimulators(scenario);
    const dir = tempDir('osc-watcher-page-');
    const tokenFile = writeTokenFile(dir);
    const configFile = path.join(dir, 'watcher.yaml');
    writeFileSync(
      configFile,
      [
        'ocpVersions: ["4.20", "4.21"]',
        'retry: { initialInterval: 100ms, maximumInterval: 500ms, maximumAttempts: 3 }',
        'http: { timeout: 2s }',
        'trigger: { inFlightGrace: 2s, deckLagTolerance: 5s, heartbeatTimeout: 5s }',
        'gangway: { rateLimit: { perMinute: 600, burst: 20 } }',
        // Looks soon after a trigger, then rarely: the matrix stays still between two reads.
        'follow: { pollEvery: 300ms, maxPollEvery: 30s, deadline: 10m }',
        `ui: { url: "${UI}" }`,
        '',
      ].join('\n'),
    );
    const taskQueue = `page-${process.pid}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      RELEASE_CONTROLLER_URL: sims.releaseControllerUrl,
      DECK_URL: sims.deckUrl,
      GANGWAY_URL: sims.gangwayUrl,
      GANGWAY_TOKEN_FILE: tokenFile,
      WATCHER_CONFIG: configFile,
      TEMPORAL_ADDRESS: temporal!.server.address,
      TEMPORAL_NAMESPACE: temporal!.server.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
    };
    const config: WatcherConfig = loadConfig({ configPath: configFile, env });
    assert.equal(config.taskQueue, taskQueue);
    const ledgers = new LedgerClient(temporal!.client, { taskQueue, follow: config.follow });
    const A = tags['4.21'];
    const B = '4.21.0-0.nightly-2026-11-25-000000';

    const t0 = Date.now();
    // `serve` (a real process, on a free port) and Chromium start while the passes run.
    const serving = startServe(env);
    serving.then((s) => (serveProc = s.child), () => undefined);
    const launching = puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage'],
    });
    launching.then((b) => (browserClose = () => b.close()), () => undefined);

    await temporal!.withWorker(config, async () => {
      let passes = 0;
      const pass = async (request: PassRequest) =>
        (await temporal!.client.workflow.execute(buildWatcher, { workflowId: `page-pass-${process.pid}-${++passes}`, taskQueue, args: [request] })) as PassSummary;
      const executions = (s: PassSummary, version: string) => new Map(s.versions.find((v) => v.version === version)!.jobs.map((j) => [j.shortName, j.executionId]));

      // Pass 1 (4.20 and 4.21): Gangway refuses 4.21's aws-ipi-coco once (a 400: not retried),
      // picked by its trigger-key label.
      sims!.addFault({ endpoint: 'gangway.create', matchBody: triggerKey(`${JOB_PREFIX}-aws-ipi-coco`, pullSpecOf(A)), status: 400, body: 'bad request', times: 1 });
      const first = await pass({ versions: ['4.20', '4.21'] });
      const e420 = executions(first, '4.20');
      const coco1 = first.versions.find((v) => v.version === '4.21')!.jobs.find((j) => j.shortName === 'aws-ipi-coco')!;
      assert.equal(coco1.decision, 'failed', coco1.reason);
      const e421 = executions(first, '4.21');
      const states: Array<[string | undefined, ProwJobState]> = [
        [e420.get('azure-ipi-kata'), 'success'],
        [e420.get('azure-ipi-peerpods'), 'success'],
        [e420.get('azure-ipi-coco'), 'error'],
        [e420.get('aws-ipi-peerpods'), 'success'],
        [e420.get('aws-ipi-coco'), 'success'],
        [e421.get('azure-ipi-kata'), 'success'],
        [e421.get('azure-ipi-peerpods'), 'failure'],
        [e421.get('azure-ipi-coco'), 'pending'],
        [e421.get('aws-ipi-peerpods'), 'aborted'],
      ];
      for (const [id, state] of states) sims!.setProwJobState(id!, state);

      // Pass 2: the failed trigger is tried again (attempt 2); its ProwJob stays `triggered`.
      const second = await pass({ versions: ['4.21'] });
      assert.equal(second.versions[0]!.jobs.find((j) => j.shortName === 'aws-ipi-coco')!.decision, 'triggered');

      // Pass 3: a newer nightly; two of its jobs.
      sims!.addTag('4.21.0-0.nightly', { name: B, phase: 'Accepted' });
      const third = await pass({ versions: ['4.21'], jobs: ['azure-ipi-kata', 'aws-ipi-coco'] });
      sims!.setProwJobState(executions(third, '4.21').get('azure-ipi-kata')!, 'success');

      const want421: Record<string, Record<string, string>> = {
        [A]: { 'azure-ipi-kata': 'success', 'azure-ipi-peerpods': 'failure', 'azure-ipi-coco': 'running', 'aws-ipi-peerpods': 'aborted', 'aws-ipi-coco': 'pending' },
        [B]: { 'azure-ipi-kata': 'success', 'aws-ipi-coco': 'pending' },
      };
      process.stdout.write(`# passes done after ${Date.now() - t0} ms\n`);
      const m421 = await matrixWhen(ledgers, '4.21', (m) => matches(m, want421), 'the verdicts the page shows', 30_000);
      const m420 = await matrixWhen(ledgers, '4.20', (m) => matches(m, { [tags['4.20']]: { 'azure-ipi-coco': 'error', 'azure-ipi-kata': 'success' } }), 'the verdicts the page shows', 30_000);
      assert.deepEqual(m421.payloads.map((p) => p.name), [B, A], 'newest payload first');
      assert.equal(m421.payloads[1]!.jobs.find((j) => j.shortName === 'aws-ipi-coco')!.attempts.length, 2);

      process.stdout.write(`# verdicts seen after ${Date.now() - t0} ms\n`);
      const [served, browser] = await Promise.all([serving, launching]);
      process.stdout.write(`# serve and browser up after ${Date.now() - t0} ms\n`);
      serveProc = served.child;
      const base = served.url;
      try {
        const page = await browser.newPage();
        await page.setViewport({ width: 1500, height: 900 });
        const res = await page.goto(base, { waitUntil: 'load' });
        assert.equal(res?.status(), 200);
        assert.equal(await page.title(), 'osc-build-watcher status');
        const cells = await page.$$eval('td.cell', (tds) =>
          tds.map((td) => ({
            version: td.closest('section')?.getAttribute('data-version'),
            payload: td.closest('tr')?.getAttribute('data-payload'),
            job: td.getAttribute('data-job'),
            className: td.className,
            verdict: td.querySelector('.verdict')?.textContent,
            attempts: td.querySelector('.attempts')?.textContent,
            prow: td.querySelector('a.prow')?.getAttribute('href') ?? null,
            temporal: td.querySelector('a.temporal')?.getAttribute('href') ?? null,
            background: (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(td).backgroundColor,
          })),
        );
        const rows = await page.$$eval('section[data-version="4.21"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-payload')));
        assert.deepEqual(rows, [B, A], 'newest payload first on the page');

        let checked = 0;
        for (const m of [m420, m421]) {
          for (const p of m.payloads) {
            for (const j of p.jobs) {
              const cell = cells.find((c) => c.version === m.version && c.payload === p.name && c.job === j.shortName);
              assert.ok(cell, `a cell for ${m.version} ${p.name} ${j.shortName}`);
              const latest = j.attempts.at(-1)!;
              assert.equal(cell.verdict, j.verdict, `${p.name} ${j.shortName}`);
              assert.ok(cell.className.split(' ').includes(`verdict-${j.verdict}`), cell.className);
              assert.equal(cell.attempts, attemptsText(j));
              assert.equal(cell.prow, latest.url ?? null, `${p.name} ${j.shortName}: the Prow link is the attempt's URL`);
              if (['success', 'failure', 'error', 'aborted', 'running'].includes(j.verdict)) {
                assert.match(cell.prow ?? '', new RegExp(`/logs/${JOB_PREFIX}-${j.shortName}/\\d+$`));
              }
              assert.equal(cell.temporal, `${UI}/namespaces/${temporal!.server.namespace}/workflows/${encodeURIComponent(triggerWorkflowIdOf(j.job, p.name, latest))}`);
              checked += 1;
            }
          }
        }
        assert.equal(checked, 5 + 5 + 2);
        assert.equal(cells.length, checked, 'no cell the ledgers do not have');
        const colour = (verdict: string) => new Set(cells.filter((c) => c.verdict === verdict).map((c) => c.background));
        const palette = ['success', 'failure', 'error', 'aborted', 'running', 'pending'].map((v) => [...colour(v)]);
        for (const set of palette) assert.equal(set.length, 1, 'one colour per verdict');
        assert.equal(new Set(palette.map((s) => s[0])).size, palette.length, `a colour of its own for each verdict: ${JSON.stringify(palette)}`);
        assert.ok(!palette.some((s) => s[0] === 'rgba(0, 0, 0, 0)'), 'coloured');
        const ledgerLink = await page.$eval('section[data-version="4.21"] a.ledger', (a) => a.getAttribute('href'));
        assert.equal(ledgerLink, `${UI}/namespaces/${temporal!.server.namespace}/workflows/${encodeURIComponent(ledgerWorkflowId(taskQueue, '4.21'))}`);

        const screenshot = process.env.SCREENSHOT_TO_DOCS === '1' ? DOCS_SCREENSHOT : path.join(os.tmpdir(), `osc-status-page-${process.pid}.png`);
        mkdirSync(path.dirname(screenshot), { recursive: true });
        await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
        process.stdout.write(`# screenshot: ${screenshot}\n`);
      } finally {
        await browser.close();
        browserClose = undefined;
      }

      // The JSON twin is `status --json`, byte for byte once parsed. A look at a ProwJob still
      // running moves its `following` fields, so the CLI's answer is compared with the page's
      // answers read just before and just after it: it must be one of them.
      const textRead = runCli(['status'], env);
      let compared = false;
      for (let i = 0; i < 5 && !compared; i++) {
        const before = await (await fetch(`${base}api/status`)).json();
        const cli = await runCli(['status', '--json'], env);
        assert.equal(cli.code, 0, cli.stderr);
        const afterwards = await (await fetch(`${base}api/status`)).json();
        const answer = JSON.parse(cli.stdout) as unknown;
        const same = [before, afterwards].find((page) => isDeepStrictEqual(answer, page));
        process.stdout.write(`# status --json read ${i + 1}: ${same ? 'equal to the page' : 'the ledgers moved twice'}\n`);
        if (!same) continue;
        assert.deepEqual(answer, same);
        compared = true;
      }
      assert.ok(compared, 'the ledgers never held still around a `status --json`');
      const text = await textRead;
      process.stdout.write(`# status:\n${text.stdout.replace(/^/gm, '#   ')}\n`);

      process.stdout.write(`# compared after ${Date.now() - t0} ms\n`);
      const health = await fetch(`${base}healthz`);
      assert.equal(health.status, 200);
      assert.equal(await health.text(), 'ok\n');
      assert.equal((await fetch(`${base}nope`)).status, 404);
      assert.equal((await fetch(base, { method: 'POST' })).status, 405);

      serveProc.kill('SIGTERM');
      const [code] = await new Promise<[number | null]>((resolve) => serveProc!.once('exit', (c) => resolve([c])));
      assert.equal(code, 0, served.output.join(''));
      assert.match(served.output.join(''), /Received SIGTERM: status page stopped/);
      assert.ok(!served.output.join('').includes('CANARY'), 'no token in what serve printed');
    });
  });

  test('Temporal away: / and /api/status answer 503 with one line, /healthz still 200', { timeout: 120_000 }, async () => {
    const [host, port] = temporal!.server.address.split(':');
    const proxy = new FreezableProxy({ host: host!, port: Number(port) });
    const address = await proxy.listen();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: tempDir('osc-watcher-serve-'),
      OCP_VERSIONS: '4.21',
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: temporal!.server.namespace,
      TEMPORAL_TASK_QUEUE: `serve-away-${process.pid}`,
    };
    const served = await startServe(env);
    try {
      const ok = await fetch(served.url);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /<h2>OCP 4\.21<\/h2><p class="facts">no ledger yet/);
      assert.deepEqual(await (await fetch(`${served.url}api/status`)).json(), { versions: [{ version: '4.21', paused: null, newestTriggered: null, payloads: [] }] });

      await proxy.close();
      // The API and the page are asked at once: both wait for the same 10 s.
      const started = Date.now();
      const pageAnswer = fetch(served.url);
      const api = await fetch(`${served.url}api/status`);
      const waited = (Date.now() - started) / 1000;
      assert.equal(api.status, 503);
      const body = (await api.json()) as { error: string };
      // The client retries for about 20 s; the page says so after 10.
      assert.equal(body.error, 'could not read the ledgers: Temporal did not answer within 10 s');
      assert.ok(waited < 15, `waited ${waited} s`);
      assert.ok(!body.error.includes('\n'));
      const page = await pageAnswer;
      assert.equal(page.status, 503);
      assert.match(await page.text(), /^could not read the ledgers: .*\n$/);
      assert.equal((await fetch(`${served.url}healthz`)).status, 200);
      process.stdout.write(`# Temporal away: 503 after ${waited.toFixed(1)} s\n`);
    } finally {
      served.child.kill('SIGTERM');
      await new Promise((resolve) => served.child.once('exit', resolve));
    }
  });
});

function matches(m: LedgerMatrix, want: Record<string, Record<string, string>>): boolean {
  return Object.entries(want).every(([payload, jobs]) =>
    Object.entries(jobs).every(([shortName, verdict]) => m.payloads.find((p) => p.name === payload)?.jobs.find((j) => j.shortName === shortName)?.verdict === verdict),
  );
}

/** `serve --port 0`, resolved with its URL once it says where it listens. */
function startServe(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; output: string[] }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output.join('')}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const m = /Status page on (http:\/\/\S+\/) /.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening:\n${output.join('')}`));
    });
  });
}

