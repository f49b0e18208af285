import { PassRequestError } from '../domain/passRequest';
import type { JobSpec, LegacyPassInput, PassPlan, PassRequest, VersionSpec } from '../domain/types';
import type { WatcherConfig } from './load';

/**
 * A pass's small input resolved against this configuration (or the versions discovered from
 * the release controller): the worker does this once, at the start of the pass (an activity),
 * so a changed configuration takes effect at the next pass and history records what was used.
 * Unknown versions or jobs are a PassRequestError.
 */
export function resolvePassPlan(config: WatcherConfig, request: PassRequest = {}, discovered?: { versions: VersionSpec[]; skipped: string[] }): PassPlan {
  const watched = discovered?.versions ?? config.versions;
  return {
    versions: applySelection(watched, request),
    settings: {
      dedupPolicy: config.dedupPolicy,
      recentSuccessWindowHours: config.recentSuccessWindowHours,
      labelPrefix: config.labelPrefix,
      dryRun: request.dryRun ?? false,
      retry: config.retry,
      triggerHeartbeatTimeoutMs: config.trigger.heartbeatTimeoutMs,
      concurrency: config.gangway.concurrency,
      ...(config.trigger.attemptTimeoutMs !== undefined ? { triggerAttemptTimeoutMs: config.trigger.attemptTimeoutMs } : {}),
      ...(config.payloads?.mode === 'every' ? { payloads: { mode: 'every' as const, maxPerPass: config.payloads.maxPerPass } } : {}),
    },
    configSource: config.source,
    ...(discovered && config.discover
      ? { discovered: { ...config.discover, versions: discovered.versions.map((v) => v.version), skipped: discovered.skipped } }
      : {}),
  };
}

/**
 * `versions` and `jobs` of a request applied to a version list (the configured one, or a
 * discovered one). A job is a short or full name of a job in any of the versions; each version
 * keeps its own jobs that match, in the order asked for. A version left with no job is dropped.
 */
export function applySelection(versions: VersionSpec[], selection: PassRequest = {}): VersionSpec[] {
  const chosen = selection.versions
    ? selection.versions.map((v) => {
        const found = versions.find((c) => c.version === v);
        if (!found) throw new PassRequestError(`versions: "${v}" is not a watched version (${versions.map((c) => c.version).join(', ') || 'none'})`);
        return found;
      })
    : versions;
  const wanted = selection.jobs;
  if (!wanted) return chosen;
  const matches = (job: JobSpec, j: string) => job.name === j || job.shortName === j;
  for (const j of wanted) {
    if (!versions.some((v) => v.jobs.some((job) => matches(job, j)))) {
      const known = [...new Set(versions.flatMap((v) => v.jobs.map((job) => job.shortName)))];
      throw new PassRequestError(`jobs: "${j}" is not a configured job (${known.join(', ')})`);
    }
  }
  // In the order asked for, as before there were per-version lists.
  const pick = (jobs: JobSpec[]) => [...new Set(wanted.flatMap((j) => jobs.filter((job) => matches(job, j))))];
  const narrowed = chosen.map((v) => ({ ...v, jobs: pick(v.jobs) })).filter((v) => v.jobs.length > 0);
  if (narrowed.length === 0) {
    throw new PassRequestError(`jobs: ${wanted.join(', ')} is configured for none of ${chosen.map((v) => v.version).join(', ')}`);
  }
  return narrowed;
}

/**
 * The whole-configuration input that passes took before `PassRequest`; only the tests that
 * prove such passes still finish use it.
 */
export function legacyPassInput(config: WatcherConfig, request: PassRequest = {}): LegacyPassInput {
  const plan = resolvePassPlan(config, request);
  return {
    versions: plan.versions.map((v) => ({ version: v.version, stream: v.stream })),
    jobs: plan.versions[0]?.jobs ?? [],
    dedupPolicy: plan.settings.dedupPolicy,
    recentSuccessWindowHours: plan.settings.recentSuccessWindowHours,
    labelPrefix: plan.settings.labelPrefix,
    dryRun: plan.settings.dryRun,
    retry: plan.settings.retry,
    triggerHeartbeatTimeoutMs: plan.settings.triggerHeartbeatTimeoutMs,
  };
}
