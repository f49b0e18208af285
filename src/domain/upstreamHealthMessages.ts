import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { HealthAnswer, HealthState, PassHealthReport } from './upstreamHealth';

/** One pass's report: which upstreams answered. Answers with the counts of passes in a row each was down. */
export const recordPassUpdate = defineUpdate<HealthAnswer, [PassHealthReport]>('recordPass');
/** The counts and the last passes' answers. */
export const healthQuery = defineQuery<HealthState>('health');
