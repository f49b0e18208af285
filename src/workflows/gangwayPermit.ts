import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities';
import { gangwayTaskQueue } from '../domain/taskQueues';

/**
 * One Gangway request's share of the budget, for a request that the dispatch of its own
 * activity did not pay for (a retry's lookup and the POST after it; see activities/index.ts).
 * Its only activity runs on the Gangway task queue, whose dispatches the server paces for all
 * workers; the workflow ends when that activity has been dispatched. Started by the waiting
 * activity, on the workflow's task queue.
 */
export async function gangwayPermit(): Promise<void> {
  const { takeGangwayPermit } = proxyActivities<WatcherActivities>({
    taskQueue: gangwayTaskQueue(workflowInfo().taskQueue),
    // The wait for dispatch is schedule-to-start, unbounded like the trigger's own.
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', maximumInterval: '10s' },
  });
  await takeGangwayPermit();
}
