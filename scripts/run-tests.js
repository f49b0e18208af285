#!/usr/bin/env node
// `npm test` after the build: every dist/test/*.test.js, two files at a time (TEST_CONCURRENCY),
// except the files that are CPU-bound or judge timing tightly, which then run one at a time.
// Each file starts its own dev server and simulators on free ports, with its own temp
// directories, so files side by side share nothing; most of an end-to-end file is waiting.
// Extra arguments go to `node --test` (e.g. --test-name-pattern).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = path.resolve(__dirname, '..', 'dist', 'test');
/** CPU-bound (scale, the 200 MB Deck answer) or rate/timeout windows measured in ms (budget, faults). */
const ALONE = new Set(['scale.test.js', 'faults.test.js', 'budget.test.js']);
const concurrency = Number(process.env.TEST_CONCURRENCY || 2);

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort();
const together = files.filter((f) => !ALONE.has(f)).map((f) => path.join(dir, f));
const alone = files.filter((f) => ALONE.has(f)).map((f) => path.join(dir, f));
const extra = process.argv.slice(2);

// Each group's output goes through as it comes; its closing counts are added up, and one line
// with the totals closes the run (two node --test runs would otherwise close with two summaries).
function runGroup(group, n) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${n}`, ...extra, ...group], { stdio: ['ignore', 'pipe', 'inherit'] });
    const counts = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      for (const key of Object.keys(counts)) {
        const m = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tail);
        if (m) counts[key] = Number(m[1]);
      }
      resolve({ code, counts });
    });
  });
}

(async () => {
  let failed = false;
  const total = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
  for (const [group, n] of [[together, concurrency], [alone, 1]]) {
    if (group.length === 0) continue;
    const { code, counts } = await runGroup(group, n);
    if (code !== 0) failed = true;
    for (const key of Object.keys(total)) total[key] += counts[key];
  }
  const failures = total.fail + total.cancelled;
  if (failures === 0 && failed) process.stdout.write('a test process failed without a failing test (see above)\n');
  process.stdout.write(`\ntests: ${total.pass} passed, ${failures} failed, ${total.skipped} skipped\n`);
  process.exit(failed ? 1 : 0);
})();
