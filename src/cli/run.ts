import { randomBytes } from 'node:crypto';
import { LedgerClient } from '../clients/ledger';
import { ledgerOptionsOf } from '../config/ledgerOptions';
import type { WatcherConfig } from '../config/load';
import type { PassRequest, PassSummary } from '../domain/types';
import { serverFromEnvironment } from '../temporal/connection';
import { buildWatcher } from '../workflows/buildWatcher';
import { Interrupt, type StopSignal } from './interrupt';
import { followPass } from './progress';
import { exitCodeFor, formatReport } from './report';
import { defaultDbFile, openSession, type Session } from './session';
import { formatStatus } from './status';
import { waitForVerdicts, type WaitOutcome } from './wait';
import { WAIT_EXIT } from '../domain/waitVerdicts';
import { passStartMetadata } from './passMetadata';
import { checkRun, type CheckedRun } from './runRequest';

export interface RunOptions extends PassRequest {
  config: WatcherConfig;
  json?: boolean;
  workflowId?: string;
  out: (text: string) => void;
  /** Progress lines; stderr when stdout carries JSON. */
  log: (line: string) => void;
  /** The one line saying what became of an interrupted pass; stderr by default. */
  err?: (line: string) => void;
  /** SIGINT/SIGTERM handling; by default one listening on this process for as long as the run lasts. */
  interrupt?: Interrupt;
  /** `--wait`: after the pass, keep the worker until every job it triggered has its verdict (retries included), then print the matrix. */
  wait?: boolean;
  /** How often `--wait` asks the ledgers (default 1 s, or follow.pollEvery if shorter). */
  waitPollEveryMs?: number;
  /** The Runtime serves /metrics (`--metrics-port`): keep its state gauges fresh too. */
  metrics?: boolean;
  /** What `checkRun` returned for these options, when the caller checked before loading this module. */
  checked?: CheckedRun;
}

export interface RunOutcome {
  exitCode: number;
  summary?: PassSummary;
  /** With `wait`: what became of the triggered jobs. */
  waited?: WaitOutcome;
}

export function newPassWorkflowId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `osc-build-watcher-run-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** One pass now: the `run` command. */
export async function runPass(options: RunOptions): Promise<RunOutcome> {
  // The small input the workflow takes and the token, checked before anything starts (exit 2 on a typo).
  const { input, tokenLine } = options.checked ?? (await checkRun(options.config, options));

  const interrupt = options.interrupt ?? new Interrupt().install();
  try {
    return await startAndFollow(options, input, tokenLine, interrupt);
  } finally {
    if (!options.interrupt) interrupt.uninstall();
  }
}

/** Starts the pass and follows it to its report, or stops on SIGINT/SIGTERM. */
async function startAndFollow(options: RunOptions, input: PassRequest, tokenLine: string | undefined, interrupt: Interrupt): Promise<RunOutcome> {
  // On the first SIGINT/SIGTERM, one line says what becomes of the pass; what it says depends
  // on how far the run got (undefined: not known yet, said once it is).
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workflowId = options.workflowId ?? newPassWorkflowId();
  const interrupted = (): RunOutcome => ({ exitCode: interrupt.exitCode! });
  let announce: ((signal: StopSignal) => void) | undefined = (signal) => err(notStartedLine(signal, workflowId));
  interrupt.onFirst((signal) => announce?.(signal));

  if (!serverFromEnvironment()) options.log(`Starting the embedded Temporal dev server (history in ${defaultDbFile()})`);
  let session: Session;
  try {
    session = await openSession({ config: options.config, withWorker: true, ...(options.metrics ? { stateGauges: true } : {}) });
  } catch (error) {
    if (interrupt.signal) return interrupted();
    throw error;
  }
  interrupt.beforeExitNow(() => session.stopServerNow());
  try {
    if (interrupt.signal) return interrupted();
    options.log(`Temporal: ${session.origin}`);
    announce = undefined;
    let handle;
    try {
      handle = await session.client.workflow.start(buildWatcher, {
        workflowId,
        taskQueue: options.config.taskQueue,
        args: [input],
        ...passStartMetadata(options.config, input),
      });
    } catch (error) {
      if (!interrupt.signal) throw error;
      err(notStartedLine(interrupt.signal, workflowId));
      return interrupted();
    }
    announce = (signal) => err(stoppedLine(signal, workflowId, session, options.config));
    if (interrupt.signal) {
      announce(interrupt.signal);
      return interrupted();
    }
    options.log(`Started pass ${workflowId} on task queue ${options.config.taskQueue}`);

    const worker = session.worker!;
    // The SDK's Runtime also starts a shutdown on these signals; whichever comes first does it.
    interrupt.onFirst(() => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    });
    let waited: WaitOutcome | undefined;
    const passThenWait = async () => {
      const summary = await followPass({ client: session.client, handle, log: options.log, signal: interrupt.abort.signal });
      if (summary && options.wait && !interrupt.signal) {
        // The ledgers follow the jobs on this worker; their `matrix` query says when all have ended.
        waited = await waitForVerdicts({
          ledgers: new LedgerClient(session.client, ledgerOptionsOf(options.config)),
          summary,
          deadlineMs: options.config.follow.deadlineMs,
          pollEveryMs: options.waitPollEveryMs ?? Math.min(1000, options.config.follow.pollEveryMs),
          log: options.log,
          signal: interrupt.abort.signal,
        });
      }
      return summary;
    };
    const running = worker.runUntil(passThenWait(), { promiseCompletionTimeout: 5000 });
    let settled = false;
    running.then(
      () => (settled = true),
      () => (settled = true),
    );
    const stopped = interrupt.signalled.then(() => stopWaitingForDrain(session, options.config.shutdownGraceMs + 2000, () => settled));
    let summary: PassSummary | undefined;
    try {
      summary = await Promise.race([running, stopped]);
    } catch (error) {
      if (!interrupt.signal) throw error;
    }
    if (interrupt.signal) return interrupted();
    if (!summary) throw new Error(`pass ${workflowId}: followed without a summary`);
    announce = undefined;

    if (!options.wait) {
      if (options.json) options.out(`${JSON.stringify(summary, null, 2)}\n`);
      else options.out(formatReport(summary, { date: new Date(), namespace: session.namespace, ...(tokenLine ? { tokenLine } : {}) }));
      return { exitCode: exitCodeFor(summary), summary };
    }
    const outcome = waited ?? { state: 'deadline' as const, matrices: [] };
    if (options.json) {
      options.out(`${JSON.stringify({ ...summary, wait: { state: outcome.state, versions: outcome.matrices } }, null, 2)}\n`);
    } else {
      options.out(formatReport(summary, { date: new Date(), namespace: session.namespace, ...(tokenLine ? { tokenLine } : {}) }));
      options.out(`${formatStatus(outcome.matrices) || 'Nothing was triggered: no verdict to wait for'}\n\n${waitLine(outcome.state)}\n`);
    }
    return { exitCode: waitExitCode(exitCodeFor(summary), outcome.state), summary, waited: outcome };
  } finally {
    await session.close();
  }
}

/** `run --wait`'s exit status (README, "run --wait"): the pass's own failure counts as not green. */
export function waitExitCode(passExit: number, state: WaitOutcome['state']): number {
  if (state === 'deadline' || state === 'interrupted') return WAIT_EXIT.deadline;
  if (passExit !== 0 || state === 'not-green') return WAIT_EXIT.notGreen;
  return WAIT_EXIT.green;
}

function waitLine(state: WaitOutcome['state']): string {
  switch (state) {
    case 'green':
      return 'Every triggered job is green';
    case 'not-green':
      return 'Every triggered job has its verdict; some are not green';
    default:
      return 'follow.deadline passed before every triggered job had its verdict';
  }
}

function notStartedLine(signal: StopSignal, workflowId: string): string {
  return `Interrupted by ${signal} before pass ${workflowId} was started: nothing was started, nothing to resume`;
}

function stoppedLine(signal: StopSignal, workflowId: string, session: Session, config: WatcherConfig): string {
  const grace = `requests in flight get up to ${Math.round(config.shutdownGraceMs / 1000)} s; ${signal} again stops at once`;
  if (session.dbFile) {
    return `Interrupted by ${signal}: pass ${workflowId} stops here; its history stays in ${session.dbFile} and it resumes on the next run that uses that file (${grace})`;
  }
  return `Interrupted by ${signal}: pass ${workflowId} goes on on Temporal at ${session.address} (namespace ${session.namespace}): any worker on task queue ${config.taskQueue} continues it; osc-build-watcher summary ${workflowId} shows it (${grace})`;
}

/**
 * After a signal: resolves (undefined) once waiting longer for the worker to drain is pointless,
 * when `maxMs` have passed or the server stopped answering (a Ctrl-C in a terminal reaches the
 * embedded server too). Activities left running are retried later, and a trigger's retry looks
 * for what its attempt created before it posts.
 */
async function stopWaitingForDrain(session: Session, maxMs: number, done: () => boolean): Promise<undefined> {
  const deadline = Date.now() + maxMs;
  let failures = 0;
  while (!done() && Date.now() < deadline && failures < 2) {
    const probeStart = Date.now();
    try {
      await session.client.withDeadline(Date.now() + 1000, () => session.client.connection.workflowService.getSystemInfo({}));
      failures = 0;
    } catch {
      failures += 1;
    }
    await sleep(Math.max(0, 500 - (Date.now() - probeStart)));
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
