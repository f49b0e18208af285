import { PassRequestError } from '../domain/passRequest';
import type { JobSpec, LegacyPassInput, PassPlan, PassRequest, VersionPlan } from '../domain/types';
import type { WatcherConfig } from './load';

/**
 * A pass's small input resolved against this configuration: the worker does this once, at
 * the start of the pass (an activity), so a changed configuration takes effect at the next
 * pass and history records what was used. Unknown versions or jobs are a PassRequestError.
 */
export function resolvePassPlan(config: WatcherConfig, request: PassRequest = {}): PassPlan {
  const watched = config.versions.map((v) => v.version);
  const versions = request.versions
    ? request.versions.map((v) => {
        const found = config.versions.find((c) => c.version === v);
        if (!found) throw new PassRequestError(`versions: "${v}" is not a watched version (${watched.join(', ')})`);
        return found;
      })
    : config.versions;
  const plans: VersionPlan[] = versions.map((v) => ({ version: v.version, stream: v.stream, jobs: jobsOf(config, v.version) }));
  if (request.jobs) {
    const known = new Set(plans.flatMap((p) => p.jobs.flatMap((j) => [j.name, j.shortName])));
    for (const j of request.jobs) {
      if (!known.has(j)) {
        const names = [...new Set(plans.flatMap((p) => p.jobs.map((job) => job.shortName)))];
        throw new PassRequestError(`jobs: "${j}" is not a configured job (${names.join(', ')})`);
      }
    }
    // In the order asked for, as the old selection did.
    for (const p of plans) {
      p.jobs = request.jobs.flatMap((wanted) => p.jobs.filter((job) => job.name === wanted || job.shortName === wanted));
    }
  }
  return {
    versions: plans,
    settings: {
      dedupPolicy: config.dedupPolicy,
      recentSuccessWindowHours: config.recentSuccessWindowHours,
      labelPrefix: config.labelPrefix,
      dryRun: request.dryRun ?? false,
      retry: config.retry,
      triggerHeartbeatTimeoutMs: config.trigger.heartbeatTimeoutMs,
      concurrency: config.gangway.concurrency,
    },
    configSource: config.source,
  };
}

function jobsOf(config: WatcherConfig, _version: string): JobSpec[] {
  return config.jobs;
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
