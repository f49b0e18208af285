import type { RetryPolicy } from '@temporalio/common';
import type { RetrySettings } from '../domain/types';

export function toRetryPolicy(settings: RetrySettings): RetryPolicy {
  return {
    initialInterval: settings.initialIntervalMs,
    backoffCoefficient: settings.backoffCoefficient,
    maximumInterval: settings.maximumIntervalMs,
    maximumAttempts: settings.maximumAttempts,
  };
}
