import { type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { newestNightly } from '../domain/nightly';
import type { TriggerFailureDetail, TriggerRecordOutcome, TriggerRecordState, TriggerResult } from '../domain/types';
import { PAYLOAD } from '../domain/searchAttributes';
import { abortable } from './abortable';
import { UpstreamError } from './errors';

/** Nightly tags expire after 14 days: an older trigger record says nothing about today's stream. */
const RECORD_HORIZON_MS = 14 * 86_400_000;

/**
 * The watcher's own trigger records (one `triggerJob` workflow per (job, payload)), read
 * through Temporal. Like the HTTP clients it decides once what a failure means: the server
 * being briefly away (a restart, a network blip) is worth another try, never a verdict.
 */
export class TriggerRecordClient {
  constructor(private readonly temporal: Client) {}

  async state(workflowId: string): Promise<TriggerRecordState> {
    return this.call(`trigger record ${workflowId}`, async () => {
      try {
        const status = (await this.temporal.workflow.getHandle(workflowId).describe()).status.name;
        if (status === 'RUNNING') return 'running';
        if (status === 'COMPLETED') return 'completed';
        return 'failed';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'none';
        throw err;
      }
    });
  }

  /**
   * The outcome of the trigger under this ID; while it runs, waits for it (aborted by
   * `signal`). A trigger that completed is "already triggered"; only then.
   */
  async outcome(workflowId: string, signal?: AbortSignal): Promise<TriggerRecordOutcome> {
    const state = await this.state(workflowId);
    if (state === 'none') return { state: 'none' };
    const wasRunning = state === 'running';
    return this.call(`trigger record ${workflowId}`, async () => {
      const handle = this.temporal.workflow.getHandle(workflowId);
      try {
        const result = (await abortable(handle.result() as Promise<TriggerResult>, signal)) as TriggerResult;
        return { state: 'completed', wasRunning, result };
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        const cause = err.cause;
        const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as TriggerFailureDetail | undefined) : undefined;
        const reason = detail?.reason ?? cause?.message ?? err.message;
        return { state: 'failed', wasRunning, reason, ...(detail?.httpStatus ? { httpStatus: detail.httpStatus } : {}) };
      }
    });
  }

  /**
   * The newest payload a completed trigger of this OCP version carried, within the record
   * horizon. A visibility search (eventually consistent): only passes of older code call it.
   */
  async newestTriggeredPayload(version: string, nowMs = Date.now()): Promise<string | undefined> {
    const since = new Date(nowMs - RECORD_HORIZON_MS).toISOString();
    const query = `WorkflowType = 'triggerJob' AND ExecutionStatus = 'Completed' AND OscOcpVersion = ${JSON.stringify(version)} AND StartTime > ${JSON.stringify(since)}`;
    return this.call(`trigger records of OCP ${version}`, async () => {
      const payloads: string[] = [];
      for await (const run of this.temporal.workflow.list({ query })) payloads.push(...(run.typedSearchAttributes.get(PAYLOAD) ?? []));
      return newestNightly(payloads);
    });
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof UpstreamError || err instanceof CancelledFailure) throw err;
      const first = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
      throw new UpstreamError('temporal', `${what}: ${first}`, true);
    }
  }
}
