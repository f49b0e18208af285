#!/usr/bin/env node
// `npm test` after the build: every dist/test/*.test.js, each in its own `node --test <file>`
// process, TEST_CONCURRENCY (default 3) at a time from one pool, longest files first.
// Each file starts its own dev server and simulators on free ports, with its own temp
// directories and task queues, so files side by side share nothing; most of an end-to-end file
// is waiting.
//
//   node scripts/run-tests.js                        all of dist/test/*.test.js
//   node scripts/run-tests.js dist/test/cli.test.js signals.test.js   only these files
//   node scripts/run-tests.js --test-name-pattern=x  other arguments go to every `node --test`
//
// Order: the EXCLUSIVE files first, one at a time, with nothing beside them but one unit file at
// a time; then the other files, longest first (WEIGHTS: about their seconds in `npm test`, a file
// not listed counts 1), so that the longest do not start last and the short ones fill the end;
// the unit files that are left go last. Exclusive files judge rates or timeouts in milliseconds,
// which other files' CPU on this 2-core machine would distort (budget: no window of Gangway
// requests over burst + rate x its length, with about one token of slack; faults: HTTP timeouts
// of a few hundred ms, and the 200 MB Deck answer's CPU). Running them first costs no waiting
// for the pool to drain; a unit file beside them is short, starts no server and uses one core
// at most for a few seconds.
//
// Each file's output (stdout and stderr) is held and printed in one piece when the file ends,
// so files do not interleave (TEST_OUTPUT=stream prints it as it comes, each line prefixed with
// the file's name). A line says when each file starts, and every minute which are still running.
// At the end: each file's wall time, slowest first, the counts added up from each file's TAP
// summary, and the whole run's wall time. Exit 1 on a failing or cancelled test, and on a file
// whose process failed without one (a crash, a hook that threw, a timeout).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = path.resolve(__dirname, '..', 'dist', 'test');
const EXCLUSIVE = new Set(['budget.test.js', 'faults.test.js']);
/** About the seconds each file takes in `npm test` (2026-12-03); only the order depends on them. */
const WEIGHTS = {
  'crash.test.js': 105,
  'scale.test.js': 90,
  'faults.test.js': 75,
  'cli.test.js': 60,
  'notifyCrash.test.js': 60,
  'rerun.test.js': 50,
  'signals.test.js': 50,
  'ledger.test.js': 50,
  'statusPage.test.js': 45,
  'workflows.test.js': 45,
  'resilience.test.js': 45,
  'metrics.test.js': 45,
  'retrigger.test.js': 45,
  'budget.test.js': 40,
  'retryCrash.test.js': 40,
  'retention.test.js': 35,
  'notify.test.js': 35,
  'follow.test.js': 35,
  'trigger.test.js': 30,
  'passInput.test.js': 30,
  'freshness.test.js': 30,
  'searchAttributes.test.js': 15,
  'temporalUi.test.js': 15,
  'cancel.test.js': 10,
  'payloads.test.js': 10,
  'replay.unit.test.js': 8,
};
const KEYS = ['pass', 'fail', 'skipped', 'cancelled'];
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY || 3));
const stream = process.env.TEST_OUTPUT === 'stream';

// Arguments naming a test file (a path, or a name in dist/test) choose the files; the rest go to node --test.
const chosen = [];
const extra = [];
for (const arg of process.argv.slice(2)) {
  const asFile = [arg, path.join(dir, arg)].find((p) => /\.[cm]?js$/.test(p) && fs.existsSync(p) && fs.statSync(p).isFile());
  if (asFile && !arg.startsWith('-')) chosen.push(path.resolve(asFile));
  else extra.push(arg);
}
const files = chosen.length > 0 ? chosen : fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(dir, f));
const reporter = extra.some((a) => a.startsWith('--test-reporter')) ? [] : ['--test-reporter=tap'];

const name = (file) => path.basename(file);
const weight = (file) => WEIGHTS[name(file)] ?? 1;
const isUnit = (file) => name(file).endsWith('.unit.test.js');
const byWeight = (a, b) => weight(b) - weight(a) || name(a).localeCompare(name(b));
const exclusive = files.filter((f) => EXCLUSIVE.has(name(f))).sort(byWeight);
const units = files.filter((f) => isUnit(f) && !EXCLUSIVE.has(name(f))).sort(byWeight);
const others = files.filter((f) => !isUnit(f) && !EXCLUSIVE.has(name(f))).sort(byWeight);

const t0 = Date.now();
const secs = (ms) => (ms / 1000).toFixed(1);
const clock = () => new Date().toISOString().slice(11, 19);
const say = (line) => process.stdout.write(`[${clock()}] ${line}\n`);

/** Running files: file -> { child, started }. */
const running = new Map();
const results = [];

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--test', ...reporter, ...extra, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.set(file, { child, started });
    say(`start ${name(file)} (${running.size} running)`);
    const held = [];
    const notOk = [];
    let tail = '';
    const partial = { stdout: '', stderr: '' };
    const onData = (which) => (chunk) => {
      const text = chunk.toString();
      if (!stream) held.push(chunk);
      const lines = (partial[which] + text).split('\n');
      partial[which] = lines.pop();
      for (const line of lines) {
        if (stream) process.stdout.write(`${name(file)}| ${line}\n`);
        if (which !== 'stdout') continue;
        tail = (tail + line + '\n').slice(-8000);
        if (/^\s*not ok \d+ - /.test(line)) notOk.push(line.trim());
      }
    };
    child.stdout.on('data', onData('stdout'));
    child.stderr.on('data', onData('stderr'));
    child.on('close', (code, signal) => {
      running.delete(file);
      const ms = Date.now() - started;
      if (partial.stdout) tail = (tail + partial.stdout).slice(-8000);
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
      const line = `${name(file)}: ${status}, ${counts.pass} passed, ${failedTests} failed, ${counts.skipped} skipped in ${secs(ms)} s`;
      if (stream) {
        for (const which of ['stdout', 'stderr']) if (partial[which]) process.stdout.write(`${name(file)}| ${partial[which]}\n`);
        say(line);
      } else {
        process.stdout.write(`\n======== ${name(file)} ========\n`);
        for (const chunk of held) process.stdout.write(chunk);
        process.stdout.write(`======== ${line} ========\n\n`);
      }
      const result = { file, ms, code, signal, counts, ok, failedTests, status, notOk };
      results.push(result);
      resolve(result);
    });
  });
}

async function schedule() {
  // Exclusive files one at a time; beside each, unit files one at a time.
  let unit = null;
  for (const file of exclusive) {
    let finished = false;
    const done = runFile(file).then(() => (finished = true));
    while (!finished && concurrency > 1 && (unit || units.length > 0)) {
      if (!unit) {
        const next = runFile(units.shift()).then(() => {
          if (unit === next) unit = null;
        });
        unit = next;
      }
      await Promise.race([done, unit]);
    }
    await done;
  }
  // Then one pool: the others longest first, the unit files left over last. A unit file still
  // running from beside the last exclusive one holds a slot until it ends.
  const queue = [...others, ...units.splice(0)];
  const slots = Array.from({ length: concurrency }, async (_, i) => {
    if (i === 0 && unit) await unit;
    while (queue.length > 0) await runFile(queue.shift());
  });
  await Promise.all(slots);
}

const ticker = setInterval(() => {
  if (running.size === 0) return;
  const now = Date.now();
  say(`running: ${[...running].map(([f, r]) => `${name(f)} (${secs(now - r.started)} s)`).join(', ')}`);
}, 60_000);
ticker.unref();

function finish(interrupted) {
  clearInterval(ticker);
  const total = Object.fromEntries(KEYS.map((k) => [k, 0]));
  for (const r of results) for (const k of KEYS) total[k] += r.counts[k];
  const sorted = [...results].sort((a, b) => b.ms - a.ms);
  const width = Math.max(4, ...sorted.map((r) => name(r.file).length));
  const out = ['', 'File durations (wall, slowest first):'];
  for (const r of sorted) {
    out.push(`  ${name(r.file).padEnd(width)}  ${secs(r.ms).padStart(6)} s  ${r.status}`);
  }
  const notOk = results.filter((r) => r.notOk.length > 0);
  if (notOk.length > 0) {
    out.push('', 'Failed (see each file\'s output above):');
    for (const r of notOk) for (const line of r.notOk) out.push(`  ${name(r.file)}: ${line}`);
  }
  const sum = results.reduce((s, r) => s + r.ms, 0);
  const wall = Date.now() - t0;
  const processFailures = results.filter((r) => !r.ok && r.failedTests === 0);
  if (processFailures.length > 0) {
    out.push('', `a test process failed without a failing test: ${processFailures.map((r) => `${name(r.file)} (exit ${r.signal ?? r.code})`).join(', ')} (see its output above)`);
  }
  if (interrupted) out.push('', `interrupted (${interrupted}); not finished: ${[...running.keys()].map(name).join(', ') || 'none'}`);
  out.push(
    '',
    `tests: ${total.pass} passed, ${total.fail + total.cancelled} failed, ${total.skipped} skipped`,
    `wall: ${secs(wall)} s for ${results.length} files (${secs(sum)} s of file time, ${concurrency} at a time)`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  const failed = interrupted || results.some((r) => !r.ok) || total.fail + total.cancelled > 0;
  process.exitCode = failed ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const { child } of running.values()) child.kill(signal);
    finish(signal);
    process.exit(130);
  });
}

if (files.length === 0) {
  process.stderr.write(`no test files in ${dir}\n`);
  process.exit(1);
}
schedule().then(() => finish());
