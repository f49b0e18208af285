import { startDevServer, type DevServer } from '../../src/temporal/devServer';

/**
 * The Temporal server a test file runs on: its own dev server, or, with
 * WATCHER_TEST_TEMPORAL_ADDRESS (and WATCHER_TEST_TEMPORAL_NAMESPACE, default `default`), a
 * running one such as scripts/prod-topology.sh starts (Temporal on PostgreSQL). Not
 * TEMPORAL_ADDRESS: a shell set up for production must not run tests against it.
 * Only test files whose IDs and task queues are their own per run use this (crash, budget).
 */
export async function testServer(env: NodeJS.ProcessEnv = process.env): Promise<DevServer> {
  const address = env.WATCHER_TEST_TEMPORAL_ADDRESS;
  if (!address) return startDevServer();
  return { address, namespace: env.WATCHER_TEST_TEMPORAL_NAMESPACE || 'default', origin: `external server at ${address}`, stop: async () => undefined };
}
