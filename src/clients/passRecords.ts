import type { Client } from '@temporalio/client';
import type { PassSummary } from '../domain/types';
import { UpstreamError } from './errors';

export interface CompletedPass {
  workflowId: string;
  runId: string;
  closeTimeMs: number;
}

/**
 * The passes (`buildWatcher` workflows) Temporal keeps, read through visibility: what the state
 * gauges (src/metricsCollector.ts) are computed from. Failures are an UpstreamError('temporal'),
 * retryable: the server being briefly away says nothing about the passes.
 */
export class PassRecordClient {
  constructor(
    private readonly temporal: Client,
    private readonly taskQueue: string,
  ) {}

  /** Passes of this task queue that completed after `afterMs` (all that retention kept, without it), newest first. */
  async completedAfter(afterMs?: number): Promise<CompletedPass[]> {
    const after = afterMs !== undefined ? ` AND CloseTime > ${JSON.stringify(new Date(afterMs).toISOString())}` : '';
    const query = `WorkflowType = 'buildWatcher' AND ExecutionStatus = 'Completed' AND TaskQueue = ${JSON.stringify(this.taskQueue)}${after}`;
    return this.call('completed passes', async () => {
      const passes: CompletedPass[] = [];
      for await (const run of this.temporal.workflow.list({ query })) {
        if (run.closeTime) passes.push({ workflowId: run.workflowId, runId: run.runId, closeTimeMs: run.closeTime.getTime() });
      }
      return passes.sort((a, b) => b.closeTimeMs - a.closeTimeMs);
    });
  }

  /** A completed pass's summary: its result (only the close event is read). */
  async summary(pass: Pick<CompletedPass, 'workflowId' | 'runId'>): Promise<PassSummary> {
    return this.call(`the result of pass ${pass.workflowId}`, () => this.temporal.workflow.getHandle(pass.workflowId, pass.runId).result() as Promise<PassSummary>);
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      const first = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
      throw new UpstreamError('temporal', `${what}: ${first}`, true);
    }
  }
}
