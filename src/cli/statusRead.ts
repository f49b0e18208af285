import type { Client } from '@temporalio/client';
import type { LedgerClient } from '../clients/ledger';
import { compareVersions, type WatcherConfig } from '../config/load';
import { LEDGER_WORKFLOW_TYPE, ledgerWorkflowId, type LedgerMatrix } from '../domain/ledger';
import { UsageError } from './errors';

// What `status` shows and `serve` renders, read the one way: each version's ledger answers its
// `matrix` query. Visibility only lists ledgers when versions are discovered.

export interface StatusOptions {
  version?: string;
  payload?: string;
}

export interface StatusReport {
  /** Per version, newest payload first: the `status --json` shape is `{versions}`. */
  versions: LedgerMatrix[];
  /** Versions that have no ledger yet (shown as an empty matrix in `versions`). */
  withoutLedger: Set<string>;
}

export async function readStatus(
  config: WatcherConfig,
  ledgers: LedgerClient,
  listLedgers: () => Promise<string[]>,
  opts: StatusOptions = {},
): Promise<StatusReport> {
  const versions = opts.version !== undefined ? [opts.version] : await versionsFor(config, opts.payload, listLedgers);
  const matrices: LedgerMatrix[] = [];
  const withoutLedger = new Set<string>();
  for (const version of versions) {
    const matrix = await ledgers.matrix(version);
    if (!matrix) withoutLedger.add(version);
    matrices.push(matrix ?? emptyMatrix(version));
  }
  return { versions: opts.payload === undefined ? matrices : onlyPayload(matrices, opts.payload), withoutLedger };
}

/** The running ledgers of this deployment (their IDs carry its task queue), by version. */
export async function listLedgerVersions(client: Client, taskQueue: string): Promise<string[]> {
  const versions: string[] = [];
  const query = `WorkflowType = '${LEDGER_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  const prefix = ledgerWorkflowId(taskQueue, '');
  for await (const w of client.workflow.list({ query })) {
    const version = w.workflowId.startsWith(prefix) ? w.workflowId.slice(prefix.length) : '';
    if (/^\d+\.\d+$/.test(version) && !versions.includes(version)) versions.push(version);
  }
  return versions.sort(compareVersions);
}

/** Without --version: the configured versions, or the one a payload's name belongs to, or (discover) those with a ledger. */
async function versionsFor(config: WatcherConfig, payload: string | undefined, listLedgers: () => Promise<string[]>): Promise<string[]> {
  const watched = config.versions.length > 0 ? config.versions.map((v) => v.version) : await listLedgers();
  const m = payload === undefined ? null : /^(\d+\.\d+)\./.exec(payload);
  if (m && watched.includes(m[1]!)) return [m[1]!];
  return watched;
}

function onlyPayload(matrices: LedgerMatrix[], payload: string): LedgerMatrix[] {
  const found = matrices
    .map((m) => ({ ...m, payloads: m.payloads.filter((p) => p.name === payload) }))
    .filter((m) => m.payloads.length > 0);
  if (found.length === 0) {
    const where = matrices.length === 1 ? `the ledger of OCP ${matrices[0]!.version}` : `any ledger (${matrices.map((m) => m.version).join(', ') || 'none'})`;
    const kept = matrices.length === 1 && matrices[0]!.payloads.length ? ` (kept: ${matrices[0]!.payloads.map((p) => p.name).join(', ')})` : '';
    throw new UsageError(`--payload: ${payload} is not in ${where}${kept}`);
  }
  return found;
}

function emptyMatrix(version: string): LedgerMatrix {
  return { version, paused: null, newestTriggered: null, payloads: [] };
}
