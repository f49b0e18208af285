import type { FollowSettings } from '../domain/follow';
import type { LedgerTriggerSettings } from '../domain/ledger';
import type { RetriggerSettings } from '../domain/retrigger';
import { DEFAULT_PAYLOAD_ENV } from './defaults';
import type { WatcherConfig } from './load';

/**
 * What a ledger started from this configuration runs with: follow-through's schedule, bounded
 * retrigger's rules, and how its own attempts (retries, retests) are posted. A ledger keeps what
 * it was started with (through continue-as-new).
 */
export function ledgerOptionsOf(config: WatcherConfig): { taskQueue: string; follow: FollowSettings; retrigger: RetriggerSettings; trigger: LedgerTriggerSettings } {
  return {
    taskQueue: config.taskQueue,
    follow: config.follow,
    retrigger: config.retrigger,
    trigger: {
      labelPrefix: config.labelPrefix,
      retry: config.retry,
      heartbeatTimeoutMs: config.trigger.heartbeatTimeoutMs,
      defaultPayloadEnv: config.jobTemplates.all[0]?.payloadEnv ?? DEFAULT_PAYLOAD_ENV,
    },
  };
}
