import { Context } from '@temporalio/activity';

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
