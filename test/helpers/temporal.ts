import { readFileSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type LogEntry } from '@temporalio/worker';
import type { WatcherConfig } from '../../src/config/load';
import { startDevServer, type DevServer, type DevServerOptions } from '../../src/temporal/devServer';
import { ensureSearchAttributes } from '../../src/temporal/setup';
import { createWatcherWorker } from '../../src/worker';
import { prebuiltWorkflowBundle } from '../../src/workflowBundle';

/** Every line the SDK logs in this process, so tests can prove the token is never among them. */
export const capturedLogs: string[] = [];

export interface TestTemporal {
  server: DevServer;
  env: TestWorkflowEnvironment;
  client: Client;
  native: NativeConnection;
  bundle: { code: string };
  /** A real worker for this config, run until `fn` settles. */
  withWorker<T>(config: WatcherConfig, fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/**
 * One real dev server per test file (started in `before()`), spawned by us because the
 * SDK's few-second wait is flaky on 2 cores, then wrapped by @temporalio/testing.
 */
export async function startTestTemporal(): Promise<TestTemporal> {
  return startTestTemporalWith({});
}

/** `startTestTemporal` on a dev server started with these options (e.g. `dynamicConfigValues`). */
export async function startTestTemporalWith(serverOptions: DevServerOptions): Promise<TestTemporal> {
  Runtime.install({
    logger: new DefaultLogger('DEBUG', (entry: LogEntry) => {
      capturedLogs.push(`${entry.level} ${entry.message} ${safeJson(entry.meta)}`);
    }),
  });
  // The bundle is made while the server starts (or read: `npm run build` made it).
  const [server, bundle] = await Promise.all([startDevServer(serverOptions), testWorkflowBundle()]);
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: server.namespace });
  await ensureSearchAttributes(env.connection, server.namespace);
  const native = await NativeConnection.connect({ address: server.address });
  const client = env.client;
  return {
    server,
    env,
    client,
    native,
    bundle,
    async withWorker(config, fn) {
      const worker = await createWatcherWorker({ config, connection: native, namespace: server.namespace, client, workflowBundle: bundle });
      return worker.runUntil(fn());
    },
    async stop() {
      await native.close();
      await env.teardown();
      await server.stop();
    },
  };
}

/**
 * The workflow bundle `npm run build` wrote, when it is as new as the compiled workflow code
 * (about 2 s of webpack saved per test file); otherwise one made here.
 */
export async function testWorkflowBundle(): Promise<{ code: string }> {
  const prebuilt = prebuiltWorkflowBundle();
  if (prebuilt) return { code: readFileSync(prebuilt.codePath, 'utf8') };
  return bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: new DefaultLogger('WARN') });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}
