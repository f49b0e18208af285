import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import type { TriggerFailureDetail } from '../domain/types';

/** The reason (and HTTP status) behind an activity or child failure, for the summary. */
export function failureDetail(err: unknown): TriggerFailureDetail {
  const cause = err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const given = cause.details?.[0] as TriggerFailureDetail | undefined;
    const type = cause.type ? { type: cause.type } : {};
    return given?.reason ? { ...given, ...type } : { reason: cause.message, ...type };
  }
  if (cause instanceof Error) return { reason: cause.message };
  return { reason: String(cause) };
}
