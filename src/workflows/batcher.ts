/**
 * Gathers requests into batches for one call at a time: the first request is sent at once;
 * those that arrive while a call is in flight wait and go together in the next one (at most
 * `maxBatch` per call). Each caller gets its own answer. Deterministic in workflow code (order
 * of arrival, no timers).
 *
 * `send` answers a batch in order, one answer per request; when it throws, every request of
 * that batch gets `onError(err)`.
 */
export class Batcher<Req, Ans> {
  private queue: Array<{ request: Req; resolve: (answer: Ans) => void }> = [];
  private sending = false;

  constructor(
    private readonly send: (requests: Req[]) => Promise<Ans[]>,
    private readonly onError: (err: unknown) => Ans,
    /** At most this many requests in one call; the rest wait for the next. */
    private readonly maxBatch = Infinity,
  ) {}

  submit(request: Req): Promise<Ans> {
    return new Promise((resolve) => {
      this.queue.push({ request, resolve });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        let answers: Ans[];
        try {
          answers = await this.send(batch.map((b) => b.request));
          if (answers.length !== batch.length) throw new Error(`expected ${batch.length} answers, got ${answers.length}`);
        } catch (err) {
          answers = batch.map(() => this.onError(err));
        }
        batch.forEach((b, i) => b.resolve(answers[i]!));
      }
    } finally {
      this.sending = false;
    }
  }
}
