import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
// The client's own encoder (what client.workflow.start uses for typedSearchAttributes).
import { encodeUnifiedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { DECISION, JOB, OCP_VERSION, PAYLOAD } from '../domain/searchAttributes';

// Proto enum values (temporal.api.enums.v1), as setup.ts does for IndexedValueType.
const TASK_QUEUE_KIND_NORMAL = 1;
const COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION = 4;
const COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES = 13;

export const PROBE_WORKFLOW_TYPE = 'osc-search-attribute-probe';
const PROBE_PREFIX = 'osc-search-attribute-probe/';
/** Values no query of the watcher's matches (they all name WorkflowType too). */
const PROBE_VALUES = [
  { key: OCP_VERSION, value: ['probe'] },
  { key: PAYLOAD, value: ['probe'] },
  { key: JOB, value: 'probe' },
  { key: DECISION, value: 'probe' },
];

export interface UsableOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Between two probes (default 1 s). */
  retryEveryMs?: number;
  /** Told once, when the first probe finds the attributes not usable yet. */
  onWait?: (reason: string) => void;
}

export class SearchAttributesNotUsableError extends Error {}

/**
 * A search attribute the server has just registered is not usable at once: each service reads
 * the namespace's attribute mapping from its own cache, refreshed every ~10 s. Until then every
 * workflow task that sets one fails (BadSearchAttributes), and a pass stalls. So before the
 * first pass: a probe workflow, started and completed by hand with all four attributes set, at
 * start (checked by the frontend) and by an upsert command (checked by the history service, as
 * the pass's own first workflow task is). Retried until both accept them, within `timeoutMs`.
 * Returns how many probes it took.
 */
export async function awaitSearchAttributesUsable(connection: Connection, namespace: string, options: UsableOptions = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (let attempt = 1; ; attempt++) {
    const problem = await probeOnce(connection, namespace, Math.min(deadline, Date.now() + 15_000));
    if (!problem) return attempt;
    if (!isNotYetUsable(problem)) {
      throw new SearchAttributesNotUsableError(`could not check that search attributes are usable in namespace ${namespace}: ${problem}`);
    }
    if (!told) {
      options.onWait?.(problem);
      told = true;
    }
    if (Date.now() + (options.retryEveryMs ?? 1000) > deadline) {
      throw new SearchAttributesNotUsableError(
        `search attributes ${PROBE_VALUES.map((p) => p.key.name).join(', ')} are registered in namespace ${namespace} but still not usable after ${Math.round(timeoutMs / 1000)} s (${problem}); the server may not have refreshed its namespace cache yet: try again in a minute`,
      );
    }
    await new Promise((r) => setTimeout(r, options.retryEveryMs ?? 1000));
  }
}

/** What a server says while its caches lag behind a registration (or a new namespace); anything else is a real error. */
function isNotYetUsable(problem: string): boolean {
  return /search attribute|BadSearchAttributes|Namespace .* (is )?not found|UNAVAILABLE|DEADLINE_EXCEEDED/i.test(problem);
}

/** One probe workflow; undefined when both checks passed, else what the server said. */
async function probeOnce(connection: Connection, namespace: string, deadline: number): Promise<string | undefined> {
  const service = connection.workflowService;
  const workflowId = `${PROBE_PREFIX}${randomUUID()}`;
  const taskQueue = { name: workflowId, kind: TASK_QUEUE_KIND_NORMAL };
  const identity = `osc-build-watcher-probe@${os.hostname()}`;
  const searchAttributes = { indexedFields: encodeUnifiedSearchAttributes(undefined, PROBE_VALUES) };
  let started = false;
  try {
    await connection.withDeadline(deadline, () =>
      service.startWorkflowExecution({
        namespace,
        workflowId,
        requestId: randomUUID(),
        workflowType: { name: PROBE_WORKFLOW_TYPE },
        taskQueue,
        workflowExecutionTimeout: msToTs(60_000),
        searchAttributes,
        identity,
      }),
    );
    started = true;
    const task = await connection.withDeadline(deadline, () => service.pollWorkflowTaskQueue({ namespace, taskQueue, identity }));
    if (!task.taskToken?.length) return 'DEADLINE_EXCEEDED: the probe workflow task was not delivered';
    await connection.withDeadline(deadline, () =>
      service.respondWorkflowTaskCompleted({
        namespace,
        taskToken: task.taskToken,
        identity,
        commands: [
          { commandType: COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsertWorkflowSearchAttributesCommandAttributes: { searchAttributes } },
          { commandType: COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} },
        ],
      }),
    );
    return undefined;
  } catch (err) {
    if (started) {
      await service
        .terminateWorkflowExecution({ namespace, workflowExecution: { workflowId }, reason: 'search attribute probe failed', identity })
        .catch(() => undefined);
    }
    return (err as Error).message.split('\n')[0] ?? String(err);
  }
}
