import type { DeckRun, DedupPolicy, JobSpec, Release } from './types';


const RUNNING_STATES = new Set(['scheduling', 'triggered', 'pending']);

/** `runId`: the Deck run (= Gangway execution) that made the skip. */
export type DeckVerdict = { skip: true; reason: string; runId?: string } | { skip: false; reason: string };

/** The common case, sent as null in the compact verdicts (`judgeAll`). */
const NO_RUN: DeckVerdict = { skip: false, reason: 'no run of this payload on Deck' };
const DECK_UNAVAILABLE: DeckVerdict = { skip: false, reason: 'Deck unavailable; relying on the trigger record only' };

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
  if (!runs) return DECK_UNAVAILABLE;
  const ofJob = runs.filter((r) => r.job === job.name);

  if (policy === 'recent-success') {
    const cutoff = nowMs - windowHours * 3600_000;
    const recent = ofJob.find(
      (r) => r.state === 'success' && Date.parse(r.completionTime ?? r.startTime ?? '') >= cutoff,
    );
    if (recent) return { skip: true, reason: `Deck run ${recent.id} succeeded in the last ${windowHours} h (any payload)`, runId: recent.id };
    return { skip: false, reason: `no successful run in the last ${windowHours} h` };
  }

  const samePayload = ofJob.filter((r) => runTestsPayload(r, release));
  const succeeded = samePayload.find((r) => r.state === 'success');
  if (succeeded) return { skip: true, reason: `Deck run ${succeeded.id} already succeeded with this payload`, runId: succeeded.id };
  const running = samePayload.find((r) => RUNNING_STATES.has(r.state));
  if (running) return { skip: true, reason: `Deck run ${running.id} is ${running.state} with this payload`, runId: running.id };
  const failed = samePayload[0];
  if (failed) return { skip: false, reason: `Deck run ${failed.id} of this payload ended ${failed.state}` };
  return NO_RUN;
}

/** One version's (job, payload) pairs, as the pass asks Deck about them. */
export interface DeckQuestion {
  version: string;
  /** Where its verdicts go in the answer; default `version` (one payload per version). */
  key?: string;
  release: Release;
  jobs: JobSpec[];
}

/**
 * Deck's verdict for every asked pair, in the order of each version's jobs; null for "no run
 * of this payload on Deck", the common case. This, not Deck's runs, is what enters history:
 * it grows with versions x jobs, never with Deck.
 */
export type DeckVerdicts = Record<string, Array<DeckVerdict | null>>;

export function judgeAll(
  questions: DeckQuestion[],
  runs: DeckRun[],
  policy: DedupPolicy,
  nowMs: number,
  windowHours: number,
): DeckVerdicts {
  const byJob = new Map<string, DeckRun[]>();
  for (const run of runs) {
    const list = byJob.get(run.job);
    if (list) list.push(run);
    else byJob.set(run.job, [run]);
  }
  const verdicts: DeckVerdicts = {};
  for (const q of questions) {
    verdicts[q.key ?? q.version] = q.jobs.map((job) => {
      const verdict = judgeFromDeck(job, q.release, byJob.get(job.name) ?? [], policy, nowMs, windowHours);
      return verdict === NO_RUN ? null : verdict;
    });
  }
  return verdicts;
}

/** A pair's verdict from the compact form; undefined verdicts mean Deck was not available. */
export function verdictAt(verdicts: Array<DeckVerdict | null> | undefined, index: number): DeckVerdict {
  if (!verdicts) return DECK_UNAVAILABLE;
  return verdicts[index] ?? NO_RUN;
}
