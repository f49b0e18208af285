// The pass's workflow input: checked before anything else runs, so a bad input fails the
// workflow at once with the field named, instead of failing its workflow task forever.
// Pure: the workflow bundle imports it.
import type { LegacyPassInput, PassRequest } from './types';

/** The input (or a selection from it) is malformed, or names what the configuration lacks. */
export class PassRequestError extends Error {
  override name = 'PassRequestError';
}

const KEYS = ['versions', 'jobs', 'dryRun'] as const;
const VERSION = /^\d+\.\d+$/;

/** Passes started before `PassRequest` carried the whole resolved configuration. */
export function isLegacyPassInput(raw: unknown): raw is LegacyPassInput {
  if (!isObject(raw)) return false;
  return Array.isArray(raw.versions) && Array.isArray(raw.jobs) && 'retry' in raw && 'labelPrefix' in raw && 'dedupPolicy' in raw;
}

/**
 * Validates a pass input, like `{"versions":["4.21"],"dryRun":true}`; absent or null is `{}`.
 * Throws PassRequestError naming the first bad field.
 */
export function parsePassRequest(raw: unknown): PassRequest {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new PassRequestError(`input must be a JSON object like {"versions":["4.21"],"dryRun":true}, got ${describe(raw)}`);
  const unknown = Object.keys(raw).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new PassRequestError(`input: unknown key "${unknown[0]}" (allowed: ${KEYS.join(', ')})`);
  const request: PassRequest = {};
  if (raw.versions !== undefined) {
    const versions = stringList(raw.versions, 'versions');
    for (const v of versions) {
      if (!VERSION.test(v)) throw new PassRequestError(`versions: "${v}" is not an OCP version like "4.21"`);
    }
    request.versions = versions;
  }
  if (raw.jobs !== undefined) request.jobs = stringList(raw.jobs, 'jobs');
  if (raw.dryRun !== undefined) {
    if (typeof raw.dryRun !== 'boolean') throw new PassRequestError(`dryRun: must be true or false, got ${describe(raw.dryRun)}`);
    request.dryRun = raw.dryRun;
  }
  return request;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new PassRequestError(`${field}: must be a list of strings like ["4.21"], got ${describe(value)}`);
  if (value.length === 0) throw new PassRequestError(`${field}: must not be empty (leave it out to mean all)`);
  const seen = new Set<string>();
  for (const item of value) {
    if (typeof item !== 'string' || item.trim() === '') throw new PassRequestError(`${field}: every entry must be a non-empty string, got ${describe(item)}`);
    if (seen.has(item)) throw new PassRequestError(`${field}: "${item}" is listed twice`);
    seen.add(item);
  }
  return value as string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}
