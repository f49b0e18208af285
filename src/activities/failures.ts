import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import { NoAcceptedReleaseError, TokenNotFoundError, UpstreamError } from '../clients/errors';
import { FAILURE_TYPES } from '../domain/failureTypes';
import type { TriggerFailureDetail } from '../domain/types';

/**
 * Runs a client call and hands Temporal the client's own verdict: retryable or not,
 * and the server's Retry-After when it gave one. Nothing is decided here.
 */
export async function asActivity<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    // Cancellation is Temporal's own answer, not an upstream failure: pass it on as it is.
    if (err instanceof CancelledFailure) throw err;
    throw toApplicationFailure(err);
  }
}

export function toApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof UpstreamError) {
    const details: TriggerFailureDetail = { reason: err.message, ...(err.httpStatus ? { httpStatus: err.httpStatus } : {}) };
    const noRelease = err instanceof NoAcceptedReleaseError;
    return ApplicationFailure.create({
      message: err.message,
      type: noRelease ? FAILURE_TYPES.noAcceptedRelease : err.retryable ? FAILURE_TYPES.transient : FAILURE_TYPES.permanent,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.retryAfterMs,
      details: [details],
      // A stream with no Accepted nightly yet is a fact, not a fault: the SDK logs a benign
      // failure at DEBUG (not "WARN Activity failed") and leaves it out of its failure metrics.
      ...(noRelease ? { category: ApplicationFailureCategory.BENIGN } : {}),
    });
  }
  if (err instanceof TokenNotFoundError) {
    return ApplicationFailure.create({
      message: err.message,
      type: FAILURE_TYPES.tokenNotFound,
      nonRetryable: true,
      details: [{ reason: err.message } satisfies TriggerFailureDetail],
    });
  }
  if (err instanceof ApplicationFailure) return err;
  // Unknown errors are bugs of ours; a retry will not fix them, and their text may hold
  // anything, so only the class name and first line cross into history.
  const e = err as Error;
  return ApplicationFailure.create({
    message: `${e?.name ?? 'Error'}: ${String(e?.message ?? err).split('\n')[0].slice(0, 200)}`,
    type: 'InternalError',
    nonRetryable: true,
  });
}
