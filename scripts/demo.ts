// `npm run demo`: the watcher end to end on one machine. Starts the upstream simulators,
// then runs the real CLI against them on an embedded Temporal dev server that keeps its history
// in a fresh SQLite file: the first pass (`run --wait`) triggers and waits for the verdicts (one
// job ends ERROR and its ledger retries it), `status` shows the matrix, the second pass finds
// nothing new.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulators } from '../src/simulators';
import { loadScenario } from '../src/simulators/scenario';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

function banner(text: string): void {
  process.stdout.write(`\n#########################################\n# ${text}\n#########################################\n\n`);
}

/** `--serve[=SECONDS]`: after the passes, serve the status page for that long (default 120 s, or until Ctrl-C). */
function serveSeconds(argv: string[]): number | undefined {
  const arg = argv.find((a) => a === '--serve' || a.startsWith('--serve='));
  if (!arg) return undefined;
  const seconds = arg === '--serve' ? 120 : Number(arg.slice('--serve='.length));
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--serve: "${arg}" needs a number of seconds, like --serve=60`);
  return seconds;
}

/** `osc-build-watcher serve` on the demo's history, for `seconds` or until Ctrl-C; prints where. */
async function serveFor(seconds: number, env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', process.env.DEMO_SERVE_PORT ?? '8088'], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  let said = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      said += chunk.toString();
      if (said.includes('Status page on ')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening`)));
  });
  await listening;
  process.stdout.write(`Serving the status page for ${seconds} s (Ctrl-C stops it sooner)\n`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGTERM'), seconds * 1000);
  const onInt = () => child.kill('SIGTERM');
  process.once('SIGINT', onInt);
  await exited;
  clearTimeout(timer);
  process.removeListener('SIGINT', onInt);
}

/**
 * While `run --metrics-port` lasts, scrapes its /metrics every half second; returns the
 * watcher's lines of the last scrape once `done` settles.
 */
async function scrapeWhile(url: string, done: Promise<unknown>): Promise<string[]> {
  let last = '';
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) last = await res.text();
    } catch {
      // not listening yet, or gone
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return last.split('\n').filter((l) => l.startsWith('osc_build_watcher_') && !l.startsWith('osc_build_watcher_gangway_rate_limit_wait_seconds_bucket'));
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const serve = serveSeconds(process.argv.slice(2));
  const scenario = loadScenario(path.join(root, 'scenarios', 'demo.yaml'));
  const sims = await startSimulators(scenario);
  const work = mkdtempSync(path.join(os.tmpdir(), 'osc-watcher-demo-'));
  try {
    const tokenFile = path.join(work, 'gangway-api-token');
    writeFileSync(tokenFile, `${scenario.gangway.token}\n`, { mode: 0o600 });
    const configFile = path.join(work, 'watcher.yaml');
    // Short retries so the demo's one failing upstream does not keep you waiting, and a Gangway
    // rate limit of one create a second after a burst of 5 (production: 9 a minute), so the
    // spacing shows in the log without a two-minute wait.
    // Follow-through and retriggers on a demo's clock: the simulated jobs end a second after
    // they are created (scenarios/demo.yaml), so look every half second and retry after one.
    writeFileSync(
      configFile,
      [
        'retry:\n  initialInterval: 200ms\n  maximumInterval: 1s\n  maximumAttempts: 3',
        'gangway:\n  rateLimit: { perMinute: 60, burst: 5 }',
        'follow: { pollEvery: 500ms, maxPollEvery: 1s, deadline: 3m }',
        'retrigger: { backoff: { initial: 1s, max: 4s } }',
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RELEASE_CONTROLLER_URL: sims.releaseControllerUrl,
      DECK_URL: sims.deckUrl,
      GANGWAY_URL: sims.gangwayUrl,
      GANGWAY_TOKEN_FILE: tokenFile,
      WATCHER_CONFIG: configFile,
      WATCHER_DB_FILE: path.join(work, 'temporal.sqlite'),
    };
    delete env.TEMPORAL_ADDRESS;
    delete env.JOB_NAME;

    banner(`Simulators: release controller ${sims.releaseControllerUrl}, Deck ${sims.deckUrl}, Gangway ${sims.gangwayUrl}`);
    // With --serve, pass 1 also serves Prometheus /metrics while it runs (run --metrics-port).
    const metricsPort = process.env.DEMO_METRICS_PORT ?? '9464';
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    banner(`Pass 1: osc-build-watcher run --wait${serve !== undefined ? ` --metrics-port ${metricsPort}` : ''} (triggers, then waits for every verdict, retries included)`);
    if (serve !== undefined) process.stdout.write(`Metrics while pass 1 runs: ${metricsUrl}\n`);
    const firstRun = runCli(['run', '--wait', ...(serve !== undefined ? ['--metrics-port', metricsPort] : [])], env);
    const scraped = serve !== undefined ? scrapeWhile(metricsUrl, firstRun) : Promise.resolve([]);
    const first = await firstRun;
    const metricLines = await scraped;
    if (metricLines.length > 0) {
      banner(`The watcher's metrics, as ${metricsUrl} last answered during pass 1`);
      process.stdout.write(`${metricLines.join('\n')}\n`);
    }
    const createsAfterFirst = sims.counters()['gangway.created'] ?? 0;

    banner('osc-build-watcher status --version 4.21 (the ledger: payload x job, attempts, Prow links)');
    const status = await runCli(['status', '--version', '4.21'], env);

    banner('Pass 2: osc-build-watcher run (same Temporal history, so nothing is new)');
    const second = await runCli(['run'], env);
    const createsAfterSecond = sims.counters()['gangway.created'] ?? 0;

    banner('What Gangway received (from the simulator request log)');
    for (const r of sims.requests('gangway').filter((q) => q.method === 'POST')) {
      const body = r.body as { job_name?: string; pod_spec_options?: { envs?: Record<string, string> } };
      const job = body.job_name ?? decodeURIComponent(r.path.split('/').pop() ?? '');
      const attempt = (body as { pod_spec_options?: { labels?: Record<string, string> } }).pod_spec_options?.labels?.['osc-build-watcher/attempt'];
      process.stdout.write(
        `POST ${r.path} -> ${r.status}  ${job.replace(/^.*downstream-release-/, '')}  RELEASE_IMAGE_LATEST=${body.pod_spec_options?.envs?.RELEASE_IMAGE_LATEST ?? '(none)'}${attempt ? `  attempt=${attempt} (retry)` : ''}\n`,
      );
    }
    process.stdout.write(`\nProwJobs created: pass 1: ${createsAfterFirst}, pass 2: ${createsAfterSecond - createsAfterFirst}\n`);
    process.stdout.write(`Exit codes: pass 1 (run --wait): ${first}, status: ${status}, pass 2: ${second}\n`);
    if (createsAfterFirst === 0 || createsAfterSecond !== createsAfterFirst || first !== 0 || status !== 0) process.exitCode = 1;

    if (serve !== undefined) {
      banner('The status page: osc-build-watcher serve (the same history)');
      await serveFor(serve, env);
    } else {
      process.stdout.write('\n(`npm run demo -- --serve` also serves /metrics during pass 1 and the status page for two minutes after)\n');
    }
  } finally {
    await sims.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
