import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { WatcherConfig } from '../config/load';
import { connectClient, serverFromEnvironment } from '../temporal/connection';
import type { DevServer } from '../temporal/devServer';
import { ensureRetention, ensureSearchAttributes } from '../temporal/setup';
import type { WatcherWorkers } from '../worker';

// The worker SDK, the dev server and the worker's own modules are loaded only when this session
// needs them: `status`, `summary` and `schedule` against TEMPORAL_ADDRESS need only the client
// (about a quarter less CPU to start: `status` 0.54 s instead of 0.75).

/** Trigger records must outlive a nightly (14 days): keep closed workflows 30 days. */
const EMBEDDED_RETENTION_DAYS = 30;

export function defaultDbFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WATCHER_DB_FILE) return path.resolve(env.WATCHER_DB_FILE);
  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(stateHome, 'osc-build-watcher', 'temporal.sqlite');
}

export interface Session {
  client: Client;
  namespace: string;
  /** Where the server came from, for the log. */
  origin: string;
  /** The server's address (host:port). */
  address: string;
  /** The embedded dev server's SQLite file; undefined with TEMPORAL_ADDRESS. */
  dbFile?: string;
  /** The watcher's worker and its Gangway worker, run together. */
  worker?: WatcherWorkers;
  close(): Promise<void>;
  /**
   * For a process about to exit without closing: asks the embedded dev server to stop (it saves
   * its history and exits on its own), so it does not outlive us. Nothing to do with TEMPORAL_ADDRESS.
   */
  stopServerNow(): void;
}

export interface SessionOptions {
  config: WatcherConfig;
  /** Start an in-process worker on the config's task queue (and on its Gangway task queue). */
  withWorker: boolean;
  /** Register missing search attributes: needed before starting workflows, not to read them. */
  prepareNamespace?: boolean;
  /** Keep the state gauges of /metrics fresh (src/metricsCollector.ts): with a metrics port. */
  stateGauges?: boolean;
}

/**
 * A session for a command that reads or asks (`status`, `summary`, `pause`, …): only the client
 * against TEMPORAL_ADDRESS (the worker SDK is not even loaded); with the embedded dev server, a
 * worker beside it to answer the queries and Updates, and the SDK's logger for that worker.
 */
export async function openClientSession(config: WatcherConfig, prepareNamespace: boolean): Promise<Session> {
  const embedded = !serverFromEnvironment();
  if (embedded) (await import('./logging')).installLogger('WARN');
  return openSession({ config, withWorker: embedded, prepareNamespace });
}

/** Connects to TEMPORAL_ADDRESS (or starts the embedded dev server) and, if asked, a worker beside it. */
export async function openSession(options: SessionOptions): Promise<Session> {
  let target = serverFromEnvironment();
  let devServer: DevServer | undefined;
  const dbFile = target ? undefined : defaultDbFile();
  if (!target) {
    const { startDevServer } = await import('../temporal/devServer');
    devServer = await startDevServer({ dbFile });
    target = { address: devServer.address, namespace: devServer.namespace, connectionOptions: { address: devServer.address } };
  }
  const cleanups: Array<() => Promise<void>> = [];
  if (devServer) cleanups.push(() => devServer.stop());
  try {
    const connection = await connectClient(target);
    cleanups.unshift(() => connection.close());
    if (options.prepareNamespace ?? true) {
      // A fresh registration takes seconds to be usable on a production server (setup.ts).
      const since = Date.now();
      let waited = false;
      await ensureSearchAttributes(connection, target.namespace, {
        onWait: (reason) => {
          waited = true;
          process.stderr.write(`Waiting (up to 60 s) until the server accepts the search attributes: ${reason}\n`);
        },
      });
      if (waited) process.stderr.write(`Search attributes accepted after ${((Date.now() - since) / 1000).toFixed(1)} s\n`);
    }
    if (devServer) await ensureRetention(connection, target.namespace, EMBEDDED_RETENTION_DAYS);
    const client = new Client({ connection, namespace: target.namespace });
    let worker: WatcherWorkers | undefined;
    if (options.withWorker) {
      const [{ NativeConnection }, { createWatcherWorker }] = await Promise.all([import('@temporalio/worker'), import('../worker')]);
      const native = await NativeConnection.connect(target.connectionOptions);
      cleanups.unshift(() => native.close());
      worker = await createWatcherWorker({
        config: options.config,
        connection: native,
        namespace: target.namespace,
        client,
      });
    }
    if (options.stateGauges) {
      const [{ Runtime }, { StateGauges }] = await Promise.all([import('@temporalio/worker'), import('../metricsCollector')]);
      const gauges = new StateGauges({
        client,
        config: options.config,
        onError: (err) => Runtime.instance().logger.warn('Could not refresh the state gauges of /metrics', { error: String((err as Error)?.message ?? err).split('\n')[0] }),
      }).start();
      cleanups.unshift(() => gauges.stop());
    }
    return {
      client,
      namespace: target.namespace,
      origin: devServer ? `embedded dev server: ${devServer.origin}` : `Temporal at ${target.address}`,
      address: target.address,
      ...(dbFile ? { dbFile } : {}),
      ...(worker ? { worker } : {}),
      close: () => runAll(cleanups),
      stopServerNow: () => {
        // stop() signals the server synchronously, before its first await; the rest is not awaited.
        devServer?.stop().catch(() => undefined);
      },
    };
  } catch (err) {
    await runAll(cleanups);
    throw err;
  }
}

async function runAll(cleanups: Array<() => Promise<void>>): Promise<void> {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch {
      // Closing is best effort: the process is about to exit anyway.
    }
  }
}
