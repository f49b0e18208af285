import { randomBytes } from 'node:crypto';
import { readGangwayToken } from '../clients/gangwayToken';
import type { WatcherConfig } from '../config/load';
import { resolvePassPlan } from '../config/plan';
import { PassRequestError } from '../domain/passRequest';
import type { PassRequest } from '../domain/types';
import type { PassSummary } from '../domain/types';
import { buildWatcher, summaryQuery } from '../workflows/buildWatcher';
import { ProgressPrinter } from './progress';
import { exitCodeFor, formatReport } from './report';
import { openSession } from './session';

export interface RunOptions extends PassRequest {
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
  // The small input the workflow takes; checked here too, so a typo exits 2 before anything starts.
  const input: PassRequest = {
    ...(options.versions ? { versions: options.versions } : {}),
    ...(options.jobs ? { jobs: options.jobs } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  };
  try {
    // With `ocpVersions: discover` the versions are known only to the worker, at the pass's start.
    if (!options.config.discover || options.config.versions.length > 0) resolvePassPlan(options.config, input);
  } catch (err) {
    // Named as the user typed them: `--versions`, `--jobs`.
    if (err instanceof PassRequestError) throw new PassRequestError(`--${err.message}`);
    throw err;
  }
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
    const progress = new ProgressPrinter(options.log);
    const watch = async (): Promise<PassSummary> => {
      const result = handle.result();
      let finished = false;
      result.then(
        () => (finished = true),
        () => (finished = true),
      );
      while (!finished) {
        try {
          progress.update(await handle.query(summaryQuery));
        } catch {
          // The first query can race the first workflow task; the next poll will do.
        }
        await Promise.race([result.catch(() => undefined), sleep(500)]);
      }
      return result;
    };
    const summary = await session.worker!.runUntil(watch());
    progress.update(summary);
    if (options.json) options.out(`${JSON.stringify(summary, null, 2)}\n`);
    else options.out(formatReport(summary, { date: new Date(), namespace: session.namespace, ...(tokenLine ? { tokenLine } : {}) }));
    return { exitCode: exitCodeFor(summary), summary };
  } finally {
    await session.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
