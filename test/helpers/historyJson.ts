// Recorded histories (test/histories, written by scripts/record-histories.ts, replayed by
// test/replay.unit.test.ts): their file format, JSON conversion, and the token check.
//
// historyToJSON/historyFromJSON are the SDK's (@temporalio/common/lib/proto-utils), run with the
// protobufjs copy that @temporalio/proto is built on. In this install npm gives @temporalio/common,
// /proto and /worker each their own nested protobufjs 8 (the root one is grpc's 7), so the SDK's
// helpers mix two copies and throw `type must be a Type`. The format is the same: that of
// `temporal workflow show --output json`. @temporalio/proto comes with @temporalio/common, pinned.
import path from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
}

const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export type History = proto.temporal.api.history.v1.IHistory;

/** One file in test/histories: a history, and what replay needs to know about it. */
export interface RecordedHistory {
  name: string;
  description: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  /** historyToJSON's output (the format of `temporal workflow show --output json`), parsed. */
  history: unknown;
}

export function historyToJSON(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

export function historyFromJSON(json: unknown): History {
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History | null;
  if (!history?.events?.length) throw new TypeError('not a workflow history');
  return history;
}

/** Every string of the JSON, as is and base64-decoded (payloads are base64 in history JSON). */
export function containsSecret(value: unknown, secret: string): boolean {
  if (typeof value === 'string') {
    if (value.includes(secret)) return true;
    return /^[A-Za-z0-9+/=_-]{8,}$/.test(value) && Buffer.from(value, 'base64').toString('utf8').includes(secret);
  }
  if (Array.isArray(value)) return value.some((v) => containsSecret(v, secret));
  if (value && typeof value === 'object') return Object.values(value).some((v) => containsSecret(v, secret));
  return false;
}
