// `npm run bench:freshness [-- --out bench/freshness.json]`: freshness mode, measured.
//
// The simulators with one stream, a Temporal dev server, a real `worker` process and
// `schedule apply --every 1m`, as an operator would set them up. Once the schedule's first pass
// has triggered the first nightly, a newer Accepted nightly appears (right after a tick, so about
// the longest wait): measured is the time from its appearing to its last create at Gangway
// (target: under 90 s with a 1-minute interval). Then the next pass, which finds nothing new: its
// release-controller and Deck requests are counted (expected: 1 and 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseScenario, startSimulators } from '../src/simulators';
import { startDevServer } from '../src/temporal/devServer';
import { CANARY_TOKEN, JOB_NAMES, tempDir, writeTokenFile } from '../test/helpers/config';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const STREAM = '4.21.0-0.nightly';
const TARGET_SECONDS = 90;

function cli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function until<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]!) : path.join(ROOT, 'bench', 'freshness.json');
  const seed = String(Date.now() % 1_000_000).padStart(6, '0');
  const first = `${STREAM}-2026-12-01-${seed}`;
  const second = `${STREAM}-2026-12-02-${seed}`;
  const sims = await startSimulators(
    parseScenario({ releaseController: { streams: { [STREAM]: { tags: [{ name: first, phase: 'Accepted' }] } } }, gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES } }),
  );
  const dev = await startDevServer();
  const work = tempDir('osc-bench-freshness-');
  const configFile = path.join(work, 'watcher.yaml');
  const id = `bench-freshness-${process.pid}`;
  writeFileSync(
    configFile,
    [
      'ocpVersions: ["4.21"]',
      `releaseController: { url: ${sims.releaseControllerUrl} }`,
      `deck: { url: ${sims.deckUrl} }`,
      `gangway: { url: ${sims.gangwayUrl}, tokenFile: ${writeTokenFile(work)}, rateLimit: { perMinute: 600, burst: 100 } }`,
      `schedule: { id: ${id}, every: 1m }`,
      `temporal: { taskQueue: ${id} }`,
      '',
    ].join('\n'),
  );
  const env = { PATH: process.env.PATH, HOME: work, TEMPORAL_ADDRESS: dev.address, TEMPORAL_NAMESPACE: dev.namespace, WATCHER_CONFIG: configFile };
  const worker = cli(['worker'], env);
  let workerOutput = '';
  worker.stderr!.on('data', (c: Buffer) => (workerOutput += c.toString()));
  const counter = (key: string) => sims.counters()[key] ?? 0;
  try {
    await until('the worker to poll', 60_000, () => (workerOutput.includes('Worker polling') ? true : undefined));
    const apply = cli(['schedule', 'apply'], env);
    const applied = await new Promise<number>((resolve) => apply.on('exit', (code) => resolve(code ?? 1)));
    if (applied !== 0) throw new Error('schedule apply failed');
    process.stderr.write('schedule applied (every 1m); waiting for its first pass\n');
    await until('the first pass to trigger the first nightly', 150_000, () => (counter('gangway.created') >= JOB_NAMES.length ? true : undefined));

    sims.addTag(STREAM, { name: second, phase: 'Accepted' });
    const appeared = Date.now();
    process.stderr.write(`${second} appeared; waiting for its creates\n`);
    await until('the new nightly\'s creates', 150_000, () => (counter('gangway.created') >= 2 * JOB_NAMES.length ? true : undefined));
    const seconds = (Date.now() - appeared) / 1000;

    const idleFrom = { rc: counter('rc.latest'), deck: counter('deck.prowjobs'), created: counter('gangway.created') };
    process.stderr.write('waiting for a pass that finds nothing new\n');
    await until('the next pass', 150_000, () => (counter('rc.latest') > idleFrom.rc ? true : undefined));
    await new Promise((r) => setTimeout(r, 10_000)); // what that pass does after the release controller
    const idle = { rcRequests: counter('rc.latest') - idleFrom.rc, deckRequests: counter('deck.prowjobs') - idleFrom.deck, creates: counter('gangway.created') - idleFrom.created };

    const result = { interval: '1m', newNightlyToCreatesSeconds: Math.round(seconds * 10) / 10, targetSeconds: TARGET_SECONDS, met: seconds < TARGET_SECONDS, idlePass: idle, measuredAt: new Date().toISOString() };
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await new Promise<void>((resolve) => cli(['schedule', 'delete'], env).on('exit', () => resolve()));
  } finally {
    if (worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await dev.stop();
    await sims.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench-freshness failed: ${(err as Error).message}\n`);
  process.exit(1);
});
