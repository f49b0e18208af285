/**
 * A token bucket with reservations: `burst` requests may go at once, then one every
 * 60/perMinute seconds. Callers that find the bucket empty reserve a future slot, so
 * waiters leave in arrival order and a queue of waiters never bursts when it drains.
 *
 * One instance per worker process is shared by every activity of that process. The budget all
 * workers share is enforced by the Temporal server (the Gangway task queue, see worker.ts); this
 * bucket caps what one process sends at once, whatever the server hands it.
 */
export class RateLimiter {
  private tokens: number;
  private lastRefillMs: number;
  private readonly perMs: number;

  constructor(
    readonly perMinute: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perMinute > 0) || !(burst >= 1)) throw new RangeError(`rate limit needs perMinute > 0 and burst >= 1, got ${perMinute}/${burst}`);
    this.tokens = burst;
    this.lastRefillMs = now();
    this.perMs = perMinute / 60_000;
  }

  /** Takes a slot and says how many ms to wait for it (0: go now). */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.lastRefillMs) * this.perMs);
    this.lastRefillMs = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.perMs);
  }

  /**
   * Waits for a slot; `onWait` hears how long, so callers can log it. An abort of `signal`
   * (the activity cancelled, or its attempt out of time) ends the wait at once with the
   * signal's reason: the caller then sends nothing. The slot stays spent (never a burst).
   */
  async acquire(onWait?: (waitMs: number) => void, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    const waitMs = this.reserve();
    if (waitMs <= 0) return;
    onWait?.(waitMs);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
