// Label and ID rules shared by workflows and clients. Pure: no Node modules.

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)$/;

export function isValidLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}

/** 64-bit FNV-1a, hex. Good enough to tell (job, payload) pairs apart in a label. */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * Stable key of one (job, payload, attempt) trigger; goes into a Gangway label so an activity's
 * retries can find what an earlier try created. Attempt 1 (the pass's) keeps the key it always
 * had; a later attempt (a retry or retest the ledger starts) has its own.
 */
export function triggerKey(jobName: string, pullSpec: string, attempt = 1): string {
  return `tk-${fnv1a64(attempt > 1 ? `${jobName}\n${pullSpec}\nattempt-${attempt}` : `${jobName}\n${pullSpec}`)}`;
}

/**
 * One workflow per (job, payload): its ID is the durable "already triggered" record.
 * Independent of the pass, so that every pass, concurrent or not, collides on it.
 */
export function triggerWorkflowId(jobName: string, releaseName: string): string {
  return `osc-trigger/${jobName}/${releaseName}`;
}

/**
 * The trigger workflow of an attempt the ledger starts (a retry or a retest): its own ID per
 * attempt (`…/attempt-<n>`, never the pass's), so each is exactly once. The pass's attempts
 * keep `triggerWorkflowId`.
 */
export function attemptWorkflowId(jobName: string, releaseName: string, attempt: number): string {
  return `${triggerWorkflowId(jobName, releaseName)}/attempt-${attempt}`;
}

export function labelKeys(prefix: string) {
  return {
    attempt: `${prefix}/attempt`,
    payload: `${prefix}/payload`,
    triggerKey: `${prefix}/trigger-key`,
    ocpVersion: `${prefix}/ocp-version`,
    pullSpec: `${prefix}/pull-spec`,
    workflowId: `${prefix}/workflow-id`,
  };
}

/** The trigger-key label of a request, whatever the configured prefix. */
export function triggerKeyLabel(labels: Record<string, string>): { key: string; value: string } | undefined {
  const key = Object.keys(labels).find((k) => k.endsWith('/trigger-key'));
  return key === undefined ? undefined : { key, value: labels[key]! };
}
