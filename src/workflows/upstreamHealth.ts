import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { emptyHealthState, HEALTH_SCHEMA, HealthRequestError, recordPassHealth, checkHealthReport, type HealthState } from '../domain/upstreamHealth';
import { healthQuery, recordPassUpdate } from '../domain/upstreamHealthMessages';

export * from '../domain/upstreamHealthMessages';

export interface UpstreamHealthInput {
  /** Only when continuing as new. */
  state?: HealthState;
}

/**
 * How many passes in a row each upstream was down: one small entity workflow per deployment,
 * `osc-health/<task-queue>`, started by the first pass that reports (Update-with-Start). Its one
 * Update is synchronous, so reports are counted one at a time, in the order the server takes
 * them: strongly consistent, no visibility query involved. It does nothing else: no timer, no
 * activity. It continues as new when the server suggests it, carrying its few counts.
 */
export async function upstreamHealth(input: UpstreamHealthInput = {}): Promise<void> {
  const given = input?.state;
  const state: HealthState = given && given.schema === HEALTH_SCHEMA && Array.isArray(given.recent) ? given : emptyHealthState();
  setHandler(
    recordPassUpdate,
    (report) => {
      try {
        return recordPassHealth(state, report);
      } catch (err) {
        if (err instanceof HealthRequestError) throw ApplicationFailure.create({ type: 'HealthRequestRejected', message: err.message, nonRetryable: true });
        throw err;
      }
    },
    {
      validator: (report) => {
        try {
          checkHealthReport(report);
        } catch (err) {
          throw ApplicationFailure.create({ type: 'HealthRequestRejected', message: (err as Error).message, nonRetryable: true });
        }
      },
    },
  );
  setHandler(healthQuery, () => state);
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof upstreamHealth>({ state });
}
