import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Two dev servers on one SQLite file would corrupt the trigger records, so the embedded
 * server takes a lock file beside it. A lock left by a dead process is taken over.
 */
export function acquireDbLock(dbFile: string): () => void {
  const lockFile = `${dbFile}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new Error(`${dbFile} is in use by another osc-build-watcher (pid ${owner}); wait for it, or set WATCHER_DB_FILE to another file`);
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock ${dbFile}`);
}
