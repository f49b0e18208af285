import type { DeckRun, DedupPolicy, JobSpec, Release } from './types';

const RUNNING_STATES = new Set(['scheduling', 'triggered', 'pending']);

export type DeckVerdict = { skip: true; reason: string } | { skip: false; reason: string };

/** Does this Deck run test exactly this payload? Our label, or the pinned env, says so. */
export function runTestsPayload(run: DeckRun, release: Release): boolean {
  return run.payloadLabel === release.name || run.payloadEnvValue === release.pullSpec;
}

/**
 * What Deck alone says about (job, payload). The durable Temporal record is checked
 * afterwards by the workflow; this only looks at runs Deck knows about.
 */
export function judgeFromDeck(
  job: JobSpec,
  release: Release,
  runs: DeckRun[] | undefined,
  policy: DedupPolicy,
  nowMs: number,
  windowHours: number,
): DeckVerdict {
  if (!runs) return { skip: false, reason: 'Deck unavailable; relying on the trigger record only' };
  const ofJob = runs.filter((r) => r.job === job.name);

  if (policy === 'recent-success') {
    const cutoff = nowMs - windowHours * 3600_000;
    const recent = ofJob.find(
      (r) => r.state === 'success' && Date.parse(r.completionTime ?? r.startTime ?? '') >= cutoff,
    );
    if (recent) return { skip: true, reason: `Deck run ${recent.id} succeeded in the last ${windowHours} h (any payload)` };
    return { skip: false, reason: `no successful run in the last ${windowHours} h` };
  }

  const samePayload = ofJob.filter((r) => runTestsPayload(r, release));
  const succeeded = samePayload.find((r) => r.state === 'success');
  if (succeeded) return { skip: true, reason: `Deck run ${succeeded.id} already succeeded with this payload` };
  const running = samePayload.find((r) => RUNNING_STATES.has(r.state));
  if (running) return { skip: true, reason: `Deck run ${running.id} is ${running.state} with this payload` };
  const failed = samePayload[0];
  if (failed) return { skip: false, reason: `Deck run ${failed.id} of this payload ended ${failed.state}` };
  return { skip: false, reason: 'no run of this payload on Deck' };
}
