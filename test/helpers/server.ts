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

/**
 * Like `testServer`, for the kill tests: a dev server whose workflows get a 2 s workflow task
 * timeout when their starter sets none (the ledgers, the Gangway permits, the health workflow,
 * the pass's children: the server's default is 10 s). A task handed to a worker that is then
 * SIGKILLed goes to the next worker after that long. An external server keeps its own default.
 */
export async function killTestServer(env: NodeJS.ProcessEnv = process.env): Promise<DevServer> {
  if (env.WATCHER_TEST_TEMPORAL_ADDRESS) return testServer(env);
  return startDevServer({ dynamicConfigValues: ['history.defaultWorkflowTaskTimeout="2s"'] });
}
