import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  ClaimRequest,
  ClaimResult,
  LedgerMatrix,
  PauseRequest,
  PauseResult,
  RecordAnswer,
  RecordResult,
  RecordTriggerRequest,
  RecordVerdictRequest,
  RetestRequest,
  RetestResult,
} from './ledger';

// The `versionLedger` workflow's Updates and queries (src/workflows/ledger.ts). Every Update has
// a validator: a bad request is rejected with one line before it enters history.

/** Grants the next attempt for (payload, job), or says why not. */
export const claimTriggerUpdate = defineUpdate<ClaimResult, [ClaimRequest]>('claimTrigger');
/** `claimTrigger` for several jobs of one payload at once (a pass asks once per version), answers in order. */
export const claimTriggersUpdate = defineUpdate<ClaimResult[], [ClaimRequest[]]>('claimTriggers');
/** A granted attempt's outcome: the execution Gangway created, or why the trigger gave up. */
export const recordTriggerUpdate = defineUpdate<RecordResult, [RecordTriggerRequest]>('recordTrigger');
/** `recordTrigger` for several attempts of one payload at once, answers in order. */
export const recordTriggersUpdate = defineUpdate<RecordAnswer[], [RecordTriggerRequest[]]>('recordTriggers');
/** What became of a posted attempt's ProwJob. */
export const recordVerdictUpdate = defineUpdate<RecordResult, [RecordVerdictRequest]>('recordVerdict');
export const pauseUpdate = defineUpdate<PauseResult, [PauseRequest]>('pause');
export const resumeUpdate = defineUpdate<PauseResult, []>('resume');
/** Lets the next claim for (payload, job) be granted once more. */
export const retestUpdate = defineUpdate<RetestResult, [RetestRequest]>('retest');

/** Payload × job, newest payload first, with each job's verdict and attempts. */
export const matrixQuery = defineQuery<LedgerMatrix>('matrix');
/** The newest payload this version ever triggered, or null. */
export const newestTriggeredQuery = defineQuery<string | null>('newestTriggered');
/** Since when an earlier try of (payload, job)'s latest trigger may have posted unrecorded (ISO time), or null. Args: payload, full job name. */
export const earlierTriesSinceQuery = defineQuery<string | null, [string, string]>('earlierTriesSince');
/** What `claimTriggers` would answer for these claims, changing nothing (a dry run's question). */
export const previewClaimsQuery = defineQuery<ClaimResult[], [ClaimRequest[]]>('previewClaims');
