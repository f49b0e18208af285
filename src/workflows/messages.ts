import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PassSummary, VersionResult } from '../domain/types';

/** The pass as it stands: answers while running and after it finished. */
export const summaryQuery = defineQuery<PassSummary>('summary');
/** A child's progress, pushed to its pass so `summary` is live. */
export const versionUpdateSignal = defineSignal<[VersionResult]>('versionUpdate');
/** One version's state, on its own child workflow. */
export const versionSummaryQuery = defineQuery<VersionResult>('versionSummary');
