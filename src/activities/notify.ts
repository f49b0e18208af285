import { Context, log } from '@temporalio/activity';
import { abortable } from '../clients/abortable';
import type { HealthClient } from '../clients/health';
import type { WebhookClient } from '../clients/webhook';
import { passFailedEvent, upstreamDownEvents, type PassHealthReport } from '../domain/upstreamHealth';
import type { NotificationEvent, NotificationOutcome } from '../domain/notifications';
import { slackMessage } from '../domain/slackMessage';
import { asActivity } from './failures';

export interface NotifyDeps {
  /** Undefined: no `notify.webhookFile`, notifications are off (events are not even counted). */
  webhook?: WebhookClient;
  /** Where the pass reports which upstreams answered it. */
  health: Pick<HealthClient, 'record'>;
  /** `notify.downPasses`: an upstream down this many passes in a row is announced (once per outage). */
  downPasses: number;
}

/** What a pass hands `passNotices`: its ID, which upstreams answered, and why it failed (if it did). */
export interface PassNoticeRequest {
  health: PassHealthReport;
  /** The reasons `run` would exit 1 for; empty: the pass did not fail. */
  failures: string[];
}

/** Heartbeat details of a `notify` attempt that got its 2xx: the next attempt does not post again. */
interface Delivered {
  delivered: string;
}

/** Keys this process delivered, newest last: a retry on the same worker does not post again. */
const DELIVERED_KEPT = 1000;

export function createNotifyActivities(deps: NotifyDeps | undefined) {
  const delivered: string[] = [];
  return {
    /**
     * Sends one event's message. Started once per event by its workflow; Temporal retries it a
     * few times (a failure is only reported). The POST carries the key (header and text). Where a
     * duplicate can be avoided it is: an attempt that got its 2xx heartbeats the key at once, so an
     * attempt after a crash finds it and does not post again; a retry in the same process checks a
     * list. What remains is a crash between the receiver taking the POST and that heartbeat
     * reaching Temporal: then the retry posts again, with the same key (README, "Notifications").
     */
    async notify(event: NotificationEvent): Promise<NotificationOutcome> {
      if (!deps?.webhook) return { key: event.key, state: 'off' };
      const ctx = Context.current();
      const earlier = ctx.info.heartbeatDetails as Delivered | undefined;
      if (earlier?.delivered === event.key || delivered.includes(event.key)) {
        log.info('Notification already delivered by an earlier attempt; not posting again', { key: event.key, attempt: ctx.info.attempt });
        return { key: event.key, state: 'sent', earlier: true };
      }
      const webhook = deps.webhook;
      // Cancelled: the POST is aborted and the activity ends with Temporal's cancellation.
      const signal = ctx.cancellationSignal;
      const res = await asActivity(() => abortable(webhook.post(slackMessage(event), event.key, signal), signal));
      ctx.heartbeat({ delivered: event.key } satisfies Delivered);
      delivered.push(event.key);
      if (delivered.length > DELIVERED_KEPT) delivered.shift();
      log.info('Notification sent', { key: event.key, httpStatus: res.httpStatus, attempt: ctx.info.attempt });
      return { key: event.key, state: 'sent' };
    },

    /**
     * A pass's events: `pass-failed` when it failed, `upstream-down` for each upstream just down
     * `notify.downPasses` passes in a row (counted by the `upstreamHealth` workflow, once per pass
     * whatever the retries). None when notifications are off.
     */
    async passNotices(request: PassNoticeRequest): Promise<NotificationEvent[]> {
      if (!deps?.webhook) return [];
      const info = Context.current().info;
      const answer = await asActivity(() =>
        deps.health.record(request.health, { updateId: `pass-health/${info.workflowExecution?.workflowId ?? request.health.passId}/${info.activityId}` }),
      );
      return [
        ...(request.failures.length ? [passFailedEvent(request.health.passId, request.failures)] : []),
        ...upstreamDownEvents(answer, deps.downPasses),
      ];
    },
  };
}
