import { condition, log, patched, proxyActivities } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities';
import type { LedgerState } from '../domain/ledger';
import { baselineNotices, dueLedgerEvents, NO_RETRIGGER, takeNotice, type NotificationEvent, type NotificationOutcome, type RetryView } from '../domain/notifications';
import type { PassHealthReport } from '../domain/upstreamHealth';
import { failureDetail } from './failures';

// Notifications, from workflow state: each event's `notify` activity is started once, by the
// workflow that owns the event (README, "Notifications"). A message that cannot be sent is
// logged and reported; it never fails the workflow, nor holds up a trigger or a look.

/** Marks ledgers that send notifications; a ledger history from before replays without sending. */
export const LEDGER_NOTIFY_PATCH = 'ledger-notify';
/** Marks passes that report upstream health and send their notifications. */
export const PASS_NOTIFY_PATCH = 'pass-notify';

/**
 * One POST per try (the client gives up after 10 s); a few tries over about 10 s, then the
 * failure is reported; two minutes at most in all. No heartbeat timeout: the only heartbeat is
 * the one that says "delivered".
 */
const NOTIFY_OPTIONS = {
  startToCloseTimeout: '20s',
  // Bounded even when no worker takes it: a ledger waits for the message under way before it continues as new.
  scheduleToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 },
} as const;
const PASS_NOTICES_OPTIONS = { startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 } } as const;

/** Sends one event; a failure becomes an outcome, logged. */
export async function sendNotice(event: NotificationEvent): Promise<NotificationOutcome> {
  const { notify } = proxyActivities<WatcherActivities>(NOTIFY_OPTIONS);
  try {
    return await notify(event);
  } catch (err) {
    const reason = failureDetail(err).reason;
    log.warn('Notification not sent', { key: event.key, reason });
    return { key: event.key, state: 'failed', reason };
  }
}

/**
 * The version ledger's sender: a loop beside the ledger's main loop. When the ledger's state
 * holds an event not taken yet (a payload all final, a job out of retries), it marks the event
 * taken in the state, then starts its `notify` activity: the mark and the activity's start are in
 * the same workflow task, so a replay or a new worker never starts it again, and continue-as-new
 * hands the marks on. Events are sent one at a time; follow-through does not wait for them.
 * `stop` (before continue-as-new) lets the message under way finish; what is still due is sent by
 * the next run, from the state. `retries`: the ledger's bounded retriggers, as they bear on
 * "final" and "exhausted" (src/domain/notifications.ts, RetryView).
 */
export function startLedgerNotices(state: LedgerState, retries: RetryView = NO_RETRIGGER): { stop(): Promise<void> } {
  // A state from before notifications: what is already final is not announced.
  baselineNotices(state, retries);
  let stopping = false;
  const loop = (async () => {
    for (;;) {
      await condition(() => stopping || dueLedgerEvents(state, retries).length > 0);
      if (stopping) return;
      const event = dueLedgerEvents(state, retries)[0]!;
      takeNotice(state, event.key);
      // Replaying a history from before notifications: that code sent nothing. Send once live.
      if (!patched(LEDGER_NOTIFY_PATCH)) continue;
      const outcome = await sendNotice(event);
      if (outcome.state === 'sent') log.info('Notification sent', { key: event.key });
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

/**
 * The pass's notifications: its upstream report counted (activity `passNotices`, which answers
 * with the events due: `pass-failed`, `upstream-down`), then each sent. Only passes that recorded
 * the marker do this; a failure is reported, never thrown.
 */
export async function notifyPass(health: PassHealthReport, failures: string[]): Promise<NotificationOutcome[] | undefined> {
  if (!patched(PASS_NOTIFY_PATCH)) return undefined;
  const { passNotices } = proxyActivities<WatcherActivities>(PASS_NOTICES_OPTIONS);
  let events: NotificationEvent[];
  try {
    events = await passNotices({ health, failures });
  } catch (err) {
    const reason = failureDetail(err).reason;
    log.warn('Pass notifications not decided', { reason });
    return [{ key: `pass-notices/${health.passId}`, state: 'failed', reason }];
  }
  return Promise.all(events.map(sendNotice));
}
