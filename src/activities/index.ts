import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { DeckClient, DeckQuery } from '../clients/deck';
import type { GangwayClient } from '../clients/gangway';
import type { ReleaseControllerClient } from '../clients/releaseController';
import type { DeckSnapshot, Release, TriggerRecordState, TriggerRequest, TriggerResult } from '../domain/types';
import { asActivity } from './failures';

export interface ActivityDeps {
  releaseController: ReleaseControllerClient;
  deck: DeckClient;
  gangway: GangwayClient;
  deckFilter: { org: string; repo: string };
  /** Only used to look up trigger records during dry runs. */
  temporal: Client;
}

/** Thin wrappers: the clients do the work and classify failures; these only adapt to Temporal. */
export function createActivities(deps: ActivityDeps) {
  return {
    async findLatestAcceptedRelease(stream: string): Promise<Release> {
      return asActivity(() => deps.releaseController.latestAccepted(stream));
    },

    async fetchDeckRuns(query: Omit<DeckQuery, 'org' | 'repo'>): Promise<DeckSnapshot> {
      const snapshot = await asActivity(() => deps.deck.recentRuns({ ...query, ...deps.deckFilter }));
      log.info('Deck fetched', { scanned: snapshot.scanned, matched: snapshot.runs.length });
      return snapshot;
    },

    async triggerGangwayJob(request: TriggerRequest): Promise<TriggerResult> {
      const envs = request.job.payloadEnv ? { [request.job.payloadEnv]: request.release.pullSpec } : {};
      const created = await asActivity(() =>
        deps.gangway.createExecution({
          jobName: request.job.name,
          envs,
          labels: request.labels,
          annotations: request.annotations,
        }),
      );
      log.info('Gangway execution created', {
        job: request.job.name,
        payload: request.release.name,
        executionId: created.execution.id,
        httpStatus: created.httpStatus,
      });
      return {
        executionId: created.execution.id,
        httpStatus: created.httpStatus,
        ...(created.execution.job_status ? { jobStatus: created.execution.job_status } : {}),
      };
    },

    async lookupTriggerRecord(workflowId: string): Promise<TriggerRecordState> {
      try {
        const description = await deps.temporal.workflow.getHandle(workflowId).describe();
        const status = description.status.name;
        if (status === 'RUNNING') return 'running';
        if (status === 'COMPLETED') return 'completed';
        return 'failed';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'none';
        throw err;
      }
    },
  };
}

export type WatcherActivities = ReturnType<typeof createActivities>;
