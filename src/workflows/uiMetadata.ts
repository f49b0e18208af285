import { log, patched, setCurrentDetails, type ActivityFunctionWithOptions } from '@temporalio/workflow';

/**
 * Marks the runs whose commands carry Temporal UI metadata: a summary on each activity call,
 * static summary and details on the children they start. Histories recorded before replay
 * without it (user metadata is part of the commands). Current details (`setCurrentDetails`)
 * are no command and need no patch.
 */
export const UI_METADATA_PATCH = 'ui-metadata';

export function uiMetadataPatched(): boolean {
  return patched(UI_METADATA_PATCH);
}

/** Calls the activity with a one-line `summary` for the UI when `on`, else exactly as before. */
export function callWithSummary<F extends (...args: any[]) => Promise<any>>(
  on: boolean,
  fn: ActivityFunctionWithOptions<F>,
  summary: () => string,
  ...args: Parameters<F>
): Promise<Awaited<ReturnType<F>>> {
  return on ? fn.executeWithOptions({ summary: summary() }, args) : (fn(...args) as Promise<Awaited<ReturnType<F>>>);
}

/** Static summary and details for a child this workflow starts, when `on`. */
export function staticMetadata(on: boolean, summary: () => string, details: () => string): { staticSummary?: string; staticDetails?: string } {
  return on ? { staticSummary: summary(), staticDetails: details() } : {};
}

/**
 * Sets the workflow's current details (the Temporal UI's "current details", answered by the
 * `__temporal_workflow_metadata` query; no command). A failure to build them is logged, never
 * allowed to fail an Update handler or the workflow task: they are only a view.
 */
export function showCurrentDetails(build: () => string): void {
  try {
    setCurrentDetails(build());
  } catch (err) {
    log.warn('Could not build the current details for the Temporal UI', { error: String(err) });
  }
}
