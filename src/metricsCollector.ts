import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { LedgerClient } from './clients/ledger';
import { PassRecordClient, type CompletedPass } from './clients/passRecords';
import type { WatcherConfig } from './config/load';
import { MetricRecorder, notGreen, passSucceeded } from './domain/metrics';
import { nightlyTimeMs } from './domain/nightly';

/** How far back each refresh looks again for passes visibility showed late. */
const VISIBILITY_OVERLAP_MS = 5 * 60_000;

export interface StateGaugeOptions {
  client: Client;
  config: WatcherConfig;
  /** Where the gauges go (default: the Runtime's meter, which its Prometheus endpoint serves). */
  metrics?: MetricRecorder;
  now?: () => number;
  /** Hears a refresh that failed (the gauges keep their last values). */
  onError?: (error: unknown) => void;
}

/**
 * The gauges that describe the watcher's state rather than count events: the last successful
 * pass, the newest Accepted nightly per version, the payloads not green yet. They are read from
 * Temporal's durable state (the completed passes' results, the version ledgers' matrices) every
 * `metrics.refreshEvery`, not recorded when things happen: so every worker process reports the
 * same values, a restarted one reports them again at once (replay counts nothing, see
 * src/workflows/metrics.ts), and a pass another replica ran counts as well.
 */
export class StateGauges {
  private readonly passes: PassRecordClient;
  private readonly ledgers: LedgerClient;
  private readonly metrics: MetricRecorder;
  private readonly now: () => number;
  /** Close time of the newest completed pass read so far: the next refresh reads from a little before it. */
  private readUntilMs: number | undefined;
  /** The passes read within that overlap (run ID -> close time), so none is read twice. */
  private readonly read = new Map<string, number>();
  private lastSuccessMs: number | undefined;
  /** Per version: the newest Accepted nightly a completed pass found, and when that pass closed. */
  private readonly newestRelease = new Map<string, { name: string; closeTimeMs: number }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: StateGaugeOptions) {
    this.passes = new PassRecordClient(options.client, options.config.taskQueue);
    this.ledgers = new LedgerClient(options.client, { taskQueue: options.config.taskQueue, follow: options.config.follow });
    this.metrics = options.metrics ?? new MetricRecorder(Runtime.instance().metricMeter);
    this.now = options.now ?? Date.now;
  }

  /** Refreshes now, then every `metrics.refreshEvery`, until `stop`. */
  start(): this {
    const tick = () => {
      this.running ??= this.refresh()
        .catch((err) => {
          if (!this.stopped) this.options.onError?.(err);
        })
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.options.config.metrics.refreshEveryMs).unref();
    return this;
  }

  /**
   * No more refreshes. One under way is not waited for: a ledger query needs a worker, and the
   * worker may be gone already; closing the connection ends it, and its error is not reported.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One refresh: the passes completed since the last one, then every version's ledger. */
  async refresh(): Promise<void> {
    await this.readPasses();
    const nowMs = this.now();
    if (this.lastSuccessMs !== undefined) this.metrics.set('lastSuccessfulPass', {}, this.lastSuccessMs / 1000);
    for (const [version, release] of this.newestRelease) {
      const builtMs = nightlyTimeMs(release.name);
      if (builtMs !== undefined) this.metrics.set('newestAcceptedAge', { version }, Math.max(0, nowMs - builtMs) / 1000);
    }
    const versions = new Set([...this.options.config.versions.map((v) => v.version), ...this.newestRelease.keys()]);
    let failed: unknown;
    for (const version of versions) {
      try {
        const state = notGreen((await this.ledgers.matrix(version)) ?? { payloads: [] });
        this.metrics.set('payloadsNotGreen', { version }, state.count);
        this.metrics.set('oldestNotGreenAge', { version }, state.oldestFirstSeenMs === undefined ? 0 : Math.max(0, nowMs - state.oldestFirstSeenMs) / 1000);
      } catch (err) {
        // One ledger that does not answer (continuing as new, say) leaves the others' gauges fresh.
        failed ??= err;
      }
    }
    if (failed !== undefined) throw failed;
  }

  /**
   * Newest first, each pass's result read once. The first refresh reads back as far as it must:
   * until it has a successful pass and a release for every version it met, or to the end of
   * retention.
   */
  private async readPasses(): Promise<void> {
    const first = this.readUntilMs === undefined;
    // Visibility may show a pass a little after it closed: look back a few minutes each time.
    const from = first ? undefined : this.readUntilMs! - VISIBILITY_OVERLAP_MS;
    const fresh = (await this.passes.completedAfter(from)).filter((p) => !this.read.has(p.runId));
    const watched = this.options.config.versions.map((v) => v.version);
    let foundSuccess = false;
    for (const pass of fresh) {
      if (first && foundSuccess && watched.every((v) => this.newestRelease.has(v))) break;
      const summary = await this.passes.summary(pass);
      this.read.set(pass.runId, pass.closeTimeMs);
      if (!foundSuccess && passSucceeded(summary)) {
        foundSuccess = true;
        if (this.lastSuccessMs === undefined || pass.closeTimeMs > this.lastSuccessMs) this.lastSuccessMs = pass.closeTimeMs;
      }
      for (const v of summary.versions ?? []) if (v.release) this.noteRelease(v.version, v.release.name, pass);
    }
    if (fresh.length > 0) this.readUntilMs = Math.max(this.readUntilMs ?? 0, fresh[0]!.closeTimeMs);
    for (const [runId, closeMs] of this.read) if (closeMs < (this.readUntilMs ?? 0) - VISIBILITY_OVERLAP_MS) this.read.delete(runId);
  }

  private noteRelease(version: string, name: string, pass: CompletedPass): void {
    const known = this.newestRelease.get(version);
    if (!known || pass.closeTimeMs > known.closeTimeMs) this.newestRelease.set(version, { name, closeTimeMs: pass.closeTimeMs });
  }
}
