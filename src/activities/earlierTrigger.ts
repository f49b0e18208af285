import type { DeckProwJobReader } from '../clients/deck';
import { UpstreamError } from '../clients/errors';
import type { GangwayClient, JobExecution } from '../clients/gangway';

export interface EarlierTriggerQuery {
  jobName: string;
  /** Our trigger-key label, which every create carries. */
  label: { key: string; value: string };
  /** Executions created before this cannot be an earlier attempt's. */
  sinceMs: number;
}

export interface EarlierTriggerDeps {
  gangway: Pick<GangwayClient, 'listExecutions'>;
  deck: DeckProwJobReader;
  /** How long to wait for Deck to show an execution Gangway already lists. */
  deckLagToleranceMs: number;
  pollIntervalMs?: number;
  sleep: (ms: number) => Promise<void>;
  onDeckLag?: (ids: string[]) => void;
}

/**
 * Finds the execution an earlier attempt created for this trigger, if any.
 *
 * Gangway lists executions without labels; Deck shows labels but from a cache that lags.
 * So Gangway says which executions of the job exist since the first attempt, and Deck is
 * asked about each of those until it has seen them all: "not found" is only concluded
 * when every candidate is known to carry another key.
 */
export async function findEarlierTrigger(query: EarlierTriggerQuery, deps: EarlierTriggerDeps): Promise<JobExecution | undefined> {
  const executions = await deps.gangway.listExecutions(query.jobName);
  // Older Gangways leave create_time empty: such an execution could be anyone's, so it is checked.
  let unknown = executions.filter((e) => !e.create_time || !(Date.parse(e.create_time) < query.sinceMs));
  const deadline = Date.now() + deps.deckLagToleranceMs;
  for (;;) {
    const stillMissing: JobExecution[] = [];
    for (const execution of unknown) {
      const pj = await deps.deck.prowJobLabels(execution.id);
      if (pj.state === 'missing') stillMissing.push(execution);
      else if (pj.labels[query.label.key] === query.label.value) return execution;
    }
    if (stillMissing.length === 0) return undefined;
    const ids = stillMissing.map((e) => e.id);
    if (Date.now() >= deadline) {
      throw new UpstreamError(
        'deck',
        `cannot tell whether Gangway execution(s) ${ids.join(', ')} of ${query.jobName} belong to this trigger: Deck has not shown them within ${Math.round(deps.deckLagToleranceMs / 1000)} s`,
        true,
      );
    }
    deps.onDeckLag?.(ids);
    await deps.sleep(deps.pollIntervalMs ?? 2000);
    unknown = stillMissing;
  }
}
