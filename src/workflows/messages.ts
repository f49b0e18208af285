import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JobOutcome, PassSummary, VersionResult } from '../domain/types';

/** The pass as it stands: answers while running and after it finished. */
export const summaryQuery = defineQuery<PassSummary>('summary');

/**
 * A version child's progress: only the jobs whose outcome changed since its last report, sent
 * at most every few seconds, so the pass's history grows with jobs, not jobs squared.
 */
export interface VersionProgress {
  version: string;
  jobs: JobOutcome[];
}
export const versionProgressSignal = defineSignal<[VersionProgress]>('versionProgress');

/** The whole version state after each job: sent only by the children of `legacyPass`. */
export const versionUpdateSignal = defineSignal<[VersionResult]>('versionUpdate');
