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
 * A real dev server for a test file (in `before()`), wrapped by @temporalio/testing. Under
 * `scripts/run-tests.js`, the one the runner shares among the files that need a plain server,
 * in a namespace of this file's own (SHARED_TEMPORAL_ENV); otherwise one of its own, spawned by
 * us because the SDK's few-second wait is flaky on 2 cores.
 */
export async function startTestTemporal(): Promise<TestTemporal> {
  const shared = sharedTestServer();
  return shared ? withServer(async () => shared) : startTestTemporalWith({});
}

/** Set by scripts/run-tests.js (which names them too) for the files it gives the shared server to. */
const SHARED_TEMPORAL_ENV = { address: 'OSC_TEST_TEMPORAL_ADDRESS', namespace: 'OSC_TEST_TEMPORAL_NAMESPACE' } as const;

function sharedTestServer(): DevServer | undefined {
  const address = process.env[SHARED_TEMPORAL_ENV.address];
  const namespace = process.env[SHARED_TEMPORAL_ENV.namespace];
  if (!address || !namespace) return undefined;
  // The runner stops it when every file is done.
  return { address, namespace, origin: `the test runner's shared dev server, namespace ${namespace}`, stop: async () => undefined };
}

/** `startTestTemporal` on a dev server started with these options (e.g. `dynamicConfigValues`). */
export async function startTestTemporalWith(serverOptions: DevServerOptions): Promise<TestTemporal> {
  return withServer(() => startDevServer(serverOptions));
}

/** The SDK's logger installed first: the SDK may start the server (no temporal CLI here). */
async function withServer(start: () => Promise<DevServer>): Promise<TestTemporal> {
  Runtime.install({
    logger: new DefaultLogger('DEBUG', (entry: LogEntry) => {
      capturedLogs.push(`${entry.level} ${entry.message} ${safeJson(entry.meta)}`);
    }),
  });
  // The bundle is made while the server starts (or read: `npm run build` made it).
  const [server, bundle] = await Promise.all([start(), testWorkflowBundle()]);
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
