import { randomBytes } from 'node:crypto';
import { readGangwayToken } from '../clients/gangwayToken';
import { toPassInput, type PassSelection, type WatcherConfig } from '../config/load';
import type { PassSummary } from '../domain/types';
import { buildWatcher } from '../workflows/buildWatcher';
import { followPass } from './progress';
import { exitCodeFor, formatReport } from './report';
import { openSession } from './session';

export interface RunOptions extends PassSelection {
  config: WatcherConfig;
  json?: boolean;
  workflowId?: string;
  out: (text: string) => void;
  /** Progress lines; stderr when stdout carries JSON. */
  log: (line: string) => void;
}

export interface RunOutcome {
  exitCode: number;
  summary?: PassSummary;
}

export function newPassWorkflowId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `osc-build-watcher-run-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** One pass now: the `run` command. */
export async function runPass(options: RunOptions): Promise<RunOutcome> {
  const input = toPassInput(options.config, options);
  let tokenLine: string | undefined;
  if (!input.dryRun) {
    // Checked before anything starts, so a missing secret triggers nothing at all
    // (TokenNotFoundError reaches the caller, which prints the bash step's ERROR line).
    await readGangwayToken(options.config.gangway.tokenFile);
    tokenLine = '✓ Gangway API token loaded';
  }

  const session = await openSession({ config: options.config, withWorker: true });
  try {
    options.log(`Temporal: ${session.origin}`);
    const workflowId = options.workflowId ?? newPassWorkflowId();
    const handle = await session.client.workflow.start(buildWatcher, {
      workflowId,
      taskQueue: options.config.taskQueue,
      args: [input],
    });
    options.log(`Started pass ${workflowId} on task queue ${options.config.taskQueue}`);
    const summary = await session.worker!.runUntil(
      followPass({ client: session.client, handle, log: options.log, signal: new AbortController().signal }),
    );
    if (!summary) throw new Error(`pass ${workflowId}: followed without a summary`);
    if (options.json) options.out(`${JSON.stringify(summary, null, 2)}\n`);
    else options.out(formatReport(summary, { date: new Date(), namespace: session.namespace, ...(tokenLine ? { tokenLine } : {}) }));
    return { exitCode: exitCodeFor(summary), summary };
  } finally {
    await session.close();
  }
}
