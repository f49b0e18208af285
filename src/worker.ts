import type { Client } from '@temporalio/client';
import { PromiseCompletionTimeoutError, Runtime, Worker, type NativeConnection, type State, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type WatcherActivities } from './activities';
import { countingRetries } from './activities/metrics';
import { DeckClient } from './clients/deck';
import { GangwayClient } from './clients/gangway';
import { GangwayPermits } from './clients/gangwayPermits';
import { readGangwayToken } from './clients/gangwayToken';
import { RateLimiter } from './clients/rateLimiter';
import { ReleaseControllerClient } from './clients/releaseController';
import { LedgerClient } from './clients/ledger';
import { TriggerRecordClient } from './clients/triggerRecords';
import { HealthClient } from './clients/health';
import { readWebhookUrl, WebhookClient } from './clients/webhook';
import { discoverVersions, type WatcherConfig } from './config/load';
import { resolvePassPlan } from './config/plan';
import { ledgerOptionsOf } from './config/ledgerOptions';
import { MetricRecorder, statusClass } from './domain/metrics';
import { gangwayTaskQueue } from './domain/taskQueues';
import type { UpstreamObserver } from './clients/http';
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
export async function createWatcherWorker(options: WatcherWorkerOptions): Promise<WatcherWorkers> {
  const { config } = options;
  // The Runtime's meter: served on /metrics when the Runtime was installed with a port (cli/logging.ts).
  const metrics = new MetricRecorder(Runtime.instance().metricMeter);
  const observer: UpstreamObserver = {
    request: (api, status) => metrics.add('upstreamRequests', { api, status_class: statusClass(status) }),
    deckBytes: (endpoint, bytes) => metrics.add('deckBytes', { endpoint }, bytes),
  };
  const releaseController = new ReleaseControllerClient(config.endpoints.releaseController, config.httpTimeoutMs, observer);
  const permits = new GangwayPermits(options.client, config.taskQueue);
  const activities = createActivities({
    releaseController,
    deck: new DeckClient(config.endpoints.deck, config.httpTimeoutMs, observer),
    gangway: new GangwayClient({
      baseUrl: config.endpoints.gangway,
      timeoutMs: config.httpTimeoutMs,
      createForm: config.gangway.createForm,
      token: () => readGangwayToken(config.gangway.tokenFile),
      // Beside the budget all workers share (the Gangway task queue, below), each process keeps
      // its own bucket: it caps the burst of one process, whatever the server hands it at once.
      rateLimiter: new RateLimiter(config.gangway.rateLimit.perMinute, config.gangway.rateLimit.burst),
      onRateLimitWait: (waitMs, what) => {
        metrics.record('gangwayRateLimitWait', { kind: 'process' }, waitMs / 1000);
        Runtime.instance().logger.info('Waiting for a Gangway rate-limit slot', { waitMs, request: what });
      },
      observer,
    }),
    deckFilter: config.deck,
    trigger: config.trigger,
    triggerRecords: new TriggerRecordClient(options.client),
    // A ledger a claim starts follows its ProwJobs on this configuration's schedule.
    ledger: new LedgerClient(options.client, ledgerOptionsOf(config)),
    temporal: options.client,
    resolvePlan: async (request) => {
      if (!config.discover || config.versions.length > 0) return resolvePassPlan(config, request);
      // `ocpVersions: discover`: the streams the release controller has now, from discover.min.
      const accepted = await releaseController.acceptedStreams();
      return resolvePassPlan(config, request, discoverVersions(config, accepted));
    },
    // Notifications: off without a webhook file; the URL is read from it on every use.
    notify: {
      ...(config.notify.webhookFile ? { webhook: new WebhookClient({ url: () => readWebhookUrl(config.notify.webhookFile!) }) } : {}),
      health: new HealthClient(options.client, config.taskQueue),
      downPasses: config.notify.downPasses,
    },
    gangwayBudget: {
      taskQueue: gangwayTaskQueue(config.taskQueue),
      permit: (id, signal) => permits.take(id, signal),
    },
    metrics,
  });
  return createWorkerPair({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: config.taskQueue,
    activities,
    metrics,
    gangwayActivitiesPerMinute: config.gangway.rateLimit.perMinute,
    workerOptions: {
      ...workflowCode(options.workflowBundle),
      shutdownGraceTime: config.shutdownGraceMs,
      stickyQueueScheduleToStartTimeout: config.stickyQueueTimeoutMs,
      maxCachedWorkflows: config.maxCachedWorkflows,
    },
  });
}

export interface WorkerPairOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: WatcherActivities;
  /** The budget of the Gangway task queue, for all its workers; undefined: no limit (tests with in-memory upstreams). */
  gangwayActivitiesPerMinute: number | undefined;
  /** Where both workers count activity retries (src/domain/metrics.ts); none: not counted. */
  metrics?: MetricRecorder;
  /** For the watcher's own worker (workflow code, sticky queue, ...); the shutdown grace applies to both. */
  workerOptions: Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'activities'>;
}

/**
 * The watcher's worker on `taskQueue` (workflows and every activity: a trigger started before
 * the Gangway task queue existed still schedules its Gangway activity here) and the Gangway
 * worker on `gangwayTaskQueue(taskQueue)`, with the Gangway activities only. The Gangway worker
 * asks the server to dispatch at most perMinute / 60 activities a second from its queue; the
 * server applies that to every worker of the queue, so all share one budget.
 */
export async function createWorkerPair(options: WorkerPairOptions): Promise<WatcherWorkers> {
  const { activities } = options;
  const interceptors = options.metrics ? { interceptors: { activity: [countingRetries(options.metrics)] } } : {};
  const main = await Worker.create({
    ...options.workerOptions,
    ...interceptors,
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities,
  });
  const gangway = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: gangwayTaskQueue(options.taskQueue),
    activities: { triggerGangwayJob: activities.triggerGangwayJob, takeGangwayPermit: activities.takeGangwayPermit },
    ...interceptors,
    ...(options.gangwayActivitiesPerMinute !== undefined ? { maxTaskQueueActivitiesPerSecond: options.gangwayActivitiesPerMinute / 60 } : {}),
    ...(options.workerOptions.shutdownGraceTime !== undefined ? { shutdownGraceTime: options.workerOptions.shutdownGraceTime } : {}),
  });
  return new WatcherWorkers(main, gangway);
}

export interface RunUntilOptions {
  /** As Worker.runUntil's: how long the promise may take to settle once the workers stopped, in ms. */
  promiseCompletionTimeout?: number;
}

/**
 * The two workers of one process, used like one Worker (run, runUntil, shutdown, getState):
 * both start together, and when one stops (a signal, a fatal error, shutdown) so does the other.
 */
export class WatcherWorkers {
  constructor(
    readonly main: Worker,
    readonly gangway: Worker,
  ) {}

  private get all(): Worker[] {
    return [this.main, this.gangway];
  }

  /** RUNNING while either runs, so that a caller that checks it before `shutdown` stops both. */
  getState(): State {
    const states = this.all.map((w) => w.getState());
    if (states.includes('RUNNING')) return 'RUNNING';
    if (states.includes('FAILED')) return 'FAILED';
    return states[0]!;
  }

  /** Starts a graceful shutdown of whichever still runs. */
  shutdown(): void {
    for (const w of this.all) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** Runs both until both have stopped; rejects with the first fatal error. */
  async run(): Promise<void> {
    const results = await Promise.allSettled(this.all.map((w) => w.run().finally(() => this.shutdown())));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** As Worker.runUntil: both run until `fnOrPromise` settles (or they stop), then its outcome. */
  async runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>), options?: RunUntilOptions): Promise<R> {
    const running = this.run();
    let outcome: { ok: true; value: R } | { ok: false; error: unknown } | undefined;
    const inner = (async () => {
      try {
        outcome = { ok: true, value: await (typeof fnOrPromise === 'function' ? fnOrPromise() : fnOrPromise) };
      } catch (error) {
        outcome = { ok: false, error };
      } finally {
        this.shutdown();
      }
    })();
    let workerError: { error: unknown } | undefined;
    try {
      await running;
    } catch (error) {
      workerError = { error };
    }
    const graceMs = options?.promiseCompletionTimeout ?? 0;
    if (outcome === undefined && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inner, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    const settled = outcome as typeof outcome;
    if (workerError) throw workerError.error;
    if (settled === undefined) throw new PromiseCompletionTimeoutError(`Promise did not resolve within ${graceMs}ms after the workers completed shutdown`);
    if (settled.ok) return settled.value;
    throw settled.error;
  }
}

function workflowCode(inProcess?: { code: string }): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = inProcess ?? prebuiltWorkflowBundle();
  return bundle ? { workflowBundle: bundle } : { workflowsPath: WORKFLOWS_PATH };
}
