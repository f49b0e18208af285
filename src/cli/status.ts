import type { Command } from 'commander';
import type { LedgerClient } from '../clients/ledger';
import type { WatcherConfig } from '../config/load';
import { type LedgerMatrix, type MatrixAttempt, type MatrixJob, type PausedRecord } from '../domain/ledger';
import { attemptsText } from '../domain/matrixView';
import type { JobSpec } from '../domain/types';
import { UsageError } from './errors';

// The operator's commands on the per-version ledgers (src/workflows/ledger.ts):
//   status [--version V] [--payload NAME] [--json]
//   pause --version V [--note TEXT] | resume --version V | retest --version V --job J [--payload NAME]
// Like `summary`, they use TEMPORAL_ADDRESS, or the embedded dev server with a worker beside it.
// A version that is not watched, a job that is not configured for it, or a request the ledger's
// validator refuses is a UsageError: one line, exit 2.
// What does the work (the configuration, the Temporal SDK, a session) is loaded when a command
// runs, so that registering these commands costs the CLI's start nothing.

export interface LedgerCommandIo {
  out: (text: string) => void;
  config: () => Promise<WatcherConfig>;
}

export function registerLedgerCommands(program: Command, io: LedgerCommandIo): void {
  program
    .command('status')
    .description("each version's ledger: payload × job with verdict, attempts, executions (newest payload first)")
    .option('--version <version>', 'only this OCP version, e.g. 4.21')
    .option('--payload <name>', 'only this payload')
    .option('--json', 'print {"versions":[matrix, …]}')
    .action(async (opts: { version?: string; payload?: string; json?: boolean }) => {
      const config = await io.config();
      if (opts.version !== undefined) await checkVersion(config, opts.version);
      await withLedgers(config, false, async (ledgers, listLedgers) => {
        const { readStatus } = await import('./statusRead');
        const report = await readStatus(config, ledgers, listLedgers, opts);
        io.out(opts.json ? JSON.stringify({ versions: report.versions }, null, 2) : formatStatus(report.versions, report.withoutLedger));
      });
    });

  program
    .command('pause')
    .description('pause a version: its ledger grants no trigger until resume')
    .requiredOption('--version <version>', 'OCP version, e.g. 4.21')
    .option('--note <text>', 'why (shown by status)')
    .action(async (opts: { version: string; note?: string }) => {
      const config = await io.config();
      await checkVersion(config, opts.version);
      await withLedgers(config, true, async (ledgers) => {
        const result = await ledgers.pause(opts.version, opts.note);
        const paused = result.paused!;
        io.out(
          result.changed
            ? `Paused OCP ${opts.version}${paused.note ? ` (${paused.note})` : ''}: no trigger is granted until \`osc-build-watcher resume --version ${opts.version}\``
            : `OCP ${opts.version} was already paused ${describePaused(paused)}`,
        );
      });
    });

  program
    .command('resume')
    .description('resume a paused version')
    .requiredOption('--version <version>', 'OCP version, e.g. 4.21')
    .action(async (opts: { version: string }) => {
      const config = await io.config();
      await checkVersion(config, opts.version);
      await withLedgers(config, false, async (ledgers) => {
        const result = await ledgers.resume(opts.version);
        io.out(result.changed ? `Resumed OCP ${opts.version}: triggers are granted again` : `OCP ${opts.version} was not paused`);
      });
    });

  program
    .command('retest')
    .description('trigger a job again now for a payload (one more attempt, beyond retrigger.maxRetries, exactly once)')
    .requiredOption('--version <version>', 'OCP version, e.g. 4.21')
    .requiredOption('--job <job>', 'short or full job name')
    .option('--payload <name>', "the payload (default: the ledger's newest)")
    .option('--note <text>', 'why (shown by status)')
    .action(async (opts: { version: string; job: string; payload?: string; note?: string }) => {
      const config = await io.config();
      await checkVersion(config, opts.version);
      const job = await configuredJob(config, opts.version, opts.job);
      await withLedgers(config, false, async (ledgers) => {
        const r = await ledgers.retest(opts.version, {
          job: { name: job.name, shortName: job.shortName },
          ...(opts.payload !== undefined ? { payload: opts.payload } : {}),
          ...(opts.note !== undefined ? { note: opts.note } : {}),
        });
        const when = [
          r.waitingFor ? `once attempt ${r.waitingFor.attempt}, in progress, is recorded` : '',
          r.paused ? `after \`osc-build-watcher resume --version ${opts.version}\` (paused ${describePaused(r.paused)})` : '',
        ].filter(Boolean);
        io.out(
          `${r.changed ? 'Retest requested' : 'Retest already requested'}: ${r.shortName} for ${r.payload}; the ledger starts attempt ${r.nextAttempt}` +
            (when.length ? ` ${when.join(' and ')}` : ' now') +
            `; \`osc-build-watcher status --version ${opts.version}\` follows it`,
        );
      });
    });
}

/** A session, a LedgerClient, and (embedded server only) a worker to answer the ledger's queries and Updates. */
async function withLedgers(
  config: WatcherConfig,
  startsLedger: boolean,
  work: (ledgers: LedgerClient, listLedgers: () => Promise<string[]>) => Promise<void>,
): Promise<void> {
  const [{ LedgerClient, LedgerRejectedError }, { ledgerOptionsOf }, { openClientSession }, { listLedgerVersions }] = await Promise.all([
    import('../clients/ledger'),
    import('../config/ledgerOptions'),
    import('./session'),
    import('./statusRead'),
  ]);
  // Starting a ledger sets its search attribute, which must be registered first.
  const session = await openClientSession(config, startsLedger);
  try {
    const ledgers = new LedgerClient(session.client, ledgerOptionsOf(config));
    const listLedgers = () => listLedgerVersions(session.client, config.taskQueue);
    const run = async () => {
      try {
        await work(ledgers, listLedgers);
      } catch (err) {
        if (err instanceof LedgerRejectedError) throw new UsageError(err.message);
        throw err;
      }
    };
    await (session.worker ? session.worker.runUntil(run()) : run());
  } finally {
    await session.close();
  }
}

/** A watched version: listed (or OCP_VERSIONS), or, with `ocpVersions: discover`, within discover.min..max. */
export async function checkVersion(config: WatcherConfig, version: string): Promise<void> {
  if (!/^\d+\.\d+$/.test(version)) throw new UsageError(`--version: "${version}" is not an OCP version like 4.21`);
  if (config.versions.length > 0) {
    if (!config.versions.some((v) => v.version === version)) {
      throw new UsageError(`--version: ${version} is not a watched version (${config.versions.map((v) => v.version).join(', ')})`);
    }
    return;
  }
  const rule = config.discover;
  const { compareVersions } = await import('../config/load');
  if (rule && compareVersions(version, rule.min) >= 0 && (rule.max === undefined || compareVersions(version, rule.max) <= 0)) return;
  const range = rule ? `discovered from ${rule.min}${rule.max ? ` to ${rule.max}` : ''}` : 'none';
  throw new UsageError(`--version: ${version} is not a watched version (${range})`);
}

async function configuredJob(config: WatcherConfig, version: string, wanted: string): Promise<JobSpec> {
  const { jobsForVersion } = await import('../config/load');
  const jobs = config.versions.find((v) => v.version === version)?.jobs ?? jobsForVersion(config, version);
  const job = jobs.find((j) => j.name === wanted || j.shortName === wanted);
  if (!job) throw new UsageError(`--job: ${wanted} is not a job of OCP ${version} (${jobs.map((j) => j.shortName).join(', ')})`);
  return job;
}

export function describePaused(p: PausedRecord): string {
  return `since ${p.at}${p.note ? ` (${p.note})` : ''}`;
}

/** One attempt in a line: execution, Prow URL, when it ended, the next look, or why it gave up. */
export function attemptDetail(a: MatrixAttempt): string {
  if (a.state === 'triggering') return 'claimed, trigger in progress';
  if (a.state === 'failed-to-trigger') return a.reason ?? 'failed to trigger';
  const ended = a.finishedAt && ['success', 'failure', 'aborted', 'error'].includes(a.state) ? `ended ${a.finishedAt}` : '';
  // Follow-through: when the ProwJob is looked at next, or why it gave up (`unknown`).
  const next = a.following ? `next look ${a.following.nextPollAt}${a.following.lastSeen ? ` (last: ${a.following.lastSeen})` : ''}` : '';
  const gaveUp = a.state === 'unknown' && a.reason ? a.reason : '';
  return [a.executionId ? `execution ${a.executionId}` : '', a.url ?? '', ended, next, gaveUp].filter(Boolean).join('  ');
}

/** The ledgers as text: per version, payload × job, newest payload first. */
export function formatStatus(matrices: LedgerMatrix[], withoutLedger: ReadonlySet<string> = new Set()): string {
  const lines: string[] = [];
  for (const m of matrices) {
    if (withoutLedger.has(m.version)) {
      lines.push(`OCP ${m.version}: no ledger yet (nothing claimed or paused)`);
      continue;
    }
    const facts = [m.newestTriggered ? `newest triggered ${m.newestTriggered}` : 'nothing triggered yet', m.paused ? `PAUSED ${describePaused(m.paused)}` : ''].filter(Boolean);
    lines.push(`OCP ${m.version}: ${facts.join('; ')}`);
    if (m.payloads.length === 0) lines.push('  no payload recorded');
    for (const p of m.payloads) {
      lines.push(`  ${p.name}  (first seen ${p.firstSeenAt})`);
      const width = Math.max(...p.jobs.map((j) => j.shortName.length), 4);
      for (const j of p.jobs) {
        const latest = j.attempts[j.attempts.length - 1];
        const retest = j.retestPending ? `  [retest requested ${j.retestPending.at}${j.retestPending.note ? `: ${j.retestPending.note}` : ''}]` : '';
        const retry = j.retryPending ? `  [retry: attempt ${j.retryPending.attempt} at ${j.retryPending.at}]` : '';
        lines.push(`    ${j.shortName.padEnd(width)}  ${j.verdict.padEnd(17)}  attempts ${attemptsText(j).padEnd(4)}  ${latest ? attemptDetail(latest) : ''}${retest}${retry}`.trimEnd());
        for (const a of j.attempts.slice(0, -1)) lines.push(`    ${''.padEnd(width)}    attempt ${a.attempt}: ${a.state}  ${attemptDetail(a)}`.trimEnd());
      }
    }
  }
  return lines.join('\n');
}
