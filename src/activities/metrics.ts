import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { MetricRecorder } from '../domain/metrics';

/**
 * Counts every activity attempt after the first, by activity type. An attempt runs once, in one
 * process, so it is counted once; nothing here runs on replay.
 */
export function countingRetries(metrics: MetricRecorder): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      execute: (input, next) => {
        if (ctx.info.attempt > 1) metrics.add('retries', { activity: ctx.info.activityType });
        return next(input);
      },
    },
  });
}
