#!/usr/bin/env node
// `npm test` after the build: every dist/test/*.test.js, two files at a time (TEST_CONCURRENCY),
// except the files that are CPU-bound or judge timing tightly, which then run one at a time.
// Each file starts its own dev server and simulators on free ports, with its own temp
// directories, so files side by side share nothing; most of an end-to-end file is waiting.
// Extra arguments go to `node --test` (e.g. --test-name-pattern).
'use strict';
const { spawnSync } = require('node:child_process');
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

let failed = false;
for (const [group, n] of [[together, concurrency], [alone, 1]]) {
  if (group.length === 0) continue;
  const res = spawnSync(process.execPath, ['--test', `--test-concurrency=${n}`, ...extra, ...group], { stdio: 'inherit' });
  if (res.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
