import type { WatcherConfig } from '../../src/config/load';
import { createWatcherWorker } from '../../src/worker';
import type { TestTemporal } from './temporal';

export interface RunningWorker {
  /** Shuts the worker down and waits until it stopped; rejects if it had failed. */
  stop(): Promise<void>;
}

/**
 * A real worker (the watcher's and its Gangway worker) for `config` on the file's dev server,
 * running until `stop()`: one worker for several passes or tests of a file (about a second of
 * CPU saved per pass), where `withWorker` makes one per call.
 */
export async function startWorker(temporal: TestTemporal, config: WatcherConfig): Promise<RunningWorker> {
  const worker = await createWatcherWorker({ config, connection: temporal.native, namespace: temporal.server.namespace, client: temporal.client, workflowBundle: temporal.bundle });
  const running = worker.run();
  // A worker that fails while tests run is reported by stop(), not as an unhandled rejection.
  running.catch(() => undefined);
  return {
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}
