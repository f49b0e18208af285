// Task queue names shared by the workflows and the worker. Pure: no Node modules.

const GANGWAY_SUFFIX = '-gangway';

/**
 * The task queue of every Gangway activity of the watcher on `taskQueue`. Every worker process
 * polls it beside `taskQueue` and asks the Temporal server to dispatch at most
 * `gangway.rateLimit.perMinute` / 60 of its activities per second: the server counts for all
 * workers, so they share one Gangway budget (README, "Gangway rate limit").
 */
export function gangwayTaskQueue(taskQueue: string): string {
  return `${taskQueue}${GANGWAY_SUFFIX}`;
}

export function isGangwayTaskQueue(taskQueue: unknown): boolean {
  return typeof taskQueue === 'string' && taskQueue.endsWith(GANGWAY_SUFFIX);
}

/** Workflow type of a Gangway permit (src/workflows/gangwayPermit.ts), started by name from the client layer. */
export const GANGWAY_PERMIT_WORKFLOW_TYPE = 'gangwayPermit';
