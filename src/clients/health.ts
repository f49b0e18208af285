import { type Client, WithStartWorkflowOperation } from '@temporalio/client';
import { CancelledFailure, WorkflowIdConflictPolicy } from '@temporalio/common';
import { HEALTH_WORKFLOW_TYPE, healthWorkflowId, type HealthAnswer, type PassHealthReport } from '../domain/upstreamHealth';
import { recordPassUpdate } from '../domain/upstreamHealthMessages';
import { UpstreamError } from './errors';

/**
 * The `upstreamHealth` workflow of a task queue: counts of passes in a row each upstream was down.
 * `record` starts it when it is not there (Update-with-Start, USE_EXISTING). A failure is a
 * retryable UpstreamError('temporal'): the report is counted once whatever the retries (the
 * workflow answers a pass it already counted with its first answer).
 */
export class HealthClient {
  constructor(
    private readonly temporal: Client,
    private readonly taskQueue: string,
  ) {}

  async record(report: PassHealthReport, opts: { updateId?: string } = {}): Promise<HealthAnswer> {
    try {
      return await this.temporal.workflow.executeUpdateWithStart(recordPassUpdate, {
        args: [report],
        ...(opts.updateId ? { updateId: opts.updateId } : {}),
        startWorkflowOperation: new WithStartWorkflowOperation(HEALTH_WORKFLOW_TYPE, {
          workflowId: healthWorkflowId(this.taskQueue),
          taskQueue: this.taskQueue,
          args: [{}],
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        }),
      });
    } catch (err) {
      if (err instanceof UpstreamError || err instanceof CancelledFailure) throw err;
      const first = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
      throw new UpstreamError('temporal', `upstream health record: ${first}`, true);
    }
  }
}
