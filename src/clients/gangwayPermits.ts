import type { Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { GANGWAY_PERMIT_WORKFLOW_TYPE } from '../domain/taskQueues';
import { abortable } from './abortable';
import { UpstreamError } from './errors';

/**
 * Permits for Gangway requests that no activity dispatch paid for. A permit is one dispatch
 * of the Gangway task queue, which the Temporal server paces for every worker of the queue:
 * `take` starts a `gangwayPermit` workflow (on the workflow task queue) and returns once its
 * activity has been dispatched. Like the other clients it decides once what a failure means:
 * the server being briefly away is worth another try.
 */
export class GangwayPermits {
  constructor(
    private readonly temporal: Client,
    /** The watcher's task queue (the permit's activity goes to its Gangway queue). */
    private readonly taskQueue: string,
  ) {}

  /** `id` names the permit in Temporal (unique per request); `signal` gives up the wait. */
  async take(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await abortable(this.temporal.workflow.execute(GANGWAY_PERMIT_WORKFLOW_TYPE, { taskQueue: this.taskQueue, workflowId: id }), signal);
    } catch (err) {
      if (err instanceof UpstreamError || err instanceof CancelledFailure) throw err;
      const first = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
      throw new UpstreamError('temporal', `Gangway permit ${id}: ${first}`, true);
    }
  }
}
