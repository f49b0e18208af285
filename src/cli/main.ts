#!/usr/bin/env node
import { Argument, Command, CommanderError } from 'commander';
import type { ScheduleSettings, WatcherConfig } from '../config/load';
import type { PassSummary } from '../domain/types';
import { registerConfigCommand } from './configCheck';
import { registerLedgerCommands } from './status';
import { UsageError } from './errors';
import { DEFAULT_SERVE_PORT, parsePort, SCHEDULE_ACTIONS, type ScheduleAction } from './options';
import type { Session } from './session';

// Startup loads only what defines the commands and parses their flags: each command loads what
// does its work (the configuration, the Temporal SDK, the worker, the dev server) when it runs,
// so `--help`, a bad flag or `config check` do not pay for @temporalio/worker and
// @temporalio/testing (0.7 s of CPU before; test/cli.test.ts and test/config.unit.test.ts start
// many of these).

const stdout = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const stderr = (line: string) => process.stderr.write(`${line}\n`);

function list(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError('expected a comma-separated list');
  return items;
}

/** `--metrics-port`: a TCP port, 1 to 65535. */
function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--metrics-port: expected a TCP port (1-65535), got "${value}"`);
  return n;
}

/** `schedule apply --every 10m`: polling, with a catch-up window of one interval at most. */
async function everyFromFlag(config: WatcherConfig, every: string): Promise<ScheduleSettings> {
  const { ConfigError, withScheduleEvery } = await import('../config/load');
  try {
    const polling = withScheduleEvery(config.schedule, every);
    return { ...polling, catchupWindowMs: Math.min(polling.catchupWindowMs, config.schedule.catchupWindowMs) };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--${err.message}`);
    throw err;
  }
}

async function configFrom(program: Command): Promise<WatcherConfig> {
  const opts = program.opts<{ config?: string }>();
  const { loadConfig } = await import('../config/load');
  return loadConfig(opts.config ? { configPath: opts.config } : {});
}

function metricsLine(port: number): string {
  return `Metrics: http://0.0.0.0:${port}/metrics (the SDK's and the watcher's)`;
}

export function buildProgram(): Command {
  const program = new Command('osc-build-watcher')
    .description('Triggers OSC test jobs for each new Accepted OCP nightly, once per payload, on Temporal')
    .option('-c, --config <path>', 'YAML configuration file (default: $WATCHER_CONFIG, else built-in defaults)')
    .showHelpAfterError(false)
    .exitOverride();

  program
    .command('run')
    .description('run one pass now (embedded Temporal dev server unless TEMPORAL_ADDRESS is set)')
    .option('--dry-run', 'discover and decide, but trigger nothing')
    .option('--json', 'print the final summary as JSON')
    .option('--versions <list>', 'only these OCP versions, e.g. 4.20,4.21', list)
    .option('--jobs <list>', 'only these jobs (suffix or full name), comma-separated', list)
    .option('--workflow-id <id>', 'workflow ID of the pass (default: generated)')
    .option('--wait', 'after the pass, wait for the verdicts of the jobs it triggered (retries included), then print the matrix; exit 0 all green, 1 some not green, 3 follow.deadline passed')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port while the run lasts (default: off)', port)
    .action(async (opts: { dryRun?: boolean; json?: boolean; versions?: string[]; jobs?: string[]; workflowId?: string; wait?: boolean; metricsPort?: number }) => {
      const config = await configFrom(program);
      const request = { ...(opts.versions ? { versions: opts.versions } : {}), ...(opts.jobs ? { jobs: opts.jobs } : {}), ...(opts.dryRun ? { dryRun: true } : {}) };
      // A typo or a missing token exits before the SDK is loaded (half a second of CPU).
      const checked = await (await import('./runRequest')).checkRun(config, request);
      const [{ installLogger }, { runPass }] = await Promise.all([import('./logging'), import('./run')]);
      installLogger('WARN', { metricsPort: opts.metricsPort });
      if (opts.metricsPort !== undefined) stderr(metricsLine(opts.metricsPort));
      const outcome = await runPass({
        config,
        ...request,
        checked,
        ...(opts.json ? { json: true } : {}),
        ...(opts.workflowId ? { workflowId: opts.workflowId } : {}),
        ...(opts.wait ? { wait: true } : {}),
        ...(opts.metricsPort !== undefined ? { metrics: true } : {}),
        out: stdout,
        log: opts.json ? stderr : stdout,
        err: stderr,
      });
      process.exitCode = outcome.exitCode;
    });

  program
    .command('worker')
    .description('run a long-lived worker (needs TEMPORAL_ADDRESS); stops gracefully on SIGTERM/SIGINT')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (default: metrics.port, else off)', port)
    .action(async (opts: { metricsPort?: number }) => {
      const config = await configFrom(program);
      const { serverFromEnvironment } = await import('../temporal/connection');
      if (!serverFromEnvironment()) throw new UsageError('worker needs a Temporal server: set TEMPORAL_ADDRESS (host:port)');
      const metricsPort = opts.metricsPort ?? config.metrics.port;
      const [{ installLogger }, { openSession }, { gangwayTaskQueue }] = await Promise.all([import('./logging'), import('./session'), import('../domain/taskQueues')]);
      installLogger('INFO', { metricsPort });
      if (metricsPort !== undefined) stderr(metricsLine(metricsPort));
      const session = await openSession({ config, withWorker: true, stateGauges: metricsPort !== undefined });
      let signals = 0;
      const onSignal = (signal: string) => {
        // The SDK starts a graceful shutdown on the first signal; a second one means "now".
        if (++signals > 1) {
          stderr(`Received ${signal} again: exiting without waiting for in-flight activities`);
          process.exit(130);
        }
        stderr(`Received ${signal}: finishing in-flight activities (up to ${config.shutdownGraceMs / 1000} s), then stopping; send it again to stop at once`);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      stderr(
        `Worker polling task queue ${config.taskQueue} and ${gangwayTaskQueue(config.taskQueue)} on ${session.origin} (namespace ${session.namespace}); ` +
          `Gangway requests: at most ${config.gangway.rateLimit.perMinute}/min for all workers of the queue`,
      );
      try {
        await session.worker!.run();
      } finally {
        await session.close();
      }
      stderr('Worker stopped');
    });

  program
    .command('schedule')
    .description(`manage the daily schedule: ${SCHEDULE_ACTIONS.join('|')} (needs TEMPORAL_ADDRESS)`)
    .addArgument(new Argument('<action>', 'what to do').choices(SCHEDULE_ACTIONS))
    .option('--note <text>', 'note for pause/unpause')
    .option('--start <iso>', 'backfill start time')
    .option('--end <iso>', 'backfill end time')
    .option('--every <duration>', 'apply/create: a pass every so often (e.g. 10m) instead of daily; as config schedule.every')
    .action(async (action: ScheduleAction, opts: { note?: string; start?: string; end?: string; every?: string }) => {
      let config = await configFrom(program);
      if (opts.every !== undefined) {
        if (action !== 'apply' && action !== 'create') throw new UsageError(`schedule ${action}: --every goes with apply or create`);
        config = { ...config, schedule: await everyFromFlag(config, opts.every) };
      }
      const { serverFromEnvironment } = await import('../temporal/connection');
      if (!serverFromEnvironment()) {
        throw new UsageError('schedule needs a long-running Temporal server: set TEMPORAL_ADDRESS (host:port)');
      }
      // Only the client runs here: no SDK logger to install, the worker SDK not loaded.
      const [{ openSession }, { scheduleCommand }] = await Promise.all([import('./session'), import('./schedule')]);
      const session = await openSession({ config, withWorker: false });
      try {
        await scheduleCommand(session.client, config, action, opts, stdout);
      } finally {
        await session.close();
      }
    });

  program
    .command('summary')
    .description("print a pass's summary (the `summary` query, or the result of a finished pass)")
    .argument('<workflow-id>', 'workflow ID of the pass')
    .option('--json', 'print JSON instead of the report')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const config = await configFrom(program);
      const [{ openClientSession }, { formatReport }] = await Promise.all([import('./session'), import('./report')]);
      const session = await openClientSession(config, false);
      try {
        const summary = await readSummary(session, workflowId);
        stdout(opts.json ? JSON.stringify(summary, null, 2) : formatReport(summary, { date: new Date(), namespace: session.namespace }));
      } finally {
        await session.close();
      }
    });

  program
    .command('serve')
    .description('serve the status page: payload × job per version (HTML at /, JSON at /api/status, /healthz)')
    .option('--port <port>', `port to listen on (0: any free one)`, parsePort, DEFAULT_SERVE_PORT)
    .option('--host <host>', 'address to listen on (0.0.0.0 in a container)', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => {
      const config = await configFrom(program);
      const { serve } = await import('./serve');
      await serve({ config, port: opts.port, host: opts.host, log: stderr });
    });

  registerConfigCommand(program, { out: stdout });
  registerLedgerCommands(program, { out: stdout, config: () => configFrom(program) });

  return program;
}

async function readSummary(session: Session, workflowId: string): Promise<PassSummary> {
  const [{ WorkflowNotFoundError }, { summaryQuery }] = await Promise.all([import('@temporalio/client'), import('../workflows/messages')]);
  const handle = session.client.workflow.getHandle(workflowId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no workflow ${workflowId} in namespace ${session.namespace}`);
    throw err;
  }
  if (status === 'COMPLETED') return (await handle.result()) as PassSummary;
  const ask = () => handle.query(summaryQuery);
  return session.worker ? session.worker.runUntil(ask()) : ask();
}

function rehearsalSkip(env: NodeJS.ProcessEnv): boolean {
  return (env.JOB_NAME ?? '').includes('rehearse');
}

export async function main(argv: string[]): Promise<number> {
  if (rehearsalSkip(process.env)) {
    stdout(`Rehearsal job detected (JOB_NAME=${process.env.JOB_NAME}), skipping build watcher`);
    return 0;
  }
  const program = buildProgram();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one-line message; help and version are not errors.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      stderr(`ERROR: ${err.message}`);
      return 2;
    }
    // The modules of these errors are loaded by now if one of them was thrown.
    const [{ TokenNotFoundError }, { ConfigError }, { PassRequestError }] = await Promise.all([
      import('../clients/errors'),
      import('../config/load'),
      import('../domain/passRequest'),
    ]);
    if (err instanceof TokenNotFoundError) {
      stderr(`ERROR: ${err.message}`);
      return 1;
    }
    if (err instanceof ConfigError || err instanceof PassRequestError) {
      stderr(`ERROR: ${err.message}`);
      return 2;
    }
    stderr(`ERROR: ${(err as Error)?.message?.split('\n')[0] ?? String(err)}`);
    return 1;
  }
}

/**
 * Exits once stdout and stderr are flushed: writes to a pipe are asynchronous in Node, and
 * `process.exit` right after a large `run --json` summary (hundreds of KB at 50 streams x 20
 * jobs) cut it short, leaving invalid JSON.
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

if (require.main === module) {
  main(process.argv).then(exitAfterFlush, (err) => {
    stderr(`ERROR: ${String(err)}`);
    exitAfterFlush(1);
  });
}
