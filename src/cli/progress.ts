import { setMaxListeners } from 'node:events';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { PassSummary } from '../domain/types';
import { summaryQuery, type buildWatcher } from '../workflows/buildWatcher';
import { jobLine } from './report';
import { collectPendingAttempts, UpstreamStatusPrinter } from './upstreamStatus';

/** Turns successive summaries into one line per new fact, for a live log of the pass. */
export class ProgressPrinter {
  private readonly seen = new Set<string>();

  constructor(private readonly write: (line: string) => void) {}

  update(summary: PassSummary): void {
    if (summary.deck.state === 'ok') this.once('deck', `Deck: ${summary.deck.matched} runs of the watched jobs among ${summary.deck.scanned} ProwJobs`);
    if (summary.deck.state === 'unavailable') this.once('deck', `Deck unavailable: ${summary.deck.reason}`);
    for (const v of summary.versions) {
      if (v.release) this.once(`${v.version}/release`, `[${v.version}] latest accepted release ${v.release.name}`);
      if (v.state === 'no-release' || v.state === 'error') this.once(`${v.version}/release`, `[${v.version}] no release: ${v.releaseError}`);
      for (const job of v.jobs) {
        if (job.decision !== 'pending') this.once(`${v.version}/${job.job}`, `[${v.version}] ${job.shortName}: ${jobLine(job, v.release?.name)}`);
      }
    }
  }

  private once(key: string, line: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.write(line);
  }
}

export interface FollowOptions {
  client: Client;
  handle: WorkflowHandle<typeof buildWatcher>;
  log: (line: string) => void;
  /** Aborted: stop following at once, and cancel the calls in flight. */
  signal: AbortSignal;
  /** How often the `summary` query is asked. */
  queryEveryMs?: number;
  /** How often the pass and its pending children are described, for upstreams being retried. */
  describeEveryMs?: number;
}

/**
 * Follows a pass: its summary as it grows, and a line for every retry of an upstream call.
 * Resolves with the final summary, or undefined once `signal` is aborted.
 */
export async function followPass(options: FollowOptions): Promise<PassSummary | undefined> {
  const { client, handle, signal } = options;
  const queryEveryMs = options.queryEveryMs ?? 500;
  const describeEveryMs = options.describeEveryMs ?? 2000;
  const progress = new ProgressPrinter(options.log);
  const upstream = new UpstreamStatusPrinter(options.log, handle.workflowId);
  const withSignal = <T>(fn: () => Promise<T>) => cancellable(client, signal, fn);
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

  const result = withSignal(() => handle.result());
  let finished = false;
  result.then(
    () => (finished = true),
    () => (finished = true),
  );
  let nextDescribeAt = Date.now() + describeEveryMs;
  while (!finished && !signal.aborted) {
    try {
      progress.update(await withSignal(() => handle.query(summaryQuery)));
    } catch {
      // The first query can race the first workflow task; the next poll will do.
    }
    if (!finished && !signal.aborted && Date.now() >= nextDescribeAt) {
      try {
        upstream.report(await withSignal(() => collectPendingAttempts(client, handle.workflowId)));
      } catch {
        // Only a progress line is lost.
      }
      nextDescribeAt = Date.now() + describeEveryMs;
    }
    await Promise.race([result.catch(() => undefined), sleep(queryEveryMs), aborted]);
  }
  if (signal.aborted) return undefined;
  const summary = await result;
  progress.update(summary);
  return summary;
}

/**
 * Runs `fn`'s client calls under a signal of their own, tied to `signal` only while `fn` runs:
 * the client adds an abort listener per call and never removes it, so calls made every half
 * second under one long-lived signal would pile listeners onto it.
 */
async function cancellable<T>(client: Client, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const own = new AbortController();
  setMaxListeners(0, own.signal); // one per call made by fn (a describe of every pending child)
  const forward = () => own.abort();
  if (signal.aborted) own.abort();
  else signal.addEventListener('abort', forward, { once: true });
  try {
    return await client.withAbortSignal(own.signal, fn);
  } finally {
    signal.removeEventListener('abort', forward);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
