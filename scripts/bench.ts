// `npm run bench [-- --scenarios 6x5,35x9,50x20] [--deck-synthetic N] [--out bench/results.json] [--use-temporal-address]`
//
// Each scenario (streams x jobs): the simulators with that many nightly streams and jobs, a
// Temporal dev server, and two `osc-build-watcher run --json` processes in a row, as an operator
// would run them. With --use-temporal-address the runs go to the server of TEMPORAL_ADDRESS (and
// TEMPORAL_NAMESPACE, TLS and API key as every Temporal tool reads them) and no dev server
// starts. Only with that flag: a shell set up for production must not bench against it by
// accident (as the tests, which read WATCHER_TEST_TEMPORAL_ADDRESS). The second finds the first's runs on Deck and must post
// nothing. Gangway's limit is raised by config so that it never binds (60,000/min, burst 1,000), no faults. Measured per run:
// the pass's workflow time, the CLI process's time and peak RSS, creates, Deck bytes and fetches,
// and from the server: the largest history (events and bytes) and the largest event of the pass
// and its version children, and the number of workflows; where Linux's /proc tells, the CPU time
// of the CLI process and of the dev server during the run. Prints a table and writes JSON.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { PassSummary } from '../src/domain/types';
import { parseScenario, startSimulators, type Simulators } from '../src/simulators';
import { connectClient, serverFromEnvironment, type ServerTarget } from '../src/temporal/connection';
import { startDevServer } from '../src/temporal/devServer';
import { ensureSearchAttributes } from '../src/temporal/setup';
import { ledgerWorkflowId } from '../src/domain/ledger';
import { versionWorkflowId } from '../src/workflows/ids';
import { tempDir, writeTokenFile, CANARY_TOKEN } from '../test/helpers/config';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
// Gangway's limit as a policy for the bench: high enough never to bind, so that the figures are
// the watcher's own time (production keeps 9/min; a pass there is bound by that, not by this code).
const RATE_PER_MINUTE = Number(process.env.BENCH_RATE_PER_MINUTE ?? 60_000);
const RATE_BURST = Number(process.env.BENCH_RATE_BURST ?? 1_000);
const PREFIX = 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release';

interface Options {
  scenarios: Array<{ name: string; streams: number; jobs: number }>;
  deckSynthetic: number;
  out: string;
  /** Run against the TEMPORAL_ADDRESS server instead of a dev server of the bench's own. */
  useTemporalAddress: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { scenarios: [], deckSynthetic: 2000, out: path.join(ROOT, 'bench', 'results.json'), useTemporalAddress: false };
  let names = '6x5,35x9,50x20';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--scenarios') names = value();
    else if (arg === '--deck-synthetic') opts.deckSynthetic = Number(value());
    else if (arg === '--out') opts.out = path.resolve(value());
    else if (arg === '--use-temporal-address') opts.useTemporalAddress = true;
    else throw new Error(`unknown option ${arg} (--scenarios 6x5,50x20, --deck-synthetic N, --out FILE, --use-temporal-address)`);
  }
  if (!Number.isInteger(opts.deckSynthetic) || opts.deckSynthetic < 0) throw new Error('--deck-synthetic must be a whole number');
  for (const name of names.split(',')) {
    const m = /^(\d+)x(\d+)$/.exec(name.trim());
    if (!m) throw new Error(`scenario "${name}" is not STREAMSxJOBS, like 50x20`);
    opts.scenarios.push({ name: name.trim(), streams: Number(m[1]), jobs: Number(m[2]) });
  }
  return opts;
}

interface RunFigures {
  pass: number;
  passSeconds: number;
  cliSeconds: number;
  exitCode: number;
  creates: number;
  triggered: number;
  skipped: number;
  failed: number;
  deckBytes: number;
  deckFetches: number;
  maxHistoryEvents: number;
  maxHistoryBytes: number;
  maxEventBytes: number;
  workflows: number;
  peakRssMb: number;
  /** CPU seconds of the `run` process (its threads and children); null where /proc is not there. */
  cliCpuSeconds: number | null;
  /** CPU seconds of the dev server during the run; null for a TEMPORAL_ADDRESS server. */
  serverCpuSeconds: number | null;
}

const CLOCK_TICKS = 100;

/** utime + stime (`self`) or cutime + cstime (children waited for) from /proc, in seconds; null off Linux. */
function procCpuSeconds(pid: number | 'self', of: 'self' | 'children'): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const [a, b] = of === 'self' ? [11, 12] : [13, 14];
    return (Number(fields[a]) + Number(fields[b])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const cpuDelta = (before: number | null, after: number | null) => (before === null || after === null ? null : Math.round((after - before) * 10) / 10);

const versionsOf = (n: number) => Array.from({ length: n }, (_, i) => `4.${i}`);
const jobsOf = (n: number) =>
  Array.from({ length: n }, (_, i) => `${['azure', 'aws', 'gcp', 'ibmcloud'][i % 4]}-ipi-${['kata', 'peerpods', 'coco'][i % 3]}-${i}`);

async function runCli(configFile: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string; seconds: number; peakRssMb: number; cpuSeconds: number | null }> {
  const started = Date.now();
  // The bench's children's CPU grows by the CLI's once it has been waited for (its exit).
  const childrenCpuBefore = procCpuSeconds('self', 'children');
  // BENCH_NODE_ARGS: node options for the CLI process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, CLI, '--config', configFile, 'run', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let peakKb = 0;
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // The process has ended.
    }
  }, 100);
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  clearInterval(sample);
  return { code, stdout, stderr, seconds: (Date.now() - started) / 1000, peakRssMb: Math.round(peakKb / 1024), cpuSeconds: cpuDelta(childrenCpuBefore, procCpuSeconds('self', 'children')) };
}

async function historyOf(client: Client, workflowId: string): Promise<{ events: number; bytes: number; maxEventBytes: number }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  return {
    events: events.length,
    bytes: proto.api.history.v1.History.encode(history).finish().length,
    maxEventBytes: Math.max(...events.map((e) => proto.api.history.v1.HistoryEvent.encode(e).finish().length)),
  };
}

/**
 * The scenario's nightly: named after `at`, so that a bench on a server that keeps its workflows
 * (TEMPORAL_ADDRESS) meets no trigger record of an earlier bench for the same (job, payload).
 */
function nightlyAt(version: string, at: Date): string {
  const iso = at.toISOString(); // 2026-12-01T12:34:56.789Z
  return `${version}.0-0.nightly-${iso.slice(0, 10)}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** The server the scenarios run on, as the bench reached it. */
interface BenchServer {
  client: Client;
  /** TEMPORAL_* for the `run` processes. */
  env: NodeJS.ProcessEnv;
  /** The dev server's process, for its CPU; undefined for a TEMPORAL_ADDRESS server. */
  pid?: number;
  /** A TEMPORAL_ADDRESS server: it outlives the bench. */
  external: boolean;
}

async function scenarioRun(opts: Options, sc: Options['scenarios'][number], at: Date, server: BenchServer): Promise<RunFigures[]> {
  const { client } = server;
  const versions = versionsOf(sc.streams);
  const taskQueue = `bench-${sc.name}-${process.pid}`;
  const jobs = jobsOf(sc.jobs);
  const tag = (v: string) => nightlyAt(v, at);
  const sims: Simulators = await startSimulators(
    parseScenario({
      releaseController: { streams: Object.fromEntries(versions.map((v) => [`${v}.0-0.nightly`, { tags: [{ name: tag(v), phase: 'Accepted' }] }])) },
      deck: { fillerProwJobs: opts.deckSynthetic },
      gangway: { token: CANARY_TOKEN, periodicJobs: jobs.map((j) => `${PREFIX}-${j}`) },
    }),
  );
  const work = tempDir('osc-bench-');
  const configFile = path.join(work, 'bench.yaml');
  writeFileSync(
    configFile,
    [
      `ocpVersions: [${versions.map((v) => `"${v}"`).join(', ')}]`,
      `jobs: [${jobs.join(', ')}]`,
      `releaseController: { url: ${sims.releaseControllerUrl} }`,
      `deck: { url: ${sims.deckUrl} }`,
      `gangway: { url: ${sims.gangwayUrl}, tokenFile: ${writeTokenFile(work)}, rateLimit: { perMinute: ${RATE_PER_MINUTE}, burst: ${RATE_BURST} }, concurrency: 10 }`,
      `temporal: { taskQueue: ${taskQueue} }`,
      '',
    ].join('\n'),
  );
  const env = { ...server.env, PATH: process.env.PATH, HOME: process.env.HOME };
  const figures: RunFigures[] = [];
  try {
    for (const pass of [1, 2]) {
      const deckBefore = sims.requests('deck').filter((r) => r.path.startsWith('/prowjobs.js'));
      const createsBefore = sims.counters()['gangway.created'] ?? 0;
      const serverCpuBefore = server.pid ? procCpuSeconds(server.pid, 'self') : null;
      const out = await runCli(configFile, env);
      const serverCpuSeconds = server.pid ? cpuDelta(serverCpuBefore, procCpuSeconds(server.pid, 'self')) : null;
      if (out.code !== 0 && !out.stdout.trim().startsWith('{')) throw new Error(`${sc.name} pass ${pass}: run exited ${out.code}: ${out.stderr.split('\n').slice(-5).join(' | ')}`);
      const summary = JSON.parse(out.stdout) as PassSummary;
      const deck = sims.requests('deck').filter((r) => r.path.startsWith('/prowjobs.js')).slice(deckBefore.length);
      const ids = [summary.workflowId, ...summary.versions.filter((v) => v.release).map((v) => versionWorkflowId(summary.workflowId, v.version))];
      const histories = await Promise.all(ids.map((id) => historyOf(client, id)));
      const triggers = summary.versions.reduce((n, v) => n + v.jobs.filter((j) => j.decision === 'triggered').length, 0);
      figures.push({
        pass,
        passSeconds: (Date.parse(summary.finishedAt!) - Date.parse(summary.startedAt)) / 1000,
        cliSeconds: out.seconds,
        exitCode: out.code,
        creates: (sims.counters()['gangway.created'] ?? 0) - createsBefore,
        triggered: summary.totals.triggered,
        skipped: summary.totals.skipped,
        failed: summary.totals.failed,
        deckBytes: deck.reduce((n, r) => n + (r.sentBytes ?? 0), 0),
        deckFetches: deck.length,
        maxHistoryEvents: Math.max(...histories.map((h) => h.events)),
        maxHistoryBytes: Math.max(...histories.map((h) => h.bytes)),
        maxEventBytes: Math.max(...histories.map((h) => h.maxEventBytes)),
        workflows: ids.length + triggers,
        peakRssMb: out.peakRssMb,
        cliCpuSeconds: out.cpuSeconds,
        serverCpuSeconds,
      });
    }
  } finally {
    await sims.close();
    // The version ledgers never close, and no worker polls this task queue once the bench is
    // done: on a server that outlives the bench (TEMPORAL_ADDRESS) they are ended here.
    if (server.external) await endLedgers(client, taskQueue, versions);
  }
  return figures;
}

async function endLedgers(client: Client, taskQueue: string, versions: string[]): Promise<void> {
  let ended = 0;
  for (const version of versions) {
    try {
      await client.workflow.getHandle(ledgerWorkflowId(taskQueue, version)).terminate('the bench is done with its task queue');
      ended++;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  process.stderr.write(`bench: ended the ${ended} version ledgers of task queue ${taskQueue}\n`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const external = opts.useTemporalAddress ? serverFromEnvironment() : undefined;
  if (opts.useTemporalAddress && !external) throw new Error('--use-temporal-address: TEMPORAL_ADDRESS is not set');
  if (!opts.useTemporalAddress && process.env.TEMPORAL_ADDRESS) {
    process.stderr.write(`bench: TEMPORAL_ADDRESS is set, and not used: a dev server of the bench's own (--use-temporal-address to run against ${process.env.TEMPORAL_ADDRESS})\n`);
  }
  const dev = external ? undefined : await startDevServer();
  const server: ServerTarget = external ?? { address: dev!.address, namespace: dev!.namespace, connectionOptions: { address: dev!.address } };
  process.stderr.write(external ? `bench: the server at ${server.address} (namespace ${server.namespace}), from TEMPORAL_ADDRESS\n` : `bench: a dev server on ${server.address}\n`);
  const connection = await connectClient(server);
  await ensureSearchAttributes(connection, server.namespace);
  const client = new Client({ connection, namespace: server.namespace });
  // The CLI reaches the same server: for a TEMPORAL_ADDRESS one with the same TEMPORAL_* variables
  // (TLS, API key, profile), the task queue aside (each scenario has its own).
  const env: NodeJS.ProcessEnv = {
    ...(external ? Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TEMPORAL_') && k !== 'TEMPORAL_TASK_QUEUE')) : {}),
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
  };
  const results: Array<{ name: string; streams: number; jobs: number; deckSynthetic: number; runs: RunFigures[] }> = [];
  try {
    // Each scenario's nightlies a second apart from the one before: its own (job, payload) pairs.
    const startedAt = Date.now();
    for (const [i, sc] of opts.scenarios.entries()) {
      process.stderr.write(`bench ${sc.name}: ${sc.streams} streams x ${sc.jobs} jobs, ${opts.deckSynthetic} unrelated ProwJobs on Deck…\n`);
      results.push({ ...sc, deckSynthetic: opts.deckSynthetic, runs: await scenarioRun(opts, sc, new Date(Math.floor(startedAt / 1000) * 1000 + i * 1000), { client, env, external: !!external, ...(dev?.pid ? { pid: dev.pid } : {}) }) });
    }
  } finally {
    await connection.close();
    await dev?.stop();
  }
  const header = ['scenario', 'run', 'pass s', 'CLI s', 'exit', 'creates', 'triggered', 'skipped', 'failed', 'Deck KB', 'Deck fetches', 'max events', 'max history KB', 'max event KB', 'workflows', 'peak RSS MB', 'CLI CPU s', 'server CPU s'];
  const rows = results.flatMap((r) =>
    r.runs.map((f) => [r.name, String(f.pass), f.passSeconds.toFixed(1), f.cliSeconds.toFixed(1), String(f.exitCode), String(f.creates), String(f.triggered), String(f.skipped), String(f.failed), (f.deckBytes / 1024).toFixed(0), String(f.deckFetches), String(f.maxHistoryEvents), (f.maxHistoryBytes / 1024).toFixed(0), (f.maxEventBytes / 1024).toFixed(0), String(f.workflows), String(f.peakRssMb), cpuCell(f.cliCpuSeconds), cpuCell(f.serverCpuSeconds)]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`);
  const first = (name: string) => results.find((r) => r.name === name)?.runs[0];
  const small = first('6x5');
  const large = first('50x20');
  if (small && large) {
    process.stdout.write(`6x5 -> 50x20: pass time x${(large.passSeconds / small.passSeconds).toFixed(1)} for x${((50 * 20) / (6 * 5)).toFixed(1)} the (job, payload) pairs\n`);
  }
  mkdirSync(path.dirname(opts.out), { recursive: true });
  const scenarios = results.map((r) => ({
    name: r.name,
    streams: r.streams,
    jobs: r.jobs,
    deckSynthetic: r.deckSynthetic,
    // The first run's figures at the top level (the shape the issue asks for), both runs below.
    ...r.runs[0],
    runs: r.runs,
  }));
  writeFileSync(opts.out, `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: { cpus: require('node:os').cpus().length, node: process.version }, scenarios }, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), opts.out)}\n`);
}

function cpuCell(seconds: number | null): string {
  return seconds === null ? '-' : seconds.toFixed(1);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
