import { executeChild, log, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { WatcherActivities } from '../../activities';
import { countTotals } from '../../domain/summary';
import type { DeckRun, DeckStatus, LegacyPassInput, PassSummary, VersionResult } from '../../domain/types';
import { summaryQuery, versionUpdateSignal } from '../messages';
import { toRetryPolicy } from '../retry';
import { OCP_VERSION, PAYLOAD } from '../../domain/searchAttributes';
import { failureDetail } from '../failures';
import { watchVersion } from './watchVersion';

import { versionWorkflowId } from '../ids';

/**
 * The pass as it was before the small input (issue 16) and the compact per-version facts
 * (issue 15): it took the whole resolved configuration and gave every child all of Deck's
 * runs. Kept so passes started with that input, and their recorded histories, still replay
 * and finish; `buildWatcher` sends such an input here. Do not change what it does.
 */
export async function legacyPass(input: LegacyPassInput): Promise<PassSummary> {
  const info = workflowInfo();
  const startedAtMs = Date.now();
  const versions: VersionResult[] = input.versions.map((v) => ({ version: v.version, stream: v.stream, state: 'pending', jobs: [] }));
  const finished = new Set<string>();
  let deck: DeckStatus = { state: 'pending' };
  let finishedAt: string | undefined;

  const summary = (): PassSummary => ({
    workflowId: info.workflowId,
    runId: info.runId,
    state: finishedAt ? 'done' : 'running',
    dryRun: input.dryRun,
    dedupPolicy: input.dedupPolicy,
    startedAt: new Date(startedAtMs).toISOString(),
    ...(finishedAt ? { finishedAt } : {}),
    deck,
    versions,
    totals: countTotals(versions),
  });
  setHandler(summaryQuery, summary);
  setHandler(versionUpdateSignal, (update) => {
    const i = versions.findIndex((v) => v.version === update.version);
    if (i >= 0 && !finished.has(update.version)) versions[i] = update;
  });
  upsertSearchAttributes([{ key: OCP_VERSION, value: input.versions.map((v) => v.version) }]);

  const { fetchDeckRuns } = proxyActivities<WatcherActivities>({
    startToCloseTimeout: '10m',
    retry: toRetryPolicy(input.retry),
  });
  let deckRuns: DeckRun[] | null = null;
  try {
    const snapshot = await fetchDeckRuns({ jobs: input.jobs, labelPrefix: input.labelPrefix });
    deckRuns = snapshot.runs;
    deck = { state: 'ok', fetchedAt: snapshot.fetchedAt, scanned: snapshot.scanned, matched: snapshot.runs.length };
  } catch (err) {
    // Without Deck we still have our own trigger records, which rule out our own duplicates.
    deck = { state: 'unavailable', reason: failureDetail(err).reason };
    log.warn('Deck unavailable; deciding from trigger records only', { reason: deck.reason });
  }

  const { versions: _omit, ...pass } = input;
  const results = await Promise.allSettled(
    input.versions.map((version) =>
      executeChild(watchVersion, {
        workflowId: versionWorkflowId(info.workflowId, version.version),
        args: [{ version, pass, deckRuns, passStartedAtMs: startedAtMs }],
        typedSearchAttributes: [{ key: OCP_VERSION, value: [version.version] }],
      }),
    ),
  );
  results.forEach((result, i) => {
    const v = versions[i];
    finished.add(v.version);
    if (result.status === 'fulfilled') versions[i] = result.value;
    else versions[i] = { ...v, state: 'error', releaseError: `watchVersion failed: ${failureDetail(result.reason).reason}`, jobs: v.jobs };
  });

  const payloads = versions.flatMap((v) => (v.release ? [v.release.name] : []));
  if (payloads.length) upsertSearchAttributes([{ key: PAYLOAD, value: payloads }]);
  finishedAt = new Date().toISOString();
  return summary();
}
