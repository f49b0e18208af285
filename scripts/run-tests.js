#!/usr/bin/env node
// `npm test` after the build: every dist/test/*.test.js from one pool of processes,
// TEST_CONCURRENCY (default 3) at a time, longest first. Each end-to-end file runs in its own
// `node <file>` process (node:test, TAP) and starts its own dev server and simulators on free ports, with
// its own temp directories and task queues, so files side by side share nothing; most of an
// end-to-end file is waiting.
//
//   node scripts/run-tests.js                                 all of dist/test/*.test.js
//   node scripts/run-tests.js dist/test/cli.test.js signals.test.js   only these files
//   node scripts/run-tests.js --test-name-pattern=x           other arguments go to every node
//
// Order: the EXCLUSIVE files first (TEST_EXCLUSIVE to change them), side by side (two at once,
// TEST_EXCLUSIVE_AT_ONCE), with nothing beside them but light jobs: the unit files, then the
// LIGHT files (TEST_LIGHT: long, mostly waiting), two at a time (TEST_BESIDE_AT_ONCE); then the
// other files, TEST_CONCURRENCY at a time, longest first (WEIGHTS: about their seconds in
// `npm test`, a file not listed counts 1), so that the longest do not start last and the short
// ones fill the end.
// Exclusive files judge rates or timeouts in milliseconds, which other files' CPU on this 2-core
// machine would distort (budget: no window of Gangway requests over burst + rate x its length,
// with about one token of slack; faults: HTTP timeouts of a few hundred ms, and the 100 MB Deck
// answer's CPU, 200 MB in `test:long`). Running them first costs no waiting for the pool to
// drain; the unit files beside them start no server, and the light files use a third of a core
// or less.
//
// One dev server for the workflow-logic files: the runner starts it first, with a namespace for
// each file (test-<name>), and passes its address and the file's namespace in the environment;
// `startTestTemporal()` (test/helpers/temporal.ts) uses it instead of starting one of its own.
// Files that need a server of their own (restarts, dynamic config, the embedded one of the CLI)
// start it as before. TEST_SHARED_SERVER=0: every file starts its own; none under TEST_LAYER=unit.
//
// The unit files (*.unit.test.js; under TEST_LAYER=unit, every file named) run grouped: one
// node process loads several files, each file a suite named after it, so the SDK and the
// helpers are loaded once per group rather than once per file (half the CPU of `test:unit`).
// `npm test` makes one group of its unit files; TEST_LAYER=unit makes TEST_CONCURRENCY groups
// balanced by UNIT_LAYER_WEIGHTS. TEST_ISOLATION=process gives every file its own `node FILE`.
//
// Each process's output (stdout and stderr) is held and printed in one piece when it ends, so
// files do not interleave (TEST_OUTPUT=stream prints it as it comes, each line prefixed; TEST_PLAN=1
// prints the order and runs nothing; TEST_CPU=1 adds each process tree's CPU seconds, measured by
// GNU time). A line
// says when each starts, and every minute which are still running. At the end: each file's wall
// time, slowest first, the failed tests, the counts added up from each TAP summary, and the
// run's wall time. Exit 1 on a failing or cancelled test, and on a process that failed without
// one (a crash, a hook that threw, a timeout).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// A group process: `node [node options] run-tests.js --group FILE...` loads each file in a suite.
if (process.argv[2] === '--group') {
  const { describe } = require('node:test');
  for (const file of process.argv.slice(3)) describe(path.basename(file), () => require(file));
  return;
}

const dir = path.resolve(__dirname, '..', 'dist', 'test');
const measureCpu = process.env.TEST_CPU === '1' && fs.existsSync('/usr/bin/time');
/** TEST_EXCLUSIVE=a.test.js,b.test.js sets them instead (empty: none). */
const EXCLUSIVE = new Set((process.env.TEST_EXCLUSIVE ?? 'budget.test.js,faults.test.js').split(',').map((s) => s.trim()).filter(Boolean));
/**
 * How many exclusive files run at once (TEST_EXCLUSIVE_AT_ONCE, default 2: budget and faults side
 * by side; 1: one at a time). Budget uses about a quarter of a core, mostly waiting for its rate;
 * faults a little under one; no other end-to-end file but the light ones runs beside them.
 * Budget's densest windows used at most 3.5 of the 6 tokens of slack alone.
 */
const EXCLUSIVE_AT_ONCE = Math.max(1, Number(process.env.TEST_EXCLUSIVE_AT_ONCE || 2));
/**
 * Light files (TEST_LIGHT, comma-separated; empty: none): long but mostly waiting (a third of a
 * core or less: kill tests that wait out heartbeat timeouts and retries). While the exclusive
 * files run, the unit group, then these, run beside them (BESIDE_AT_ONCE at a time) rather than
 * leave the machine half idle; the load stays under what the unit group alone gave them at the
 * start. What is left when the exclusive files end goes into the pool.
 */
const LIGHT = new Set((process.env.TEST_LIGHT ?? 'retryCrash.test.js,notifyCrash.test.js').split(',').map((s) => s.trim()).filter(Boolean));
/**
 * How many light jobs run beside the exclusive files (TEST_BESIDE_AT_ONCE, default 2): with the
 * two exclusive files (about 1.1 cores), two light files add about 0.55; budget's densest windows
 * used 2.0–4.0 of its 6 tokens of slack so (sixth session), as beside the unit files alone.
 */
const BESIDE_AT_ONCE = Math.max(0, Number(process.env.TEST_BESIDE_AT_ONCE ?? 2));
/** About the seconds each file took in `npm test` (2026-12-03, sixth session, budget and faults with light jobs beside, then 3 at a time); only the order depends on them. */
const WEIGHTS = {
  'faults.test.js': 59,
  'crash.test.js': 52,
  'retryCrash.test.js': 47,
  'resilience.test.js': 43,
  'notifyCrash.test.js': 41,
  'budget.test.js': 39,
  'cli.test.js': 32,
  'metrics.test.js': 31,
  'signals.test.js': 30,
  'workflows.test.js': 30,
  'ledger.test.js': 27,
  'rerun.test.js': 27,
  'statusPage.test.js': 17,
  'retrigger.test.js': 16,
  'retention.test.js': 16,
  'notify.test.js': 16,
  'follow.test.js': 14,
  'trigger.test.js': 14,
  'searchAttributes.test.js': 12,
  'passInput.test.js': 9,
  'scale.test.js': 9,
  'freshness.test.js': 9,
  'cancel.test.js': 9,
  'payloads.test.js': 8,
  'temporalUi.test.js': 6,
};
/**
 * Under TEST_LAYER=unit, about the seconds of each file's tests in a group (2026-12-03, at load 7;
 * relative figures only), to balance the groups; a file not listed counts 1. CLI processes make
 * config.unit and metrics slow under load.
 */
const UNIT_LAYER_WEIGHTS = {
  'clients.unit.test.js': 4,
  'replay.unit.test.js': 3.5,
  'config.unit.test.js': 3,
  'metrics.test.js': 2.5,
  'simulators.unit.test.js': 2,
  'trigger.test.js': 1,
  'notify.test.js': 0.5,
  'fixtures.unit.test.js': 0.3,
  'deploy.unit.test.js': 0.3,
  'retrigger.test.js': 0.3,
  'cancel.test.js': 0.2,
  'follow.test.js': 0.2,
  'payloads.test.js': 0.1,
  'ledger.test.js': 0.1,
  'statusPage.test.js': 0.1,
  'temporalUi.test.js': 0.1,
  'layers.unit.test.js': 0.1,
  'dbLock.unit.test.js': 0.1,
  'domain.unit.test.js': 0.1,
};
const KEYS = ['pass', 'fail', 'skipped', 'cancelled'];
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY || 3));
const stream = process.env.TEST_OUTPUT === 'stream';
const unitLayer = process.env.TEST_LAYER === 'unit';
const isolated = process.env.TEST_ISOLATION === 'process';

// Arguments naming a test file (a path, or a name in dist/test) choose the files; the rest go to node.
const chosen = [];
const extra = [];
for (const arg of process.argv.slice(2)) {
  const asFile = arg.startsWith('-') ? undefined : [arg, path.join(dir, arg)].find((p) => /\.[cm]?js$/.test(p) && fs.existsSync(p) && fs.statSync(p).isFile());
  if (asFile) chosen.push(path.resolve(asFile));
  else extra.push(arg);
}
const files = chosen.length > 0 ? chosen : fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(dir, f));
const reporter = extra.some((a) => a.startsWith('--test-reporter')) ? [] : ['--test-reporter=tap'];

const name = (file) => path.basename(file);
const isUnit = (file) => name(file).endsWith('.unit.test.js');

// A job: one process, for one file or a group of files (`--group`). A file runs as `node FILE`,
// not `node --test FILE`: the tests and their TAP are the same, but `--test` adds a parent
// process that only relays the child's output (about 0.3 s of CPU per file).
function single(file) {
  return { label: name(file), files: [file], weight: WEIGHTS[name(file)] ?? 1, args: [...reporter, ...extra, file] };
}
function group(list, label) {
  const weight = list.reduce((s, f) => s + (UNIT_LAYER_WEIGHTS[name(f)] ?? 1), 0);
  return { label, files: list, weight, args: [...reporter, ...extra, __filename, '--group', ...list] };
}
/** Files into n bins of about equal weight, heaviest first onto the lightest bin. */
function balance(list, n) {
  const bins = Array.from({ length: Math.min(n, list.length) }, () => ({ files: [], weight: 0 }));
  const w = (f) => UNIT_LAYER_WEIGHTS[name(f)] ?? 1;
  for (const f of [...list].sort((a, b) => w(b) - w(a))) {
    const bin = bins.reduce((a, b) => (b.weight < a.weight ? b : a));
    bin.files.push(f);
    bin.weight += w(f);
  }
  return bins.map((b) => b.files);
}
/** TEST_LAYER=unit: n groups of about equal weight. */
function unitGroups(list, n) {
  const bins = balance(list, n);
  return bins.map((files, i) => group(files, files.length === 1 ? name(files[0]) : `unit group ${i + 1}/${bins.length}`));
}
const byWeight = (a, b) => b.weight - a.weight || a.label.localeCompare(b.label);

let exclusive = [];
let light = [];
let others = [];
let units = [];
if (unitLayer) {
  // Nothing here starts a Temporal server: the exclusive rule has nothing to protect.
  units = isolated ? files.map(single) : unitGroups(files, concurrency);
} else {
  exclusive = files.filter((f) => EXCLUSIVE.has(name(f))).map(single);
  light = files.filter((f) => !EXCLUSIVE.has(name(f)) && LIGHT.has(name(f)) && !isUnit(f)).map(single);
  others = files.filter((f) => !EXCLUSIVE.has(name(f)) && !LIGHT.has(name(f)) && !isUnit(f)).map(single);
  const unitFiles = files.filter((f) => !EXCLUSIVE.has(name(f)) && isUnit(f));
  units = isolated ? unitFiles.map(single) : unitFiles.length > 0 ? [group(unitFiles, unitFiles.length === 1 ? name(unitFiles[0]) : `unit files (${unitFiles.length})`)] : [];
}
exclusive.sort(byWeight);
light.sort(byWeight);
others.sort(byWeight);
units.sort(byWeight);

const t0 = Date.now();
const secs = (ms) => (ms / 1000).toFixed(1);
const clock = () => new Date().toISOString().slice(11, 19);
const say = (line) => process.stdout.write(`[${clock()}] ${line}\n`);

/** Running jobs: label -> { child, started }. */
const running = new Map();
const results = [];
/** Per file in a group: the duration of its suite (its tests, without loading it). */
const fileTimes = [];

/** The shared dev server (see the header), once started. */
let shared;
const useShared = !unitLayer && process.env.TEST_SHARED_SERVER !== '0';
const namespaceOf = (file) => `test-${name(file).replace(/\.test\.js$/, '').replace(/[^A-Za-z0-9-]/g, '-')}`;

/** A job of one end-to-end file: it gets a namespace on the shared server. */
const sharesServer = (job) => job.files.length === 1 && !isUnit(job.files[0]);

async function startSharedServer(jobs) {
  const fileJobs = jobs.filter(sharesServer);
  if (!useShared || fileJobs.length === 0) return;
  const { startDevServer } = require(path.resolve(__dirname, '..', 'dist', 'src', 'temporal', 'devServer'));
  const started = Date.now();
  try {
    shared = await startDevServer({ moreNamespaces: fileJobs.map((j) => namespaceOf(j.files[0])) });
    say(`shared dev server on ${shared.address} (${fileJobs.length} namespaces) in ${secs(Date.now() - started)} s`);
  } catch (err) {
    say(`no shared dev server (${String(err?.message ?? err).split('\n')[0]}): each file starts its own`);
  }
}

/** The shared dev server's CPU so far (Linux /proc; undefined elsewhere or when the SDK started it). */
function sharedServerCpuMs() {
  if (!shared?.pid) return undefined;
  try {
    const fields = fs.readFileSync(`/proc/${shared.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Each file's environment: ours, and the shared server's address with the file's namespace. */
function jobEnv(job) {
  if (!shared || !sharesServer(job)) return process.env;
  return { ...process.env, OSC_TEST_TEMPORAL_ADDRESS: shared.address, OSC_TEST_TEMPORAL_NAMESPACE: namespaceOf(job.files[0]) };
}

function runJob(job) {
  return new Promise((resolve) => {
    const started = Date.now();
    // TEST_CPU=1: through GNU time, for the CPU of the whole process tree (the file's own dev
    // server, workers and CLI processes are its children) in the durations table; the shared dev
    // server's is added to the run's total at the end (sharedServerCpuMs).
    const cpuFile = measureCpu ? path.join(require('node:os').tmpdir(), `run-tests-cpu-${process.pid}-${job.label.replace(/\W+/g, '_')}`) : undefined;
    const options = { stdio: ['ignore', 'pipe', 'pipe'], env: jobEnv(job) };
    const child = cpuFile
      ? spawn('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, process.execPath, ...job.args], options)
      : spawn(process.execPath, job.args, options);
    running.set(job.label, { child, started });
    const what = job.files.length > 1 ? `${job.label}: ${job.files.map(name).join(', ')}` : job.label;
    say(`start ${what} (${running.size} running)`);
    const held = [];
    const notOk = [];
    let tail = '';
    let topLevel;
    const partial = { stdout: '', stderr: '' };
    const onLine = (which, line) => {
      if (stream) process.stdout.write(`${job.label}| ${line}\n`);
      if (which !== 'stdout') return;
      tail = (tail + line + '\n').slice(-8000);
      if (/^\s*not ok \d+ - /.test(line)) notOk.push(line.trim());
      const top = /^(?:not )?ok \d+ - (\S+\.test\.js)\b/.exec(line);
      if (top) topLevel = top[1];
      const d = /^ {2}duration_ms: ([\d.]+)/.exec(line);
      if (d && topLevel && job.files.length > 1) fileTimes.push({ file: topLevel, ms: Number(d[1]), job: job.label });
      if (!/^ {2}/.test(line) && !top) topLevel = undefined;
    };
    const onData = (which) => (chunk) => {
      if (!stream) held.push(chunk);
      const lines = (partial[which] + chunk).split('\n');
      partial[which] = lines.pop();
      for (const line of lines) onLine(which, line);
    };
    // Strings, so that a character split between two chunks stays whole.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', onData('stdout'));
    child.stderr.on('data', onData('stderr'));
    child.on('close', (code, signal) => {
      running.delete(job.label);
      for (const which of ['stdout', 'stderr']) if (partial[which]) onLine(which, partial[which]);
      const ms = Date.now() - started;
      const counts = Object.fromEntries(KEYS.map((k) => [k, 0]));
      let summarised = false;
      for (const key of KEYS) {
        const m = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tail);
        if (m) {
          counts[key] = Number(m[1]);
          summarised = true;
        }
      }
      const failedTests = counts.fail + counts.cancelled;
      const ok = code === 0 && failedTests === 0;
      const status = ok ? 'ok' : failedTests > 0 ? 'FAILED' : `FAILED (exit ${signal ?? code}, no failing test${summarised ? '' : ', no TAP summary'})`;
      const line = `${job.label}: ${status}, ${counts.pass} passed, ${failedTests} failed, ${counts.skipped} skipped in ${secs(ms)} s`;
      if (stream) {
        say(line);
      } else {
        process.stdout.write(`\n======== ${what} ========\n`);
        for (const chunk of held) process.stdout.write(chunk);
        process.stdout.write(`======== ${line} ========\n\n`);
      }
      let cpuMs;
      if (cpuFile) {
        try {
          const [user, sys] = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
          cpuMs = (user + sys) * 1000;
          fs.rmSync(cpuFile, { force: true });
        } catch {
          cpuMs = undefined;
        }
      }
      const result = { job, ms, code, signal, counts, ok, failedTests, status, notOk, cpuMs };
      results.push(result);
      resolve(result);
    });
  });
}

function schedule() {
  // Whenever a job ends: the exclusive files, EXCLUSIVE_AT_ONCE at a time; while any is queued or
  // running, light jobs beside them (the unit group, then the LIGHT files), BESIDE_AT_ONCE at a
  // time; after them the pool, `concurrency` at a time (light jobs still running count): the
  // others longest first, what is left of the light files among them by weight, units last.
  const exclusiveQueue = [...exclusive];
  const lightQueue = [...units, ...light];
  const exclusiveSlots = Math.min(concurrency, EXCLUSIVE_AT_ONCE);
  const besideSlots = concurrency > 1 ? BESIDE_AT_ONCE : 0;
  let exclusiveRunning = 0;
  let lightRunning = 0;
  let pool;
  return new Promise((resolve) => {
    const start = (job, kind) => {
      if (kind === 'exclusive') exclusiveRunning += 1;
      if (kind === 'light') lightRunning += 1;
      runJob(job).then(() => {
        if (kind === 'exclusive') exclusiveRunning -= 1;
        if (kind === 'light') lightRunning -= 1;
        fill();
      });
    };
    const fill = () => {
      for (;;) {
        const exclusivePhase = exclusiveQueue.length > 0 || exclusiveRunning > 0;
        if (exclusiveQueue.length > 0 && exclusiveRunning < exclusiveSlots) start(exclusiveQueue.shift(), 'exclusive');
        else if (exclusivePhase && lightQueue.length > 0 && lightRunning < besideSlots) start(lightQueue.shift(), 'light');
        else if (exclusivePhase) break;
        else {
          if (!pool) {
            const left = lightQueue.splice(0);
            pool = [...others, ...left.filter((j) => !units.includes(j))].sort(byWeight);
            pool.push(...left.filter((j) => units.includes(j)));
          }
          if (pool.length > 0 && running.size < concurrency) start(pool.shift(), 'pool');
          else break;
        }
      }
      if (running.size === 0) resolve();
    };
    fill();
  });
}

const ticker = setInterval(() => {
  if (running.size === 0) return;
  const now = Date.now();
  say(`running: ${[...running].map(([label, r]) => `${label} (${secs(now - r.started)} s)`).join(', ')}`);
}, 60_000);
ticker.unref();

function finish(interrupted) {
  clearInterval(ticker);
  const total = Object.fromEntries(KEYS.map((k) => [k, 0]));
  for (const r of results) for (const k of KEYS) total[k] += r.counts[k];
  // A group's files under it: the time of each file's tests (loading them is the group's).
  const rows = [...results]
    .sort((a, b) => b.ms - a.ms)
    .flatMap((r) => [
      { label: r.job.label, ms: r.ms, note: r.cpuMs === undefined ? r.status : `${r.status.padEnd(6)}  cpu ${secs(r.cpuMs).padStart(6)} s` },
      ...fileTimes.filter((t) => t.job === r.job.label).sort((a, b) => b.ms - a.ms).map((t) => ({ label: `  ${t.file}`, ms: t.ms, note: 'its tests' })),
    ]);
  const width = Math.max(4, ...rows.map((r) => r.label.length));
  const out = ['', 'Durations (wall, slowest first):'];
  for (const r of rows) out.push(`  ${r.label.padEnd(width)}  ${secs(r.ms).padStart(6)} s  ${r.note}`);
  const failedLines = results.flatMap((r) => r.notOk.map((line) => `  ${r.job.label}: ${line}`));
  if (failedLines.length > 0) out.push('', "Failed (see the process's output above):", ...failedLines);
  const processFailures = results.filter((r) => !r.ok && r.failedTests === 0);
  if (processFailures.length > 0) {
    out.push('', `a test process failed without a failing test: ${processFailures.map((r) => `${r.job.label} (exit ${r.signal ?? r.code})`).join(', ')} (see its output above)`);
  }
  if (interrupted) out.push('', `interrupted (${interrupted}); not finished: ${[...running.keys()].join(', ') || 'none'}`);
  const sum = results.reduce((s, r) => s + r.ms, 0);
  const sharedCpu = measureCpu ? sharedServerCpuMs() : undefined;
  const cpuSum = results.reduce((s, r) => s + (r.cpuMs ?? 0), 0) + (sharedCpu ?? 0);
  const nFiles = results.reduce((s, r) => s + r.job.files.length, 0);
  out.push(
    '',
    `tests: ${total.pass} passed, ${total.fail + total.cancelled} failed, ${total.skipped} skipped`,
    `wall: ${secs(Date.now() - t0)} s for ${nFiles} files in ${results.length} process${results.length === 1 ? "" : "es"} (${secs(sum)} s of process time, ${concurrency} at a time)${measureCpu ? `; cpu ${secs(cpuSum)} s${sharedCpu !== undefined ? ` (the shared dev server ${secs(sharedCpu)} s of it)` : ''}` : ''}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  const failed = interrupted || results.some((r) => !r.ok);
  process.exitCode = failed ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    for (const { child } of running.values()) child.kill(signal);
    finish(signal);
    await shared?.stop().catch(() => undefined);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

if (files.length === 0) {
  process.stderr.write(`no test files in ${dir}\n`);
  process.exit(1);
}
if (process.env.TEST_PLAN === '1') {
  // The order, without running anything.
  const show = (job) => `${job.label}${job.files.length > 1 ? `: ${job.files.map(name).join(', ')}` : ''}`;
  const beside = exclusive.length > 0 && concurrency > 1;
  const lines = [
    ...exclusive.map((j) => `alone:  ${show(j)} (${Math.min(EXCLUSIVE_AT_ONCE, concurrency)} at once)`),
    ...(beside ? [...units, ...light].map((j) => `beside: ${show(j)} (${BESIDE_AT_ONCE} at a time beside the alone ones; left over: into the pool)`) : []),
    ...(beside ? others : [...others, ...light].sort(byWeight).concat(units)).map((j) => `pool:   ${show(j)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(0);
}
startSharedServer([...exclusive, ...light, ...others, ...units])
  .then(() => schedule())
  .then(() => finish())
  .finally(() => shared?.stop());
