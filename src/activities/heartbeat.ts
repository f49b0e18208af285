import { Context } from '@temporalio/activity';
import { asActivity } from './failures';

/**
 * Heartbeats while `work` runs, so a worker that dies is noticed after the heartbeat
 * timeout rather than the much longer start-to-close timeout that rate-limit waits need.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timeoutMs = ctx.info.heartbeatTimeoutMs;
  if (!timeoutMs) return work();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), Math.max(100, Math.floor(timeoutMs / 3)));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * What almost every activity here is: `work` with its failures classified (`asActivity`: one
 * place decides retryable or not) while it heartbeats. It heartbeats only when the workflow gave
 * the activity a heartbeat timeout, so the workflow's options alone decide how soon a dead
 * worker is noticed.
 */
export function heartbeatingActivity<T>(work: () => Promise<T>): Promise<T> {
  return whileHeartbeating(() => asActivity(work));
}
