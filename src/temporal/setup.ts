import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/searchAttributes';
import { awaitSearchAttributesUsable, type UsableOptions } from './searchAttributeProbe';

// Proto enum values of IndexedValueType, and the names the temporal CLI uses for them.
const INDEXED_TYPE = { KEYWORD: 2, KEYWORD_LIST: 7 } as const;
const CLI_TYPE_NAME = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' } as const;

export function cliTypeName(key: (typeof ALL_SEARCH_ATTRIBUTES)[number]): string {
  return CLI_TYPE_NAME[key.type as keyof typeof CLI_TYPE_NAME];
}

/**
 * The workflows set these attributes at start; a server without them would fail every pass.
 * Registers what is missing, or says exactly which command an operator must run; then waits
 * until the server accepts them (a fresh registration takes seconds: searchAttributeProbe.ts).
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, usable: UsableOptions = {}): Promise<string[]> {
  const added = await registerSearchAttributes(connection, namespace);
  await awaitSearchAttributesUsable(connection, namespace, usable);
  return added;
}

async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !known.has(k.name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type as keyof typeof INDEXED_TYPE]])),
    });
  } catch (err) {
    const commands = missing
      .map((k) => `temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${cliTypeName(k)}`)
      .join('; ');
    throw new Error(`search attributes ${missing.map((k) => k.name).join(', ')} are missing and could not be created (${(err as Error).message.split('\n')[0]}); run: ${commands}`);
  }
  return missing.map((k) => k.name);
}

/**
 * The dev server keeps closed workflows for 24 h, but a nightly can stay the newest Accepted
 * one for days: the trigger records must outlive it (nightlies expire after 14 days).
 */
export async function ensureRetention(connection: Connection, namespace: string, days: number): Promise<void> {
  await connection.workflowService.updateNamespace({
    namespace,
    config: { workflowExecutionRetentionTtl: msToTs(days * 86_400_000) },
  });
}
