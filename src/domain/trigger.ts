import { labelKeys, triggerKey } from './labels';
import type { JobSpec, Release, TriggerRequest } from './types';

/** Labels name the payload and the trigger, so Deck shows which run tests what and a retry can find it. */
export function buildTriggerRequest(
  job: JobSpec,
  version: string,
  release: Release,
  labelPrefix: string,
  workflowId: string,
  /** 1 (the pass's) adds no label and keeps the key it always had; a later one is labelled `attempt=N`. */
  attempt = 1,
): TriggerRequest {
  const keys = labelKeys(labelPrefix);
  return {
    job,
    version,
    release: { name: release.name, pullSpec: release.pullSpec },
    labels: {
      [keys.payload]: release.name,
      [keys.triggerKey]: triggerKey(job.name, release.pullSpec, attempt),
      [keys.ocpVersion]: version,
      ...(attempt > 1 ? { [keys.attempt]: String(attempt) } : {}),
    },
    annotations: {
      [keys.pullSpec]: release.pullSpec,
      [keys.workflowId]: workflowId,
    },
  };
}
