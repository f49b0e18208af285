import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { acquireDbLock } from '../src/temporal/dbLock';
import { tempDir } from './helpers/config';

test('one embedded server per SQLite file; a stale lock is taken over', () => {
  const db = path.join(tempDir(), 'temporal.sqlite');
  const release = acquireDbLock(db);
  assert.throws(() => acquireDbLock(db), new RegExp(`temporal\\.sqlite is in use by another osc-build-watcher \\(pid ${process.pid}\\)`));
  release();
  assert.equal(existsSync(`${db}.lock`), false);

  // A pid that cannot be running: the previous owner crashed.
  writeFileSync(`${db}.lock`, '2147483646');
  const again = acquireDbLock(db);
  again();
});
