import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { Endpoint, HeldRequest, Simulators } from '../../src/simulators';

export interface UntilOptions {
  /** Default 60 s. */
  timeoutMs?: number;
  /** Between two checks; default 100 ms. */
  everyMs?: number;
  /** Added to the failure message (what the test saw last). */
  detail?: () => string;
}

/**
 * Checks `ok` every `everyMs` (default 100 ms) until it says yes (true) or `timeoutMs` passed
 * (false). A check that throws (a query while a worker restarts) counts as "not yet".
 */
export async function eventually(ok: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100, onError?: (message: string) => void): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await ok()) return true;
    } catch (err) {
      onError?.(String((err as Error)?.message ?? err).split('\n')[0]!);
    }
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Like `eventually`, but fails naming `what` after `timeoutMs` (default 60 s), with the last check's error if it threw. */
export async function until(ok: () => Promise<boolean> | boolean, what: string, opts: UntilOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let lastError = '';
  const wrapped = async () => {
    const yes = await ok();
    lastError = '';
    return yes;
  };
  if (await eventually(wrapped, timeoutMs, opts.everyMs, (m) => (lastError = m))) return;
  assert.fail(`${what}: not within ${timeoutMs} ms${lastError ? ` (last check threw: ${lastError})` : ''}${opts.detail ? `; ${opts.detail()}` : ''}`);
}

/** The request a `hold` fault stopped at `endpoint` whose client is still there, once there is one. */
export async function heldRequest(sims: Simulators, endpoint: Endpoint, what: string, timeoutMs = 60_000): Promise<HeldRequest> {
  let found: HeldRequest | undefined;
  // Every 20 ms: the client's own timeout runs while the request is held.
  await until(() => (found = sims.held().find((h) => h.endpoint === endpoint && !h.clientGone)) !== undefined, what, { timeoutMs, everyMs: 20 });
  return found!;
}

/** Activities the workflow has scheduled or running now. */
export async function pendingActivities(client: Client, workflowId: string): Promise<number> {
  return ((await client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? []).length;
}
