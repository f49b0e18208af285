import type { Client } from '@temporalio/client';
import { Runtime, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { DeckClient } from './clients/deck';
import { GangwayClient } from './clients/gangway';
import { readGangwayToken } from './clients/gangwayToken';
import { RateLimiter } from './clients/rateLimiter';
import { ReleaseControllerClient } from './clients/releaseController';
import { LedgerClient } from './clients/ledger';
import { TriggerRecordClient } from './clients/triggerRecords';
import { discoverVersions, type WatcherConfig } from './config/load';
import { resolvePassPlan } from './config/plan';
import { prebuiltWorkflowBundle, WORKFLOWS_PATH } from './workflowBundle';

export interface WatcherWorkerOptions {
  config: WatcherConfig;
  connection: NativeConnection;
  namespace: string;
  /** Used by the dry-run record lookup. */
  client: Client;
  /** A bundle made in-process (tests); without it, the one `npm run build` made, or webpack at start. */
  workflowBundle?: { code: string };
}

/** The only place where endpoints and the token file meet the workflows. */
export async function createWatcherWorker(options: WatcherWorkerOptions): Promise<Worker> {
  const { config } = options;
  const releaseController = new ReleaseControllerClient(config.endpoints.releaseController, config.httpTimeoutMs);
  const activities = createActivities({
    releaseController,
    deck: new DeckClient(config.endpoints.deck, config.httpTimeoutMs),
    gangway: new GangwayClient({
      baseUrl: config.endpoints.gangway,
      timeoutMs: config.httpTimeoutMs,
      createForm: config.gangway.createForm,
      token: () => readGangwayToken(config.gangway.tokenFile),
      rateLimiter: new RateLimiter(config.gangway.rateLimit.perMinute, config.gangway.rateLimit.burst),
      onRateLimitWait: (waitMs, what) =>
        Runtime.instance().logger.info('Waiting for a Gangway rate-limit slot', { waitMs, request: what }),
    }),
    deckFilter: config.deck,
    trigger: config.trigger,
    triggerRecords: new TriggerRecordClient(options.client),
    // A ledger a claim starts follows its ProwJobs on this configuration's schedule.
    ledger: new LedgerClient(options.client, { taskQueue: config.taskQueue, follow: config.follow }),
    resolvePlan: async (request) => {
      if (!config.discover || config.versions.length > 0) return resolvePassPlan(config, request);
      // `ocpVersions: discover`: the streams the release controller has now, from discover.min.
      const accepted = await releaseController.acceptedStreams();
      return resolvePassPlan(config, request, discoverVersions(config, accepted));
    },
  });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: config.taskQueue,
    ...workflowCode(options.workflowBundle),
    activities,
    shutdownGraceTime: config.shutdownGraceMs,
    stickyQueueScheduleToStartTimeout: config.stickyQueueTimeoutMs,
  });
}

function workflowCode(inProcess?: { code: string }): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = inProcess ?? prebuiltWorkflowBundle();
  return bundle ? { workflowBundle: bundle } : { workflowsPath: WORKFLOWS_PATH };
}
