import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Registered by the embedded dev server (src/temporal/devServer.ts); on any other server
// they must exist before the first pass (README, "Search attributes").
export const OCP_VERSION = defineSearchAttributeKey('OscOcpVersion', SearchAttributeType.KEYWORD_LIST);
export const PAYLOAD = defineSearchAttributeKey('OscPayload', SearchAttributeType.KEYWORD_LIST);
export const JOB = defineSearchAttributeKey('OscJob', SearchAttributeType.KEYWORD);
export const DECISION = defineSearchAttributeKey('OscDecision', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [OCP_VERSION, PAYLOAD, JOB, DECISION];
