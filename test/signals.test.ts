import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { EXIT_CODE_OF_SIGNAL, Interrupt, type SignalSource, type StopSignal } from '../src/cli/interrupt';
import { pendingAttemptsOf, upstreamLine, UpstreamStatusPrinter, type PendingAttempt } from '../src/cli/upstreamStatus';
import { startSimulators, type Simulators } from '../src/simulators';
import { startDevServer, type DevServer } from '../src/temporal/devServer';
import { CANARY_TOKEN, tempDir, writeTokenFile } from './helpers/config';
import { basicScenario } from './helpers/scenarios';

// `run` interrupted by real signals (SIGINT as a terminal's Ctrl-C sends it to the whole process
// group, SIGTERM as a pod eviction sends it to the process alone), and the progress line for an
// upstream that is down. Real CLI processes, real dev servers, real HTTP to the simulators.

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
const TRIGGER_KEY_LABEL = 'osc-build-watcher/trigger-key';
const JOBS = 'aws-ipi-coco,azure-ipi-kata';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A CLI process whose output a test can wait on, line by line. */
class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[], env: NodeJS.ProcessEnv, options: { ownGroup?: boolean } = {}) {
    // ownGroup: the process leads a process group of its own (with the dev server it starts),
    // so a test can signal the group as a terminal does, without signalling the test runner.
    this.child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.ownGroup ?? false });
    this.child.stdout!.on('data', (c: Buffer) => {
      this.stdout += c.toString();
      this.wake();
    });
    this.child.stderr!.on('data', (c: Buffer) => {
      this.stderr += c.toString();
      this.wake();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.wake();
        resolve({ code, signal });
      }),
    );
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** Resolves with the first match of `pattern` in stdout+stderr; fails if the process ends first. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = (this.stdout + this.stderr).match(pattern);
      if (m) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process ended before printing ${pattern}:\n${this.stdout}\n${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, 250);
        this.waiters.add(done);
      });
    }
  }

  signal(signal: StopSignal, target: 'process' | 'group'): void {
    if (target === 'group') process.kill(-this.child.pid!, signal);
    else this.child.kill(signal);
  }

  async result(timeoutMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`)), timeoutMs);
    });
    try {
      const { code } = await Promise.race([this.exited, timeout]);
      return { code, stdout: this.stdout, stderr: this.stderr };
    } finally {
      clearTimeout(timer);
    }
  }
}

let server: DevServer;
let work: string;
let tokenFile: string;
let seed = Date.now() % 100_000;
const sims: Simulators[] = [];
const running = new Set<CliProcess>();
const allOutput: string[] = [];

before(async () => {
  server = await startDevServer();
  work = tempDir('osc-watcher-signals-');
  tokenFile = writeTokenFile(work);
});

after(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const s of sims) await s.close();
  await server?.stop();
});

async function simulators(extra: Record<string, unknown> = {}) {
  const { scenario, tags } = basicScenario(++seed, extra);
  const s = await startSimulators(scenario);
  sims.push(s);
  return { s, tag: tags['4.21'] };
}

const configFiles = new Map<string, string>();

/** Writes `<name>.yaml` once: the cases run side by side, and a file rewritten while a CLI reads it could be read empty. */
function configFile(name: string, lines: string[]): string {
  const file = path.join(work, `${name}.yaml`);
  const text = `${lines.join('\n')}\n`;
  if (configFiles.get(name) === undefined) writeFileSync(file, text);
  else assert.equal(configFiles.get(name), text, `${name}.yaml written twice with different lines`);
  configFiles.set(name, text);
  return file;
}

/** Short timeouts, so a request held by a simulator gives up within the worker's shutdown grace. */
const FAST = [
  'retry: { initialInterval: 1s, backoffCoefficient: 2, maximumInterval: 4s, maximumAttempts: 6 }',
  'gangway: { rateLimit: { perMinute: 600, burst: 50 } }',
  'http: { timeout: 3s }',
  'trigger: { inFlightGrace: 3s, heartbeatTimeout: 5s, deckLagTolerance: 5s }',
  'temporal: { shutdownGrace: 2s, stickyQueueTimeout: 1s }',
];

function envFor(s: Simulators, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: work,
    RELEASE_CONTROLLER_URL: s.releaseControllerUrl,
    DECK_URL: s.deckUrl,
    GANGWAY_URL: s.gangwayUrl,
    GANGWAY_TOKEN_FILE: tokenFile,
    WATCHER_CONFIG: configFile('fast', FAST),
    OCP_VERSIONS: '4.21',
    TEMPORAL_TASK_QUEUE: `signals-${++seed}`,
    ...more,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

function cli(args: string[], env: NodeJS.ProcessEnv, options: { ownGroup?: boolean } = {}): CliProcess {
  const p = new CliProcess(args, env, options);
  running.add(p);
  void p.exited.then(() => {
    running.delete(p);
    allOutput.push(p.stdout, p.stderr);
  });
  return p;
}

/** Starts `run` and waits until its pass is in flight: started, with a Gangway create held. */
async function passInFlight(s: Simulators, env: NodeJS.ProcessEnv, options: { ownGroup?: boolean } = {}) {
  s.addFault({ endpoint: 'gangway.create', hold: 'before' });
  const p = cli(['run', '--jobs', JOBS], env, options);
  const [, passId] = await p.waitFor(/Started pass (\S+) on task queue/);
  const deadline = Date.now() + 60_000;
  while (!s.held().some((h) => h.endpoint === 'gangway.create')) {
    assert.ok(Date.now() < deadline, `no Gangway create held:\n${p.stdout}\n${p.stderr}`);
    await sleep(50);
  }
  return { p, passId: passId! };
}

/** What every interrupted run must show: the exit code, one line about the pass, no stack or SDK error. */
function assertCleanInterrupt(res: { code: number | null; stderr: string; stdout: string }, code: number, mention: RegExp): string {
  assert.equal(res.code, code, `exit code\n${res.stdout}\n${res.stderr}`);
  const lines = res.stderr.split('\n').filter((l) => /^Interrupted by /.test(l));
  assert.equal(lines.length, 1, `one interruption line:\n${res.stderr}`);
  assert.match(lines[0]!, mention);
  const both = `${res.stdout}\n${res.stderr}`;
  assert.doesNotMatch(both, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(both, /^\w*Error: /m, 'no error printed as a stack trace starts');
  assert.doesNotMatch(both, /\(node:\d+\) \w*Warning/, 'no Node warning');
  assert.doesNotMatch(both, /Channel has been shut down/);
  assert.doesNotMatch(both, /Promise did not resolve/);
  assert.doesNotMatch(both, /^ERROR/m);
  return lines[0]!;
}

/** POSTs that reached Gangway's create (a held one dropped unanswered is logged with status 0), per trigger key. */
function createsPerKey(s: Simulators): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of s.requests('gangway')) {
    if (r.method !== 'POST' || r.status === 0) continue;
    const body = r.body as { pod_spec_options?: { labels?: Record<string, string> } } | undefined;
    const key = String(body?.pod_spec_options?.labels?.[TRIGGER_KEY_LABEL]);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function assertNoDuplicates(s: Simulators): void {
  for (const [key, n] of createsPerKey(s)) assert.ok(n <= 1, `${n} creates reached Gangway for ${key}`);
  const perKey = new Map<string, number>();
  for (const pj of s.prowJobs()) {
    const key = pj.metadata.labels?.[TRIGGER_KEY_LABEL];
    if (key) perKey.set(key, (perKey.get(key) ?? 0) + 1);
  }
  for (const [key, n] of perKey) assert.equal(n, 1, `${n} ProwJobs for ${key}`);
}

/**
 * After an interruption: the next `run` on the same SQLite file, with Gangway answering again,
 * completes; nothing is posted twice; and the interrupted pass is still in that history, either
 * finished (the new run's worker took it up) or still open.
 */
async function resumeOnSameHistory(s: Simulators, env: NodeJS.ProcessEnv, dbFile: string, passId: string): Promise<void> {
  s.clearFaults();
  s.releaseAll();
  const next = await cli(['run', '--jobs', JOBS], env).result();
  assert.equal(next.code, 0, `${next.stdout}\n${next.stderr}`);
  assert.match(next.stdout, /✓ Build watcher completed successfully/);
  assertNoDuplicates(s);

  const reopened = await startDevServer({ dbFile });
  const connection = await Connection.connect({ address: reopened.address });
  try {
    const status = (await new Client({ connection }).workflow.getHandle(passId).describe()).status.name;
    assert.ok(status === 'COMPLETED' || status === 'RUNNING', `interrupted pass is ${status}`);
  } finally {
    await connection.close();
    await reopened.stop();
  }
}

/** PIDs of processes whose command line mentions `text` (the dev server names its SQLite file). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

// The end-to-end cases share nothing but the file's dev server (each has its own simulators, task
// queue and SQLite file), and most of each is waiting on a process: they run side by side.
describe('end to end, side by side', { concurrency: true }, () => {
  describe('run interrupted by a signal', { concurrency: true }, () => {
    test('SIGINT to the process group (Ctrl-C): exit 130, one line saying the pass resumes; the next run resumes it without a duplicate', async () => {
      const { s } = await simulators();
      const dbFile = path.join(work, 'ctrl-c.sqlite');
      const env = envFor(s, { WATCHER_DB_FILE: dbFile });
      const { p, passId } = await passInFlight(s, env, { ownGroup: true });
      const sentAt = Date.now();
      p.signal('SIGINT', 'group');
      const res = await p.result();
      const line = assertCleanInterrupt(res, 130, new RegExp(`^Interrupted by SIGINT: pass ${passId} .*resumes on the next run`));
      assert.ok(line.includes(dbFile), line);
      assert.ok(Date.now() - sentAt < 20_000, `stopped in ${Date.now() - sentAt} ms`);
      assert.equal(existsSync(`${dbFile}.lock`), false, 'the dev server was stopped and its lock released');
      await resumeOnSameHistory(s, env, dbFile, passId);
    });

    test('SIGTERM to the process alone (pod eviction): exit 143; the next run resumes it without a duplicate', async () => {
      const { s } = await simulators();
      const dbFile = path.join(work, 'sigterm.sqlite');
      const env = envFor(s, { WATCHER_DB_FILE: dbFile });
      const { p, passId } = await passInFlight(s, env);
      p.signal('SIGTERM', 'process');
      const res = await p.result();
      assertCleanInterrupt(res, 143, new RegExp(`^Interrupted by SIGTERM: pass ${passId} .*resumes on the next run`));
      assert.equal(existsSync(`${dbFile}.lock`), false, 'the dev server was stopped and its lock released');
      assert.deepEqual(processesMentioning(dbFile), [], 'no dev server left on that file');
      await resumeOnSameHistory(s, env, dbFile, passId);
    });

    test('with TEMPORAL_ADDRESS: exit 143, the line says the pass goes on there, and it does', async () => {
      const { s } = await simulators();
      const env = envFor(s, { TEMPORAL_ADDRESS: server.address });
      const { p, passId } = await passInFlight(s, env);
      p.signal('SIGTERM', 'process');
      const res = await p.result();
      assertCleanInterrupt(res, 143, new RegExp(`^Interrupted by SIGTERM: pass ${passId} goes on on Temporal at ${server.address} .*task queue ${env.TEMPORAL_TASK_QUEUE} continues it`));
      const connection = await Connection.connect({ address: server.address });
      try {
        const handle = new Client({ connection }).workflow.getHandle(passId);
        assert.equal((await handle.describe()).status.name, 'RUNNING');
        await handle.terminate('test over');
      } finally {
        await connection.close();
      }
    });

    test('a signal while the embedded dev server starts: exit 143, nothing started, the server stopped', async () => {
      const { s } = await simulators();
      const dbFile = path.join(work, 'early.sqlite');
      const p = cli(['run'], envFor(s, { WATCHER_DB_FILE: dbFile }));
      await p.waitFor(/Starting the embedded Temporal dev server/);
      p.signal('SIGTERM', 'process');
      const res = await p.result();
      assertCleanInterrupt(res, 143, /^Interrupted by SIGTERM before pass osc-build-watcher-run-\S+ was started: nothing was started/);
      assert.doesNotMatch(res.stdout, /Started pass/);
      assert.equal(s.requests().length, 0);
      assert.equal(existsSync(`${dbFile}.lock`), false);
      assert.deepEqual(processesMentioning(dbFile), []);
    });

    test('a second signal exits at once, with the same code, and stops the embedded server', async () => {
      const { s } = await simulators();
      const dbFile = path.join(work, 'twice.sqlite');
      // Long enough that a drain would take 20 s: the second signal must not wait for it.
      const slow = configFile('slow', [...FAST.filter((l) => !/^(http|trigger|temporal):/.test(l)), 'http: { timeout: 20s }', 'trigger: { inFlightGrace: 20s }', 'temporal: { shutdownGrace: 20s }']);
      const env = envFor(s, { WATCHER_DB_FILE: dbFile, WATCHER_CONFIG: slow });
      const { p, passId } = await passInFlight(s, env);
      p.signal('SIGINT', 'process');
      await p.waitFor(/^Interrupted by SIGINT/m);
      const sentAt = Date.now();
      p.signal('SIGINT', 'process');
      const res = await p.result();
      assert.ok(Date.now() - sentAt < 10_000, `second signal: exited after ${Date.now() - sentAt} ms`);
      assertCleanInterrupt(res, 130, new RegExp(`pass ${passId} `));
      const deadline = Date.now() + 20_000;
      while (processesMentioning(dbFile).length > 0) {
        assert.ok(Date.now() < deadline, 'the embedded dev server outlived the CLI');
        await sleep(200);
      }
    });
  });

  describe('progress while an upstream is down', { concurrency: true }, () => {
    test('the release controller answering 503: "release controller unreachable, attempt n/6, next in …"', async () => {
      const { s } = await simulators({ faults: [{ endpoint: 'rc.latest', status: 503, body: 'upstream connect error', times: 3 }] });
      const res = await cli(['run', '--jobs', 'aws-ipi-coco'], envFor(s, { TEMPORAL_ADDRESS: server.address })).result();
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      assert.doesNotMatch(res.stderr, /\(node:\d+\) \w*Warning/, 'no Node warning (an abort listener per poll would raise one)');
      // The pass itself looks up every version's release, so the line has no child prefix; the failure names the stream.
      assert.match(res.stdout, /^release controller unreachable, attempt [2-4]\/6, (next in \d+ s|in progress|due now): .*503/m);
      const lines = res.stdout.split('\n').filter((l) => l.includes('unreachable'));
      assert.equal(new Set(lines.map((l) => l.match(/attempt \d+/)![0])).size, lines.length, `one line per attempt:\n${lines.join('\n')}`);
      assert.match(res.stdout, /Jobs triggered: 1\n/);
    });

    test('the line, from describe() fields alone', () => {
      const now = Date.parse('2026-11-24T10:00:00Z');
      const pass = 'osc-build-watcher-run-20261124T095900Z-abcd';
      const raw = {
        pendingActivities: [
          {
            activityId: '1',
            activityType: { name: 'findLatestAcceptedRelease' },
            state: 1,
            attempt: 3,
            maximumAttempts: 6,
            nextAttemptScheduleTime: { seconds: { toString: () => String(now / 1000 + 20) }, nanos: 0 },
            lastFailure: { message: 'release controller 4.21.0-0.nightly/latest: HTTP 503 upstream connect error\nmore' },
          },
          { activityId: '2', activityType: { name: 'fetchDeckRuns' }, state: 2, attempt: 2, activityOptions: { retryPolicy: { maximumAttempts: 4 } }, lastFailure: { message: '', cause: { message: 'Deck: timed out' } } },
          { activityId: '3', activityType: { name: 'triggerGangwayJob' }, state: 1, attempt: 1 },
          { activityId: '4', activityType: { name: 'lookupTriggerRecord' }, state: 1, attempt: 2, maximumAttempts: 0, lastFailure: { message: 'deadline exceeded' } },
          { activityId: '5', activityType: { name: 'triggerGangwayJob' }, state: 2, attempt: 2, maximumAttempts: 6, lastFailure: { message: 'activity Heartbeat timeout', timeoutFailureInfo: { timeoutType: 3 } } },
        ],
      };
      const version = pendingAttemptsOf(`${pass}/ocp-4.21`, raw);
      assert.deepEqual(version[0], {
        workflowId: `${pass}/ocp-4.21`,
        activityId: '1',
        activityType: 'findLatestAcceptedRelease',
        attempt: 3,
        maximumAttempts: 6,
        state: 'scheduled',
        nextAttemptAtMs: now + 20_000,
        lastFailure: 'release controller 4.21.0-0.nightly/latest: HTTP 503 upstream connect error\nmore',
      });
      assert.equal(upstreamLine(version[0]!, now, pass), '[ocp-4.21] release controller unreachable, attempt 3/6, next in 20 s: release controller 4.21.0-0.nightly/latest: HTTP 503 upstream connect error');
      const own = pendingAttemptsOf(pass, raw);
      assert.equal(upstreamLine(own[1]!, now, pass), 'Deck unreachable, attempt 2/4, in progress: Deck: timed out');
      assert.equal(upstreamLine(own[2]!, now, pass), undefined, 'a first attempt says nothing');
      assert.equal(upstreamLine(own[3]!, now, pass), 'activity lookupTriggerRecord failing, attempt 2, due now: deadline exceeded');
      assert.equal(upstreamLine({ ...own[4]!, workflowId: 'osc-trigger/job/payload' }, now, pass), '[osc-trigger/job/payload] Gangway: previous attempt timed out, attempt 2/6, in progress: activity Heartbeat timeout');
      assert.equal(upstreamLine({ ...own[0]!, paused: true }, now, pass), undefined);
      assert.match(upstreamLine({ ...own[0]!, lastFailure: 'x'.repeat(500) }, now, pass)!, /: x{199}…$/);

      const printed: string[] = [];
      const printer = new UpstreamStatusPrinter((l) => printed.push(l), pass);
      const attempt3: PendingAttempt = version[0]!;
      printer.report([attempt3], now);
      printer.report([{ ...attempt3, state: 'started', nextAttemptAtMs: undefined }], now + 21_000);
      printer.report([{ ...attempt3, attempt: 4 }], now + 30_000);
      assert.deepEqual(printed.map((l) => l.match(/attempt \d/)![0]), ['attempt 3', 'attempt 4'], 'once per (activity, attempt)');
    });
  });
});

describe('Interrupt', () => {
  test('the first signal runs the hooks and aborts; the second exits at once with the first one\'s code', async () => {
    const source = new EventEmitter() as EventEmitter & SignalSource;
    const exits: number[] = [];
    const order: string[] = [];
    const interrupt = new Interrupt({ source, exitNow: (code) => exits.push(code) }).install();
    interrupt.onFirst((sig) => order.push(`first ${sig}`));
    interrupt.beforeExitNow(() => order.push('before exit'));
    assert.equal(interrupt.exitCode, undefined);
    source.emit('SIGTERM');
    assert.equal(await interrupt.signalled, 'SIGTERM');
    assert.equal(interrupt.exitCode, 143);
    assert.ok(interrupt.abort.signal.aborted);
    interrupt.onFirst((sig) => order.push(`late ${sig}`));
    source.emit('SIGINT');
    assert.deepEqual(order, ['first SIGTERM', 'late SIGTERM', 'before exit']);
    assert.deepEqual(exits, [143]);
    interrupt.uninstall();
    assert.equal(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM'), 0);
    assert.deepEqual(EXIT_CODE_OF_SIGNAL, { SIGINT: 130, SIGTERM: 143 });
  });
});

describe('output', () => {
  test('the canary token appears in no CLI output', () => {
    assert.ok(allOutput.join('').length > 500);
    assert.ok(!allOutput.some((o) => o.includes(CANARY_TOKEN)));
  });
});
